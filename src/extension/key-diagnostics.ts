import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Finding } from '../scan/finding';
import { scanText } from '../scan/scanner';
import { importFor, envVarFor, ignoreComment, providerFor, replaceWithEnvLookup } from './core/key-fixes';
import type { TollgateConfig } from './core/config';
import type { Log } from './log';
import { DEFAULT_BASELINE_FILE, fingerprintsOf, readBaselineSync } from '../scan/baseline';
import { ScanError } from '../scan/errors';
import { counted } from '../contracts/wording';

export const BASELINE_FILE = DEFAULT_BASELINE_FILE;
const SOURCE = 'tollgate';
const skippedSchemes = new Set(['output', 'vscode-scm', 'git', 'debug', 'vscode-userdata', 'comment']);

/** A key finding on a diagnostic, so quick fixes know the rule and fingerprint without re-scanning. */
export class KeyDiagnostic extends vscode.Diagnostic {
  constructor(
    range: vscode.Range,
    readonly finding: Finding,
  ) {
    super(range, `${finding.title}: ${finding.redacted}${finding.note ? ` (${finding.note})` : ''}`, finding.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
    this.source = SOURCE;
    this.code = finding.ruleId;
  }
}

function relativePath(uri: vscode.Uri): string {
  const folder = vscode.workspace.getWorkspaceFolder(uri);
  return folder ? path.relative(folder.uri.fsPath, uri.fsPath).split(path.sep).join('/') : path.basename(uri.fsPath);
}

/** The folder's accepted fingerprints; a baseline that does not parse accepts none, and the log says why. */
function acceptedIn(folder: vscode.WorkspaceFolder | undefined, log: Log): Set<string> {
  if (!folder) return new Set();
  try {
    const baseline = readBaselineSync(path.join(folder.uri.fsPath, BASELINE_FILE));
    return baseline ? fingerprintsOf(baseline) : new Set();
  } catch (err) {
    if (!ScanError.is(err)) throw err;
    log.warn(err.message);
    return new Set();
  }
}

/** Scans every open text document on open and (debounced) on edit; findings go to the Problems panel. */
export class KeyDiagnostics implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('tollgate-keys');
  private readonly findings = new Map<string, readonly KeyDiagnostic[]>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;

  constructor(
    private readonly config: () => TollgateConfig,
    private readonly log: Log,
  ) {
    this.disposables.push(
      vscode.workspace.onDidOpenTextDocument((d) => this.scan(d)),
      vscode.workspace.onDidChangeTextDocument((e) => this.scanSoon(e.document)),
      vscode.workspace.onDidCloseTextDocument((d) => {
        this.cancel(d.uri);
        this.collection.delete(d.uri);
        this.findings.delete(d.uri.toString());
      }),
      vscode.workspace.onDidSaveTextDocument((d) => {
        if (path.basename(d.uri.fsPath) === BASELINE_FILE) this.rescanAll();
      }),
    );
    this.rescanAll();
  }

  rescanAll(): void {
    for (const d of vscode.workspace.textDocuments) this.scan(d);
  }

  private cancel(uri: vscode.Uri): void {
    const key = uri.toString();
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.delete(key);
  }

  private scanSoon(document: vscode.TextDocument): void {
    this.cancel(document.uri);
    const delay = this.config().scan.debounceMs;
    this.timers.set(document.uri.toString(), setTimeout(() => this.scan(document), delay));
  }

  scan(document: vscode.TextDocument): void {
    if (this.disposed || skippedSchemes.has(document.uri.scheme)) return;
    this.cancel(document.uri);
    const cfg = this.config();
    const text = document.getText();
    if (!cfg.scan.enabled || text.length > cfg.scan.maxFileBytes) {
      this.collection.delete(document.uri);
      this.findings.delete(document.uri.toString());
      return;
    }
    const started = Date.now();
    const known = acceptedIn(vscode.workspace.getWorkspaceFolder(document.uri), this.log);
    const findings = scanText(text, { path: relativePath(document.uri) }).filter((f) => !known.has(f.fingerprint));
    const diagnostics = findings.map((f) => new KeyDiagnostic(new vscode.Range(document.positionAt(f.offset), document.positionAt(f.endOffset)), f));
    this.collection.set(document.uri, diagnostics);
    this.findings.set(document.uri.toString(), diagnostics);
    if (findings.length > 0) this.log.debug(`scan ${relativePath(document.uri)}: ${counted(findings.length, 'finding')} in ${Date.now() - started} ms`);
  }

  /**
   * The finding behind a diagnostic. Diagnostics reach code action providers as copies made by
   * the editor, not our objects, so they are matched by rule and range.
   */
  findingFor(uri: vscode.Uri, diagnostic: vscode.Diagnostic): Finding | undefined {
    if (diagnostic.source !== SOURCE) return undefined;
    const code = typeof diagnostic.code === 'object' ? diagnostic.code.value : diagnostic.code;
    return this.findings.get(uri.toString())?.find((d) => d.finding.ruleId === code && d.range.isEqual(diagnostic.range))?.finding;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.findings.clear();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const d of this.disposables) d.dispose();
    this.collection.dispose();
  }
}

/** Quick fixes for key diagnostics: move the key to the proxy, read it from the environment, ignore it with a reason, or baseline it. */
export class KeyCodeActions implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];

  constructor(private readonly diagnostics: KeyDiagnostics) {}

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const actions: vscode.CodeAction[] = [];
    for (const diagnostic of context.diagnostics) {
      const f = this.diagnostics.findingFor(document.uri, diagnostic);
      if (!f) continue;
      const name = envVarFor(f.ruleId);
      const provider = providerFor(f.ruleId);
      const edit = keyToEnvEdit(document, diagnostic.range, f.ruleId);
      if (provider && edit) {
        const move = new vscode.CodeAction(`Move the key to Tollgate (kept in SecretStorage, used by the proxy) and read ${name} instead`, vscode.CodeActionKind.QuickFix);
        move.command = { command: 'tollgate.moveKeyToProxy', title: move.title, arguments: [document.uri, diagnostic.range, f.ruleId] };
        move.diagnostics = [diagnostic];
        move.isPreferred = true;
        actions.push(move);
      }
      if (edit) {
        const env = new vscode.CodeAction(`Read ${name} from the environment instead`, vscode.CodeActionKind.QuickFix);
        env.edit = edit;
        env.diagnostics = [diagnostic];
        if (!provider) env.isPreferred = true;
        actions.push(env);
      }
      const ignore = new vscode.CodeAction(`Ignore this ${f.ruleId} finding with a reason…`, vscode.CodeActionKind.QuickFix);
      ignore.command = { command: 'tollgate.ignoreFinding', title: ignore.title, arguments: [document.uri, diagnostic.range.start.line, f.ruleId] };
      ignore.diagnostics = [diagnostic];
      actions.push(ignore);
      const baseline = new vscode.CodeAction('Add this finding to the baseline', vscode.CodeActionKind.QuickFix);
      baseline.command = { command: 'tollgate.addToBaseline', title: baseline.title, arguments: [document.uri, f.fingerprint, f.ruleId, f.redacted] };
      baseline.diagnostics = [diagnostic];
      actions.push(baseline);
    }
    return actions;
  }
}

/** The edit that replaces the key in `range` with an environment lookup in the document's language. */
export function keyToEnvEdit(document: vscode.TextDocument, range: vscode.Range, ruleId: string): vscode.WorkspaceEdit | undefined {
  const text = document.getText();
  const replacement = replaceWithEnvLookup(text, document.offsetAt(range.start), document.offsetAt(range.end), document.languageId, envVarFor(ruleId));
  if (!replacement) return undefined;
  const edit = new vscode.WorkspaceEdit();
  edit.replace(document.uri, new vscode.Range(document.positionAt(replacement.start), document.positionAt(replacement.end)), replacement.text);
  const imp = importFor(text, document.languageId);
  if (imp) edit.insert(document.uri, document.positionAt(imp.start), imp.text);
  return edit;
}

export function ignoreEdit(document: vscode.TextDocument, line: number, ruleId: string, reason: string): vscode.WorkspaceEdit {
  const text = document.getText();
  const lineStart = document.offsetAt(new vscode.Position(line, 0));
  const r = ignoreComment(text, lineStart, document.languageId, ruleId, reason);
  const edit = new vscode.WorkspaceEdit();
  edit.insert(document.uri, document.positionAt(r.start), r.text);
  return edit;
}
