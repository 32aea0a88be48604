import * as vscode from 'vscode';
import { SIGN_IN_COMMAND } from '../contracts/command-titles';
import { statusView } from '../views/status-model';
import { suspendedStatusView } from './core/identity-notices';
import { signInStatusView } from './core/sign-in';
import type { ProxyHost } from './proxy-host';

/** Proxy state, today's spend and the tightest limit, or a suspension; a click opens the dashboard (or signs in, when nobody is). */
export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly subscription: vscode.Disposable;
  private disposed = false;

  constructor(
    private readonly host: ProxyHost,
    private readonly warnAt: () => number,
  ) {
    this.item = vscode.window.createStatusBarItem('tollgate.status', vscode.StatusBarAlignment.Left, 50);
    this.item.name = 'Tollgate';
    this.subscription = host.onDidChange(() => this.render());
    this.render();
    this.item.show();
  }

  render(): void {
    if (this.disposed) return;
    const signIn = signInStatusView(this.host.identityState, this.host.proxyStatus.phase);
    const running = this.host.proxyStatus.phase === 'running';
    const view = signIn ?? (running ? suspendedStatusView(this.host.suspensions()) : undefined) ?? statusView(this.host.dashboardState(), this.warnAt());
    this.item.command = signIn ? SIGN_IN_COMMAND.id : 'tollgate.openDashboard';
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.backgroundColor =
      view.level === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : view.level === 'warning' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.subscription.dispose();
    this.item.dispose();
  }
}
