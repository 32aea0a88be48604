import * as vscode from 'vscode';
import { statusView } from '../views/status-model';
import type { ProxyHost } from './proxy-host';

/** Proxy state, today's spend and the tightest limit; a click opens the dashboard. */
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
    this.item.command = 'tollgate.openDashboard';
    this.subscription = host.onDidChange(() => this.render());
    this.render();
    this.item.show();
  }

  render(): void {
    if (this.disposed) return;
    const view = statusView(this.host.dashboardState(), this.warnAt());
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
