import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import boundaries from 'eslint-plugin-boundaries';

// The layers, lowest first; each names the layers it may import from. contracts <- engine <-
// providers <- pipeline <- the adapters around it (proxy, store, cli, extension). workers and scan
// stand apart: thread plumbing, and the key scanner whose redactor every output uses.
const layers = {
  contracts: [],
  workers: [],
  scan: ['contracts', 'workers'],
  engine: ['contracts'],
  providers: ['contracts', 'engine'],
  pipeline: ['contracts', 'engine', 'providers'],
  views: ['contracts', 'engine', 'providers', 'pipeline'],
  telemetry: ['contracts', 'engine', 'providers', 'pipeline'],
  store: ['contracts', 'engine', 'providers', 'pipeline', 'workers', 'scan'],
  preview: ['contracts', 'engine', 'providers', 'store'],
  simulate: ['contracts', 'engine', 'providers', 'pipeline', 'store'],
  proxy: ['contracts', 'engine', 'providers', 'pipeline', 'views', 'telemetry', 'store', 'workers', 'scan'],
  agents: ['contracts', 'engine', 'providers'],
  cli: ['contracts', 'engine', 'providers', 'pipeline', 'views', 'telemetry', 'store', 'proxy', 'workers', 'scan', 'preview', 'simulate', 'agents'],
  extension: ['contracts', 'engine', 'providers', 'pipeline', 'views', 'telemetry', 'store', 'proxy', 'workers', 'scan', 'preview', 'simulate', 'agents'],
};

export default tseslint.config(
  // Fixtures are sample user code read by the tests, not project code.
  { ignores: ['dist/**', 'node_modules/**', '.vscode-test/**', 'out/**', 'test/fixtures/**', 'bench/.out/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' }],
    },
  },
  {
    // The editor API stays in the thin adapter; everything else is testable in plain node.
    files: ['src/**/*.ts'],
    // The adapter files directly under src/extension (and the preview's) may import vscode;
    // src/extension/core holds their logic and stays testable in plain node.
    ignores: ['src/extension/*.ts', 'src/extension/preview/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [{ name: 'vscode', message: 'Only src/extension may import vscode.' }] }] },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { boundaries },
    settings: {
      'import/resolver': { node: { extensions: ['.ts', '.js'] } },
      'boundaries/elements': Object.keys(layers).map((type) => ({ type, pattern: `src/${type}` })),
      'boundaries/root-path': import.meta.dirname,
    },
    rules: {
      'boundaries/dependencies': ['error', {
        default: 'disallow',
        policies: Object.entries(layers).map(([type, below]) => ({ from: { element: { type } }, allow: { to: { element: { types: { anyOf: [type, ...below] } } } } })),
      }],
    },
  },
  {
    // The engine is pure: time is passed in and nothing touches the network or disk.
    files: ['src/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:http', 'node:https', 'node:net', 'node:fs', 'node:worker_threads', 'vscode'], message: 'The engine does no I/O and starts no threads.' }] }],
    },
  },
  {
    // A call's sequence knows no transport: the proxy drives it over HTTP, the tests over plain objects.
    files: ['src/pipeline/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:http', 'node:https', 'node:net', 'http', 'https', 'vscode'], message: 'The pipeline is transport-free: the proxy drives it through CallTransport.' }] }],
    },
  },
  {
    files: ['media/**/*.ts', 'media/**/*.tsx'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', 'vscode'], message: 'The webview runs in a browser.' }] }] },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { require: 'readonly', process: 'readonly', console: 'readonly', module: 'readonly', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
