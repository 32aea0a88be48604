// Activation: wire the adapters together and return at once; the proxy starts in the background
// so the editor never waits for it. Everything disposable goes into context.subscriptions.

import { loadStarted } from './load-clock';
import * as vscode from 'vscode';
import type { ProxyStatus } from '../protocol';
import { ApprovalModal } from './approval-modal';
import { CodexSetupOffer } from './codex-setup-offer';
import { hookCommand, registerCommands } from './commands';
import { refreshPreCommitHook } from '../scan/hook';
import { readConfiguration } from './config';
import { DashboardPanel } from './dashboard-panel';
import { KeyCodeActions, KeyDiagnostics } from './key-diagnostics';
import { Log } from './log';
import { PolicyDiagnostics } from './policy-diagnostics';
import type * as QuotaPreview from './preview/register';
import { ProxyHost } from './proxy-host';
import { Secrets } from './secrets';
import { SignInPrompt } from './sign-in';
import { SignOutCommand } from './sign-out';
import { IdentityNotifications } from './identity-notifications';
import { StatusBar } from './status-bar';
import { TerminalEnvironment } from './terminal-environment';
import type { UpstreamKeyState } from './upstream-gate';

/** What the extension offers other code in the same window (the editor tests use it). No secrets. */
export interface TollgateApi {
  readonly activationMs: number;
  /** From the first module's evaluation to the end of activate(). */
  readonly loadAndActivateMs: number;
  proxyStatus(): ProxyStatus;
  /** The policy in force and the last refused edit, if any. */
  policy(): { readonly name?: string; readonly hash?: string; readonly rejected?: { readonly errors: readonly string[] } };
  /** Resolves once the proxy is running (or rejects after `timeoutMs`). */
  whenRunning(timeoutMs?: number): Promise<void>;
  /** Resolves once a snapshot holding a decision with this model arrived. */
  whenDecisionSeen(model: string, timeoutMs?: number): Promise<void>;
  /** Where each provider's calls go and whether its key goes with them (no keys). */
  upstreamKeys(): readonly UpstreamKeyState[];
}

let host: ProxyHost | undefined;

export function activate(context: vscode.ExtensionContext): TollgateApi {
  const started = performance.now();
  const log = new Log();
  context.subscriptions.push(log);
  const config = (): ReturnType<typeof readConfiguration> => readConfiguration();
  const secrets = new Secrets(context.secrets, log);
  const proxyHost = new ProxyHost(context, config, secrets, log);
  host = proxyHost;
  const dashboard = new DashboardPanel(context.extensionUri, proxyHost);
  const keys = new KeyDiagnostics(config, log);
  const policy = new PolicyDiagnostics(proxyHost, () => config().scan.debounceMs);
  const signIn = new SignInPrompt(proxyHost, secrets, log);
  context.subscriptions.push(
    proxyHost,
    dashboard,
    keys,
    policy,
    new StatusBar(proxyHost, () => config().statusBar.warnAt),
    signIn,
    new SignOutCommand(proxyHost, secrets, log),
    new IdentityNotifications(proxyHost, log),
    // MCP tool calls under tools.approval wait for the person in a modal (trusted windows only).
    new ApprovalModal(proxyHost, log),
    new TerminalEnvironment(context.environmentVariableCollection, proxyHost, () => config().terminal.injectEnvironment),
    new CodexSetupOffer(context, proxyHost, log, () => config().terminal.injectEnvironment),
    vscode.languages.registerCodeActionsProvider([{ scheme: 'file' }, { scheme: 'untitled' }], new KeyCodeActions(keys), { providedCodeActionKinds: KeyCodeActions.kinds }),
    ...registerCommands({ context, host: proxyHost, secrets, log, dashboard, keys, signIn }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('tollgate.policyPath')) void policy.reload();
      if (e.affectsConfiguration('tollgate.user') || e.affectsConfiguration('tollgate.agent')) void proxyHost.ensureSessionToken(true);
      else if (e.affectsConfiguration('tollgate.agentScopes')) void proxyHost.issueAgentTokens();
      if (e.affectsConfiguration('tollgate.proxy')) void proxyHost.restart();
      if (e.affectsConfiguration('tollgate.scan')) keys.rescanAll();
    }),
    vscode.workspace.onDidChangeWorkspaceFolders(() => void policy.reload()),
    // Trusted now: the workspace's policy and its restricted settings apply, so start afresh with them.
    vscode.workspace.onDidGrantWorkspaceTrust(() => void policy.reload().then(() => proxyHost.restart())),
    secrets.onDidChange((key) => {
      if (secrets.isUpstreamKey(key)) log.debug('an upstream key changed in SecretStorage');
    }),
  );

  if (config().proxy.autoStart) {
    void proxyHost
      .loadPolicy()
      .then(() => proxyHost.start())
      .catch((err: unknown) => log.error(`start: ${(err as Error).message}`));
  }
  // A hook installed by an earlier version points into that version's folder: follow the update.
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    void refreshPreCommitHook(folder.uri.fsPath, hookCommand(context.extensionPath)).then(
      (rewritten) => rewritten && log.info(`pre-commit hook in ${folder.name} now runs this version's scanner`),
      (err: unknown) => log.warn(`pre-commit hook refresh: ${(err as Error).message}`),
    );
  }
  const activationMs = performance.now() - started;
  log.info(`activated in ${activationMs.toFixed(1)} ms (${(performance.now() - loadStarted).toFixed(1)} ms with module evaluation)`);
  // The quota preview (issue 8) pulls in the TypeScript compiler; evaluate it after activation
  // returns so the editor never waits for it. esbuild keeps a require() in a function lazy.
  const previewTimer = setTimeout(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const preview = require('./preview/register') as typeof QuotaPreview;
    context.subscriptions.push(preview.registerQuotaPreview(context, proxyHost));
  }, 0);
  context.subscriptions.push({ dispose: () => clearTimeout(previewTimer) });

  const waitFor = (ok: () => boolean, timeoutMs: number, what: string): Promise<void> =>
    new Promise((resolve, reject) => {
      if (ok()) return resolve();
      const timer = setTimeout(() => {
        sub.dispose();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const sub = proxyHost.onDidChange(() => {
        if (!ok()) return;
        clearTimeout(timer);
        sub.dispose();
        resolve();
      });
    });

  return {
    activationMs,
    loadAndActivateMs: performance.now() - loadStarted,
    proxyStatus: () => proxyHost.proxyStatus,
    policy: () => proxyHost.dashboardState().policy,
    whenRunning: (timeoutMs = 30_000) => waitFor(() => proxyHost.proxyStatus.phase === 'running' && proxyHost.url !== undefined, timeoutMs, 'the proxy'),
    whenDecisionSeen: (model, timeoutMs = 10_000) => waitFor(() => proxyHost.snapshot()?.recent.some((d) => d.model === model) ?? false, timeoutMs, `a ${model} decision`),
    upstreamKeys: () => proxyHost.upstreamGate.states(),
  };
}

/** VS Code awaits this on window close: stop the proxy cleanly (SIGTERM drains and flushes the ledger). */
export async function deactivate(): Promise<void> {
  await host?.shutdown();
  host = undefined;
}
