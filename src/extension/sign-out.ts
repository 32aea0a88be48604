import * as vscode from 'vscode';
import { SIGN_IN_COMMAND, SIGN_OUT_COMMAND } from '../contracts/command-titles';
import { addRevocations } from '../store/revocation-list';
import { SIGN_IN_AGAIN } from './core/identity-notices';
import { signedOutMessage, signOut } from './core/sign-out';
import type { Log } from './log';
import type { ProxyHost } from './proxy-host';
import type { Secrets } from './secrets';

/** The editor's side of signing out (the order is in core/sign-out.ts): the palette command, the storage, the message. */
export class SignOutCommand implements vscode.Disposable {
  private readonly registration: vscode.Disposable;

  constructor(
    private readonly host: ProxyHost,
    private readonly secrets: Secrets,
    private readonly log: Log,
  ) {
    this.registration = vscode.commands.registerCommand(SIGN_OUT_COMMAND.id, () =>
      this.run().catch((err: unknown) => {
        this.log.error(`sign out: ${(err as Error).message}`);
        void vscode.window.showErrorMessage(`Tollgate: signing out failed: ${(err as Error).message}`);
      }),
    );
  }

  async run(): Promise<void> {
    const result = await signOut(
      this.host.windowTokens,
      {
        markSignedOut: () => this.host.markSignedOut(),
        forget: async () => {
          await this.secrets.setSessionToken(undefined);
          await this.secrets.setIdentityProviderToken(undefined);
          // The address the sign-in kept in the user settings; a workspace's own setting is the workspace's.
          const settings = vscode.workspace.getConfiguration('tollgate');
          if (settings.inspect<string>('user')?.globalValue !== undefined) await settings.update('user', undefined, vscode.ConfigurationTarget.Global);
        },
        revoke: (revocations, now) => void addRevocations(this.host.dataDir(), revocations, now),
      },
      Date.now(),
    );
    this.log.info(result.problem ? `signed out; revoking the window's tokens failed: ${result.problem}` : `signed out; ${result.revoked} session token(s) revoked in ${this.host.dataDir()}`);
    const message = signedOutMessage(result);
    const choice = await (result.problem ? vscode.window.showWarningMessage(message, SIGN_IN_AGAIN) : vscode.window.showInformationMessage(message, SIGN_IN_AGAIN));
    if (choice === SIGN_IN_AGAIN) await vscode.commands.executeCommand(SIGN_IN_COMMAND.id);
  }

  dispose(): void {
    this.registration.dispose();
  }
}
