// Builds the bundles: the command line and the extension host (node, cjs), and the dashboard for
// the browser twice over, one shared app with two entry points: the editor's webview, and the page
// a gateway serves at /_tollgate/. One script so `npm run build` and CI agree on what ships.
const esbuild = require('esbuild');
const fs = require('node:fs');
const path = require('node:path');

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** @type {import('esbuild').BuildOptions} */
const nodeCommon = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  external: ['vscode'],
};

const builds = [
  { ...nodeCommon, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
];
if (fs.existsSync('src/extension/extension.ts')) {
  builds.push({ ...nodeCommon, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' });
}
/** @type {import('esbuild').BuildOptions} */
const browserCommon = { bundle: true, platform: 'browser', format: 'iife', target: 'es2022', minify: production, logLevel: 'warning' };
if (fs.existsSync('media/src/dashboard.tsx')) {
  builds.push({ ...browserCommon, sourcemap: !production, entryPoints: ['media/src/dashboard.tsx'], outfile: 'dist/media/dashboard.js' });
}
if (fs.existsSync('media/src/browser.tsx')) {
  // No source map: the gateway serves only the files it knows, and a map would name the sources.
  builds.push({ ...browserCommon, sourcemap: false, entryPoints: ['media/src/browser.tsx'], outfile: 'dist/media/dashboard-browser.js' });
}

function copyAssets() {
  // sql.js loads its wasm next to the bundle (locateFile), so ship it beside dist/.
  const wasm = require.resolve('sql.js/dist/sql-wasm.wasm');
  fs.mkdirSync('dist', { recursive: true });
  fs.copyFileSync(wasm, path.join('dist', 'sql-wasm.wasm'));
}

async function main() {
  copyAssets();
  if (watch) {
    for (const b of builds) await (await esbuild.context(b)).watch();
    return;
  }
  await Promise.all(builds.map((b) => esbuild.build(b)));
  fs.chmodSync('dist/cli.js', 0o755);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
