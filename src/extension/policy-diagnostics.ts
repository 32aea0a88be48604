import * as path from 'node:path';
import * as vscode from 'vscode';
import type { PolicyIssue } from '../engine/policy/loader';
import { PolicyKeeper } from './core/policy-keeper';
import type { ProxyHost } from './proxy-host';

function isPolicyDocument(document: vscode.TextDocument, selected: string | undefined): boolean {
  if (document.uri.scheme !== 'file' && document.uri.scheme !== 'untitled') return false;
  const base = path.basename(document.uri.fsPath);
  return base === 'tollgate.yaml' || base.endsWith('.tollgate.yaml') || (selected !== undefined && path.resolve(document.uri.fsPath) === path.resolve(selected));
}

function toDiagnostic(issue: PolicyIssue): vscode.Diagnostic {
  const p = issue.position;
  const range = new vscode.Range(Math.max(0, p.line - 1), Math.max(0, p.column - 1), Math.max(0, p.endLine - 1), Math.max(0, p.endColumn - 1));
  const d = new vscode.Diagnostic(range, issue.message, issue.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
  d.source = 'tollgate policy';
  return d;
}

/**
 * Semantic policy errors at their line as the bundle is typed (the JSON Schema gives completion and
 * hover through the YAML extension). Saving offers the bundle to the proxy host; a refused edit
 * leaves the last good policy in force, and the file says so.
 */
export class PolicyDiagnostics implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('tollgate-policy');
  private readonly disposables: vscode.Disposable[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private disposed = false;

  constructor(
    private readonly host: ProxyHost,
    private readonly debounceMs: () => number,
  ) {
    const watcher = vscode.workspace.createFileSystemWatcher('**/*tollgate.yaml');
    this.disposables.push(
      watcher,
      watcher.onDidChange(() => void this.reload()),
      watcher.onDidCreate(() => void this.reload()),
      watcher.onDidDelete(() => void this.reload()),
      vscode.workspace.onDidOpenTextDocument((d) => this.check(d)),
      vscode.workspace.onDidChangeTextDocument((e) => this.checkSoon(e.document)),
      vscode.workspace.onDidSaveTextDocument((d) => {
        if (isPolicyDocument(d, this.host.sourcePolicyFile)) void this.reload();
      }),
      vscode.workspace.onDidCloseTextDocument((d) => {
        if (d.uri.scheme === 'untitled') this.collection.delete(d.uri);
      }),
      host.onDidChange(() => this.refreshAll()),
    );
    this.refreshAll();
  }

  /** Re-reads the selected bundle from disk (a save, or a change outside the editor). */
  async reload(): Promise<void> {
    await this.host.loadPolicy();
    this.refreshAll();
  }

  private refreshAll(): void {
    for (const d of vscode.workspace.textDocuments) this.check(d);
  }

  private checkSoon(document: vscode.TextDocument): void {
    if (!isPolicyDocument(document, this.host.sourcePolicyFile)) return;
    const key = document.uri.toString();
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.set(key, setTimeout(() => this.check(document), this.debounceMs()));
  }

  check(document: vscode.TextDocument): void {
    if (this.disposed || !isPolicyDocument(document, this.host.sourcePolicyFile)) return;
    const diagnostics = PolicyKeeper.check(document.getText()).map(toDiagnostic);
    const state = this.host.dashboardState().policy;
    const selected = this.host.sourcePolicyFile;
    if (state.rejected && selected && path.resolve(document.uri.fsPath) === path.resolve(selected)) {
      const kept = state.name ? `policy "${state.name}" (${state.hash?.slice(0, 12)}) stays in force` : 'no policy is in force';
      const note = new vscode.Diagnostic(new vscode.Range(0, 0, 0, 0), `Tollgate did not apply the saved edit: ${kept} until the errors are fixed.`, vscode.DiagnosticSeverity.Information);
      note.source = 'tollgate policy';
      diagnostics.unshift(note);
    }
    this.collection.set(document.uri, diagnostics);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    for (const d of this.disposables) d.dispose();
    this.collection.dispose();
  }
}
