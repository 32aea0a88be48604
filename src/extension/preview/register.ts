import * as vscode from 'vscode';
import type { CallPreview, PreviewContext, PreviewDiagnostic } from '../../preview/estimate';
import type { PreviewDocument } from '../../preview/document-preview';
import { PREVIEW_LANGUAGES, PreviewCache } from '../../preview/document-preview';
import type { Identity } from '../../engine/identity/identity';
import { IdentityError } from '../../engine/identity/identity';
import type { Policy } from '../../engine/policy/model';
import { previewIdentity } from '../../preview/preview-identity';
import type { LiveState } from '../live-state';
import { EditorTypeScriptError } from './editor-typescript';

// The thin editor adapter for the quota preview: CodeLens, hover, diagnostics and the quick fix.
// Everything it shows is computed by src/preview (pure, tested in plain node).

const DEBOUNCE_MS = 400;
const SELECTOR: vscode.DocumentSelector = PREVIEW_LANGUAGES.map((language) => ({ language }));
const FIX_KIND = vscode.CodeActionKind.QuickFix;

function asPreviewDocument(doc: vscode.TextDocument): PreviewDocument {
  return { uri: doc.uri.toString(), version: doc.version, languageId: doc.languageId, fileName: doc.fileName, getText: () => doc.getText() };
}

/** What the preview reads beside the live state: the token the editor's calls carry to the proxy. */
export interface PreviewSource extends LiveState {
  readonly sessionToken: string | undefined;
}

/** The identity the proxy resolves for the editor's token, computed once per policy and token. */
class IdentityResolution {
  private last?: { readonly policyHash: string; readonly token: string; readonly identity: Promise<Identity | IdentityError> };

  of(policy: Policy, token: string): Promise<Identity | IdentityError> {
    if (this.last?.policyHash === policy.hash && this.last.token === token) return this.last.identity;
    // A token the proxy refuses for what it says (an issuer the bundle does not trust, no person
    // in the configured claim) is previewed as the refusal every call with it gets.
    const identity = previewIdentity(policy, token).catch((err: unknown) => {
      if (IdentityError.is(err)) return err;
      throw err;
    });
    this.last = { policyHash: policy.hash, token, identity };
    return identity;
  }
}

async function contextOf(live: PreviewSource, identities: IdentityResolution): Promise<{ ctx: PreviewContext; key: string } | undefined> {
  const policy = live.policy();
  const token = live.sessionToken;
  // Without a token the editor's calls carry no identity to resolve: nothing is previewed until it has one.
  if (!policy || !token) return undefined;
  const identity = await identities.of(policy, token);
  const snapshot = live.snapshot();
  const now = Date.now();
  // Previews follow the live state; without a snapshot they change only with policy or identity.
  const who = IdentityError.is(identity) ? `refused:${identity.reason}` : JSON.stringify(identity);
  const key = `${policy.hash}\n${who}\n${snapshot?.time ?? ''}`;
  return { ctx: { policy, identity, snapshot, now }, key };
}

function rangeOf(doc: vscode.TextDocument, r: { start: number; end: number }): vscode.Range {
  return new vscode.Range(doc.positionAt(r.start), doc.positionAt(r.end));
}

export function registerQuotaPreview(context: vscode.ExtensionContext, live: PreviewSource): vscode.Disposable {
  const cache = new PreviewCache();
  const identities = new IdentityResolution();
  const diagnostics = vscode.languages.createDiagnosticCollection('tollgate-preview');
  const lensChanged = new vscode.EventEmitter<void>();
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Fixes by diagnostic, so the code action provider finds the one a diagnostic offers. */
  const fixes = new WeakMap<vscode.Diagnostic, NonNullable<PreviewDiagnostic['fix']>>();

  let noCompilerSaid = false;
  const previews = async (doc: vscode.TextDocument, token?: vscode.CancellationToken): Promise<CallPreview[]> => {
    const c = await contextOf(live, identities);
    if (!c) return [];
    try {
      return await cache.previews(asPreviewDocument(doc), c.ctx, c.key, token);
    } catch (err) {
      // The JS/TS finder parses with the editor's own compiler; an editor without one gets no
      // JS/TS previews, and is told so once rather than seeing previews silently missing.
      if (!EditorTypeScriptError.is(err, 'not-found')) throw err;
      if (!noCompilerSaid) {
        noCompilerSaid = true;
        void vscode.window.showWarningMessage(`Tollgate: the quota preview for JavaScript and TypeScript needs the TypeScript compiler this editor ships with, and none was found (${err.message}). Python previews still work.`);
      }
      return [];
    }
  };

  const refreshDiagnostics = async (doc: vscode.TextDocument): Promise<void> => {
    if (!vscode.languages.match(SELECTOR, doc)) return;
    const version = doc.version;
    const list = await previews(doc);
    if (doc.version !== version || doc.isClosed) return;
    const out: vscode.Diagnostic[] = [];
    for (const p of list) {
      for (const d of p.diagnostics) {
        const diag = new vscode.Diagnostic(rangeOf(doc, d.range), d.message, d.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
        diag.source = 'tollgate';
        diag.code = p.refusal?.rule ?? 'preview';
        if (d.fix) fixes.set(diag, d.fix);
        out.push(diag);
      }
    }
    diagnostics.set(doc.uri, out);
  };

  /** Recomputes after typing pauses: never per keystroke. */
  const schedule = (doc: vscode.TextDocument): void => {
    const key = doc.uri.toString();
    const t = timers.get(key);
    if (t) clearTimeout(t);
    timers.set(key, setTimeout(() => {
      timers.delete(key);
      void refreshDiagnostics(doc);
      lensChanged.fire();
    }, DEBOUNCE_MS));
  };

  const lenses: vscode.CodeLensProvider = {
    onDidChangeCodeLenses: lensChanged.event,
    async provideCodeLenses(doc, token) {
      // While typing, wait for the pause: an edit in between cancels this request.
      if (timers.has(doc.uri.toString())) await new Promise((resolve) => setTimeout(resolve, DEBOUNCE_MS));
      if (token.isCancellationRequested) return [];
      const list = await previews(doc, token);
      if (token.isCancellationRequested) return [];
      const out: vscode.CodeLens[] = [];
      for (const p of list) {
        const range = rangeOf(doc, p.call.range);
        for (const title of p.lens) out.push(new vscode.CodeLens(range, { title, command: '' }));
      }
      return out;
    },
  };

  const hovers: vscode.HoverProvider = {
    async provideHover(doc, position, token) {
      const offset = doc.offsetAt(position);
      const list = await previews(doc, token);
      const p = list.find((x) => x.call.range.start <= offset && offset <= x.call.range.end);
      if (!p) return undefined;
      const md = new vscode.MarkdownString(p.hover);
      md.isTrusted = false;
      return new vscode.Hover(md, rangeOf(doc, p.call.range));
    },
  };

  const actions: vscode.CodeActionProvider = {
    provideCodeActions(doc, _range, ctx) {
      const out: vscode.CodeAction[] = [];
      for (const diag of ctx.diagnostics) {
        const fix = fixes.get(diag);
        if (!fix) continue;
        const action = new vscode.CodeAction(fix.title, FIX_KIND);
        action.edit = new vscode.WorkspaceEdit();
        action.edit.replace(doc.uri, rangeOf(doc, fix.range), fix.replacement);
        action.diagnostics = [diag];
        action.isPreferred = true;
        out.push(action);
      }
      return out;
    },
  };

  const refreshAll = (): void => {
    for (const doc of vscode.workspace.textDocuments) void refreshDiagnostics(doc);
    lensChanged.fire();
  };

  const disposables: vscode.Disposable[] = [
    diagnostics,
    lensChanged,
    vscode.languages.registerCodeLensProvider(SELECTOR, lenses),
    vscode.languages.registerHoverProvider(SELECTOR, hovers),
    vscode.languages.registerCodeActionsProvider(SELECTOR, actions, { providedCodeActionKinds: [FIX_KIND] }),
    vscode.workspace.onDidOpenTextDocument((doc) => void refreshDiagnostics(doc)),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.contentChanges.length > 0 && vscode.languages.match(SELECTOR, e.document)) schedule(e.document);
    }),
    vscode.workspace.onDidCloseTextDocument((doc) => {
      cache.forget(doc.uri.toString());
      diagnostics.delete(doc.uri);
    }),
    live.onDidChange(refreshAll),
  ];
  refreshAll();
  let disposed = false;
  const all = new vscode.Disposable(() => {
    if (disposed) return;
    disposed = true;
    for (const t of timers.values()) clearTimeout(t);
    timers.clear();
    for (const d of disposables) d.dispose();
  });
  context.subscriptions.push(all);
  return all;
}
