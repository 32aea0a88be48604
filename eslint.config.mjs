import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
    // The engine is pure: time is passed in and nothing touches the network or disk.
    files: ['src/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:http', 'node:https', 'node:net', 'node:fs', 'node:worker_threads', 'vscode'], message: 'The engine does no I/O and starts no threads.' }] }],
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
