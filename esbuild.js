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

/**
 * Large modules each get a bundle of their own in dist/, required at run time by the bundles that
 * use them instead of copied into each: the tokenizer (its o200k ranks are 2.7 MB), which the CLI
 * and the extension host both count with, and the TypeScript compiler, which only the quota
 * preview's JS/TS finder loads, on first use. Keeps the .vsix to one copy of each and
 * dist/extension.js small enough to load quickly.
 */
const SHARED = [
  { module: 'gpt-tokenizer/encoding/o200k_base', outfile: 'dist/o200k.js' },
  { module: 'typescript', outfile: 'dist/typescript.js' },
];

/** @type {import('esbuild').Plugin} */
const sharedBundles = {
  name: 'shared-bundles',
  setup(build) {
    for (const s of SHARED) {
      const filter = new RegExp(`^${s.module.replace(/[/.]/g, (c) => `\\${c}`)}$`);
      // Every bundle sits in dist/ beside the shared ones, so a relative require finds them.
      build.onResolve({ filter }, () => ({ path: `./${path.basename(s.outfile)}`, external: true }));
    }
  },
};

/**
 * In the extension host the compiler is the editor's own (src/extension/preview/editor-typescript.ts),
 * so the .vsix need not carry one; dist/typescript.js is left out of it (.vscodeignore) and is only
 * the fallback of a build run in place.
 */
/** @type {import('esbuild').Plugin} */
const editorTypeScript = {
  name: 'editor-typescript',
  setup(build) {
    build.onResolve({ filter: /^typescript$/ }, () => ({ path: 'typescript', namespace: 'editor-typescript' }));
    build.onLoad({ filter: /.*/, namespace: 'editor-typescript' }, () => ({
      contents: "module.exports = require('./src/extension/preview/editor-typescript').loadEditorTypeScript();",
      loader: 'js',
      resolveDir: __dirname,
    }));
  },
};

const builds = [
  { ...nodeCommon, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' }, plugins: [sharedBundles] },
  // No source map: these are third-party code, and their maps would outweigh them.
  ...SHARED.map((s) => ({ ...nodeCommon, sourcemap: false, entryPoints: [s.module], outfile: s.outfile })),
];
if (fs.existsSync('src/extension/extension.ts')) {
  // import() of the compiler becomes a require(): the same lazy load, by the extension host's loader.
  // The editor's compiler is resolved first (plugins are asked in order).
  builds.push({ ...nodeCommon, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', plugins: [editorTypeScript, sharedBundles], supported: { 'dynamic-import': false } });
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
