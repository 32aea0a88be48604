import * as vscode from 'vscode';
import type { CodexOfferAnswer } from './core/codex-offer';
import { CODEX_OFFER_KEY, offerCodexSetup } from './core/codex-offer';
import type { Log } from './log';
import type { ProxyHost } from './proxy-host';

/**
 * The editor's side of the Codex offer (the decisions are in core/codex-offer.ts): once the proxy
 * is up and the terminals carry its variables, a notification with a button, at most once per
 * window, and the answer in globalState so it is not asked again.
 */
export class CodexSetupOffer implements vscode.Disposable {
  private readonly subscription: vscode.Disposable;
  private offered = false;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly host: ProxyHost,
    private readonly log: Log,
    private readonly terminalsEnabled: () => boolean,
  ) {
    this.subscription = host.onDidChange(() => this.consider());
    this.consider();
  }

  private consider(): void {
    const url = this.host.url;
    // Codex reads its key from the terminal's environment: without it, the provider is no use.
    if (this.offered || !url || !this.host.sessionToken || !this.terminalsEnabled()) return;
    this.offered = true;
    void offerCodexSetup({
      env: process.env,
      answered: () => this.context.globalState.get(CODEX_OFFER_KEY),
      remember: (answer: CodexOfferAnswer) => this.context.globalState.update(CODEX_OFFER_KEY, answer),
      ask: (message, ...buttons) => vscode.window.showInformationMessage(message, ...buttons),
      info: (message) => void vscode.window.showInformationMessage(message),
      error: (message) => void vscode.window.showErrorMessage(message),
    }, url).then(
      (outcome) => this.log.info(`codex setup offer: ${outcome}`),
      (err: unknown) => this.log.warn(`codex setup offer failed: ${(err as Error).message}`),
    );
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
