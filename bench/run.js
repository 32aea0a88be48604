// Bundles a benchmark with the same esbuild settings as the product and runs it with plain node,
// so figures measure what ships rather than a development transpiler.
// Usage: node bench/run.js bench/engine/decide.ts [args...]
const esbuild = require('esbuild');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const argv = process.argv.slice(2);
const buildOnly = argv[0] === '--build-only';
const [entry, ...args] = buildOnly ? argv.slice(1) : argv;
if (!entry) {
  console.error('usage: node bench/run.js bench/<name>/<file>.ts [args...]');
  process.exit(2);
}
const outfile = path.join(__dirname, '.out', `${path.basename(path.dirname(entry))}-${path.basename(entry, '.ts')}.js`);
esbuild.buildSync({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile, logLevel: 'warning', sourcemap: false });
if (buildOnly) process.exit(0);
const r = spawnSync(process.execPath, [outfile, ...args], { stdio: 'inherit', cwd: path.join(__dirname, '..') });
process.exit(r.status ?? 1);
