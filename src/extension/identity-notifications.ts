import * as vscode from 'vscode';
import { SIGN_IN_COMMAND } from '../contracts/command-titles';
import type { IdentityNotice } from './core/identity-notices';
import { COPY_RESUME_COMMAND, SIGN_IN_AGAIN } from './core/identity-notices';
import type { Log } from './log';
import type { ProxyHost } from './proxy-host';

/** Shows what the proxy announced about the developer's identity (the words are in core/identity-notices.ts). */
export class IdentityNotifications implements vscode.Disposable {
  private readonly subscription: vscode.Disposable;

  constructor(
    host: ProxyHost,
    private readonly log: Log,
  ) {
    this.subscription = host.onIdentityNotice((notice) => void this.show(notice).catch((err: unknown) => this.log.error(`notice: ${(err as Error).message}`)));
  }

  private async show(notice: IdentityNotice): Promise<void> {
    switch (notice.kind) {
      case 'revoked': {
        const choice = await vscode.window.showWarningMessage(notice.message, SIGN_IN_AGAIN);
        if (choice === SIGN_IN_AGAIN) await vscode.commands.executeCommand(SIGN_IN_COMMAND.id);
        return;
      }
      case 'suspended': {
        const choice = await vscode.window.showWarningMessage(notice.message, COPY_RESUME_COMMAND);
        if (choice === COPY_RESUME_COMMAND) await vscode.env.clipboard.writeText(notice.suspension.resume);
        return;
      }
      case 'resumed':
        await vscode.window.showInformationMessage(notice.message);
        return;
    }
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
