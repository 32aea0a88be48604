import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { ReadyCommand, RefreshCommand, RunCommand, StateNotification } from '../protocol';
import type { ProxyHost } from './proxy-host';
import { dashboardPageHtml } from '../views/dashboard-page';

const VIEW_TYPE = 'tollgate.dashboard';

/**
 * Hosts the dashboard webview: one panel, strict CSP with a per-load nonce, resources only from
 * dist/media, and the whole state pushed on every change. The webview keeps its filters with
 * setState/getState, so the panel is not kept alive while hidden.
 */
export class DashboardPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private panelDisposables: vscode.Disposable[] = [];
  private disposed = false;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly host: ProxyHost,
  ) {
    this.disposables.push(
      host.onDidChange(() => this.post()),
      vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
        deserializeWebviewPanel: async (panel) => this.attach(panel),
      }),
    );
  }

  private get mediaRoot(): vscode.Uri {
    return vscode.Uri.joinPath(this.extensionUri, 'dist', 'media');
  }

  show(): void {
    if (this.panel) {
      this.panel.reveal(undefined, false);
      return;
    }
    const panel = vscode.window.createWebviewPanel(VIEW_TYPE, 'Tollgate', vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [this.mediaRoot],
    });
    this.attach(panel);
  }

  private attach(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    panel.webview.options = { enableScripts: true, localResourceRoots: [this.mediaRoot] };
    panel.webview.html = this.html(panel.webview);
    this.panelDisposables = [
      panel.webview.onDidReceiveMessage((msg: unknown) => this.receive(msg)),
      panel.onDidChangeViewState(() => this.post()),
      panel.onDidDispose(() => {
        for (const d of this.panelDisposables) d.dispose();
        this.panelDisposables = [];
        this.panel = undefined;
      }),
    ];
  }

  private receive(msg: unknown): void {
    if (ReadyCommand.is(msg)) this.post();
    else if (RefreshCommand.is(msg)) this.host.refreshSoon(0);
    else if (RunCommand.is(msg)) void vscode.commands.executeCommand(msg.params.command);
    // Anything else is ignored: the webview is untrusted input.
  }

  private post(): void {
    if (!this.panel?.visible) return;
    void this.panel.webview.postMessage(StateNotification.create(this.host.dashboardState()));
  }

  private html(webview: vscode.Webview): string {
    const nonce = randomBytes(16).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.mediaRoot, 'dashboard.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(this.mediaRoot, 'dashboard.css'));
    const csp = [`default-src 'none'`, `img-src ${webview.cspSource} data:`, `style-src ${webview.cspSource}`, `font-src ${webview.cspSource}`, `script-src 'nonce-${nonce}'`].join('; ');
    return dashboardPageHtml({ nonce, scriptUrl: script.toString(), styleUrl: style.toString(), metaCsp: csp });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.panel?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
