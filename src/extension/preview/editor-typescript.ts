// The TypeScript compiler the quota preview's JS/TS finder parses with, in the bundled extension:
// the copy the editor itself ships for its TypeScript support, so the .vsix does not carry 3.5 MB
// of it. A build that put its own beside the bundle (dist/typescript.js) is used when the editor's
// copy is missing. Loaded on the first JS/TS preview, never at activation.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as TS from 'typescript';
import * as vscode from 'vscode';

export type EditorTypeScriptErrorReason = 'not-found';

export class EditorTypeScriptError extends Error {
  constructor(
    readonly reason: EditorTypeScriptErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'EditorTypeScriptError';
  }
  static is(err: unknown, reason?: EditorTypeScriptErrorReason): err is EditorTypeScriptError {
    return err instanceof EditorTypeScriptError && (reason === undefined || err.reason === reason);
  }
}

/**
 * Where a compiler may be, in order: the editor's (VS Code and code-server keep it under
 * `<appRoot>/extensions/node_modules/typescript`), then one shipped beside the bundle.
 */
export function typeScriptCandidates(appRoot: string, bundleDir: string): string[] {
  return [path.join(appRoot, 'extensions', 'node_modules', 'typescript', 'lib', 'typescript.js'), path.join(bundleDir, 'typescript.js')];
}

/** The first compiler found among the candidates; EditorTypeScriptError('not-found') when none is. */
export function loadEditorTypeScript(): typeof TS {
  const candidates = typeScriptCandidates(vscode.env.appRoot, __dirname);
  for (const file of candidates) {
    if (!fs.existsSync(file)) continue;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ts = require(file) as typeof TS;
    if (typeof ts.createSourceFile === 'function') return ts;
  }
  throw new EditorTypeScriptError('not-found', `no TypeScript compiler for the JS/TS quota preview: looked in ${candidates.join(', ')}`);
}
