import * as vscode from 'vscode';
import { SIGN_IN_COMMAND } from '../contracts/command-titles';
import { loadSessionKeys } from '../store/session-key';
import { SignInFlow, verifyPastedToken } from './core/sign-in';
import type { Log } from './log';
import type { ProxyHost } from './proxy-host';
import type { Secrets } from './secrets';

/**
 * The editor's side of signing in (the decisions are in core/sign-in.ts): the notification, the
 * input boxes, the `tollgate.user` setting and SecretStorage, and the palette command.
 */
export class SignInPrompt implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  readonly flow: SignInFlow;

  constructor(
    private readonly host: ProxyHost,
    private readonly secrets: Secrets,
    private readonly log: Log,
  ) {
    this.flow = new SignInFlow({
      ask: (message, ...choices) => vscode.window.showWarningMessage(message, ...choices),
      askAddress: (validate) =>
        vscode.window.showInputBox({
          title: 'Tollgate: your e-mail address',
          prompt: 'Your calls are attributed to it. Kept in your user settings (tollgate.user).',
          placeHolder: 'you@example.com',
          ignoreFocusOut: true,
          validateInput: validate,
        }),
      askToken: (validate) =>
        vscode.window.showInputBox({
          title: 'Tollgate: identity-provider token',
          prompt: 'A JWT from your identity provider, checked as the proxy checks it. Kept in VS Code SecretStorage.',
          password: true,
          ignoreFocusOut: true,
          validateInput: validate,
        }),
      // A pasted token wins over the setting, so choosing an address drops it first.
      saveAddress: async (address) => {
        await this.secrets.setIdentityProviderToken(undefined);
        await vscode.workspace.getConfiguration('tollgate').update('user', address, vscode.ConfigurationTarget.Global);
        this.log.info(`tollgate.user set to ${address} in the user settings`);
      },
      saveToken: async (token) => {
        await this.secrets.setIdentityProviderToken(token);
        this.log.info('identity-provider token stored in SecretStorage');
      },
      verifyToken: (token) => this.verify(token),
      resume: () => this.host.resumeSession(),
      state: () => this.host.identityState,
      user: () => this.host.identity()?.user,
      info: (message) => void vscode.window.showInformationMessage(message),
      error: (message) => void vscode.window.showErrorMessage(message),
    });
    this.disposables.push(
      host.onDidChange(() => this.flow.observe(host.identityState)),
      vscode.commands.registerCommand(SIGN_IN_COMMAND.id, () =>
        this.flow.ask().then(
          (outcome) => {
            this.log.info(`sign in: ${outcome}`);
            // The question is still open, its toast gone to the notification centre: show it there.
            if (outcome === 'already-asking') void vscode.commands.executeCommand('notifications.showList');
          },
          (err: unknown) => this.log.error(`sign in: ${(err as Error).message}`),
        ),
      ),
    );
    this.flow.observe(host.identityState);
  }

  /** Checks a pasted token as the proxy will; resolves with the person it names, or rejects with a SignInError. */
  verify(token: string): Promise<string> {
    // Registered before anything else can print it, though nothing here does.
    this.log.redactor.add(token.trim());
    return verifyPastedToken(token, { policy: this.host.policy(), sessionKey: this.sessionKey(), now: Date.now() });
  }

  // This proxy's own session tokens (`tollgate token` with the same data dir) verify too.
  private sessionKey(): ReturnType<typeof loadSessionKeys>['publicKey'] | undefined {
    try {
      return loadSessionKeys(this.host.dataDir()).publicKey;
    } catch (err) {
      this.log.debug(`session key: ${(err as Error).message}`);
      return undefined;
    }
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
