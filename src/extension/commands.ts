import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { addToBaseline } from '../scan/baseline';
import { ScanError } from '../scan/errors';
import { installPreCommitHook } from '../scan/hook';
import { registeredStyles } from '../providers/registry';
import { providerFor } from './core/key-fixes';
import type { DashboardPanel } from './dashboard-panel';
import { BASELINE_FILE, ignoreEdit, keyToEnvEdit } from './key-diagnostics';
import type { KeyDiagnostics } from './key-diagnostics';
import type { Log } from './log';
import type { ProxyHost } from './proxy-host';
import type { Secrets } from './secrets';
import { needsSignIn, SignInError } from './core/sign-in';
import { SIGN_IN_COMMAND } from '../contracts/command-titles';
import type { SignInPrompt } from './sign-in';
import { counted } from '../contracts/wording';

export interface CommandDeps {
  readonly context: vscode.ExtensionContext;
  readonly host: ProxyHost;
  readonly secrets: Secrets;
  readonly log: Log;
  readonly dashboard: DashboardPanel;
  readonly keys: KeyDiagnostics;
  readonly signIn: SignInPrompt;
}

interface JsonFinding {
  readonly rule: string;
  readonly title: string;
  readonly severity: 'error' | 'warning';
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly end: { readonly line: number; readonly column: number };
  readonly match: string;
}

function runCli(deps: CommandDeps, args: readonly string[], cwd: string, token: vscode.CancellationToken): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [path.join(deps.context.extensionPath, 'dist', 'cli.js'), ...args],
      { cwd, env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 2) : 0, stdout, stderr }),
    );
    token.onCancellationRequested(() => child.kill());
  });
}

/** The hook runs outside the editor, so it needs a Node of its own (or a tollgate on PATH). */
export function hookCommand(extensionPath: string): string[] {
  return nodeOnPath() ? ['node', path.join(extensionPath, 'dist', 'cli.js')] : ['tollgate'];
}

function nodeOnPath(): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, process.platform === 'win32' ? 'node.exe' : 'node')));
}

async function chooseProvider(given: unknown): Promise<string | undefined> {
  if (typeof given === 'string' && /^[a-z][a-z0-9-]*$/.test(given)) return given;
  return vscode.window.showQuickPick(registeredStyles(), { title: 'Tollgate: which upstream provider?' });
}

export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
  const { host, secrets, log, dashboard, keys, signIn } = deps;
  const reg = (id: string, fn: (...args: unknown[]) => unknown): vscode.Disposable => vscode.commands.registerCommand(id, fn);

  return [
    reg('tollgate.openDashboard', () => dashboard.show()),
    reg('tollgate.showLog', () => log.show()),
    reg('tollgate.startProxy', () => host.start()),
    reg('tollgate.stopProxy', () => host.stop()),
    reg('tollgate.restartProxy', () => host.restart()),
    reg('tollgate.openPolicy', async () => {
      const file = host.sourcePolicyFile ?? host.selectPolicyFile();
      await vscode.window.showTextDocument(vscode.Uri.file(file));
    }),
    reg('tollgate.renewSessionToken', async () => {
      // Signed out, there is nobody to renew for: ask who it is.
      if (needsSignIn(host.identityState)) return void vscode.commands.executeCommand(SIGN_IN_COMMAND.id);
      await host.ensureSessionToken(true);
      void vscode.window.showInformationMessage('Tollgate: a new session token is in SecretStorage; new terminals use it.');
    }),
    // Keys come from an input box (or, for automation, from the arguments), never from settings.
    reg('tollgate.setUpstreamKey', async (givenProvider?: unknown, givenKey?: unknown) => {
      const provider = await chooseProvider(givenProvider);
      if (!provider) return;
      const key =
        typeof givenKey === 'string'
          ? givenKey
          : await vscode.window.showInputBox({ title: `Tollgate: ${provider} API key`, prompt: 'Kept in VS Code SecretStorage and given only to the local proxy.', password: true, ignoreFocusOut: true });
      if (!key) return;
      await secrets.setUpstreamKey(provider, key.trim());
      log.info(`upstream key for ${provider} stored; restarting the proxy to use it`);
      await host.restart();
    }),
    reg('tollgate.clearUpstreamKey', async (givenProvider?: unknown) => {
      const provider = await chooseProvider(givenProvider);
      if (!provider) return;
      await secrets.setUpstreamKey(provider, undefined);
      await host.restart();
    }),
    reg('tollgate.approveUpstreamHosts', () => host.upstreamGate.review()),
    reg('tollgate.revokeUpstreamHosts', () => host.upstreamGate.revoke()),
    reg('tollgate.setIdentityToken', async (givenToken?: unknown) => {
      // The same check as signing in with a token: what the proxy would refuse is never kept.
      const problem = async (value: string): Promise<string | undefined> => {
        if (value.trim() === '') return undefined;
        try {
          await signIn.verify(value);
          return undefined;
        } catch (err) {
          if (SignInError.is(err)) return err.message;
          throw err;
        }
      };
      const token =
        typeof givenToken === 'string'
          ? givenToken
          : await vscode.window.showInputBox({ title: 'Tollgate: identity-provider token', prompt: 'A JWT from your identity provider, checked as the proxy checks it; leave empty to go back to a Tollgate session token.', password: true, ignoreFocusOut: true, validateInput: problem });
      if (token === undefined) return;
      if (token.trim() === '') {
        await secrets.setIdentityProviderToken(undefined);
        await host.ensureSessionToken(true);
        return;
      }
      const refused = await problem(token);
      if (refused) {
        void vscode.window.showErrorMessage(`Tollgate: ${refused}`);
        return;
      }
      await secrets.setIdentityProviderToken(token.trim());
      await host.resumeSession();
    }),
    reg('tollgate.moveKeyToProxy', async (uri: unknown, range: unknown, ruleId: unknown) => {
      if (!(uri instanceof vscode.Uri) || !(range instanceof vscode.Range) || typeof ruleId !== 'string') return;
      const provider = providerFor(ruleId);
      const document = await vscode.workspace.openTextDocument(uri);
      const edit = keyToEnvEdit(document, range, ruleId);
      if (!provider || !edit) return;
      const secret = document.getText(range);
      log.redactor.add(secret);
      await secrets.setUpstreamKey(provider, secret);
      if (!(await vscode.workspace.applyEdit(edit))) {
        void vscode.window.showErrorMessage('Tollgate: the file could not be edited; the key was stored but is still in the file.');
        return;
      }
      log.info(`moved a ${ruleId} key from ${vscode.workspace.asRelativePath(uri)} to SecretStorage (${provider})`);
      void host.restart();
      void vscode.window.showWarningMessage(`Tollgate: the ${provider} key now lives in SecretStorage and the proxy. If it was ever committed or shared, rotate it.`);
    }),
    reg('tollgate.ignoreFinding', async (uri: unknown, line: unknown, ruleId: unknown, givenReason?: unknown) => {
      if (!(uri instanceof vscode.Uri) || typeof line !== 'number' || typeof ruleId !== 'string') return;
      const reason =
        typeof givenReason === 'string'
          ? givenReason
          : await vscode.window.showInputBox({ title: 'Tollgate: why is this not a secret?', prompt: 'The reason is written next to the ignore comment (at least 3 characters).', validateInput: (v) => (v.trim().length >= 3 ? undefined : 'Give a reason of at least 3 characters') });
      if (!reason || reason.trim().length < 3) return;
      const document = await vscode.workspace.openTextDocument(uri);
      await vscode.workspace.applyEdit(ignoreEdit(document, line, ruleId, reason));
    }),
    reg('tollgate.addToBaseline', async (uri: unknown, fingerprint: unknown, ruleId: unknown, redacted: unknown) => {
      if (!(uri instanceof vscode.Uri) || typeof fingerprint !== 'string' || typeof ruleId !== 'string' || typeof redacted !== 'string') return;
      const folder = vscode.workspace.getWorkspaceFolder(uri);
      if (!folder) {
        void vscode.window.showWarningMessage('Tollgate: a baseline belongs to a workspace folder; open the folder first.');
        return;
      }
      const file = path.join(folder.uri.fsPath, BASELINE_FILE);
      const rel = path.relative(folder.uri.fsPath, uri.fsPath).split(path.sep).join('/');
      try {
        await addToBaseline(file, { fingerprint, rule: ruleId, file: rel, redacted });
      } catch (err) {
        if (!ScanError.is(err)) throw err;
        // The file is left as it is: it may hold a merge's conflict with the team's accepted findings.
        void vscode.window.showErrorMessage(`Tollgate: ${err.message}`);
        return;
      }
      keys.rescanAll();
    }),
    reg('tollgate.scanWorkspace', async () => {
      const folders = vscode.workspace.workspaceFolders ?? [];
      if (folders.length === 0) {
        void vscode.window.showInformationMessage('Tollgate: open a folder to scan it.');
        return;
      }
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Tollgate: scanning the workspace for keys', cancellable: true }, async (progress, token) => {
        let total = 0;
        for (const folder of folders) {
          progress.report({ message: folder.name });
          const args = ['scan', '--format', 'json'];
          if (fs.existsSync(path.join(folder.uri.fsPath, BASELINE_FILE))) args.push('--baseline', BASELINE_FILE);
          // The scanner runs in its own process (with its worker pool), off the extension host.
          const result = await runCli(deps, args, folder.uri.fsPath, token);
          if (result.code === 2) {
            log.error(`scan ${folder.name}: ${result.stderr.trim()}`);
            continue;
          }
          const report = JSON.parse(result.stdout) as { findings: JsonFinding[]; summary: { filesScanned: number } };
          const byFile = new Map<string, vscode.Diagnostic[]>();
          for (const f of report.findings) {
            const d = new vscode.Diagnostic(new vscode.Range(f.line - 1, f.column - 1, f.end.line - 1, f.end.column - 1), `${f.title}: ${f.match}`, f.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
            d.source = 'tollgate';
            d.code = f.rule;
            byFile.set(f.file, [...(byFile.get(f.file) ?? []), d]);
          }
          for (const [file, diagnostics] of byFile) {
            const uri = vscode.Uri.file(path.join(folder.uri.fsPath, file));
            // Open documents are scanned live (with quick fixes); the rest get these.
            if (!vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri.toString())) keys.collection.set(uri, diagnostics);
          }
          total += report.findings.length;
          log.info(`scan ${folder.name}: ${counted(report.findings.length, 'finding')} in ${counted(report.summary.filesScanned, 'file')}`);
        }
        const msg = total === 0 ? 'Tollgate: no keys found in the workspace.' : `Tollgate: ${counted(total, 'key finding')}; see the Problems panel.`;
        void (total === 0 ? vscode.window.showInformationMessage(msg) : vscode.window.showWarningMessage(msg));
      });
    }),
    reg('tollgate.installHook', async () => {
      const folder = vscode.workspace.workspaceFolders?.[0];
      if (!folder) return;
      const command = hookCommand(deps.context.extensionPath);
      try {
        const { outcome, file } = await installPreCommitHook(folder.uri.fsPath, command);
        void vscode.window.showInformationMessage(`Tollgate: pre-commit hook ${outcome} (${vscode.workspace.asRelativePath(file)}).`);
      } catch (err) {
        void vscode.window.showErrorMessage(`Tollgate: could not install the hook: ${(err as Error).message}`);
      }
    }),
  ];
}
