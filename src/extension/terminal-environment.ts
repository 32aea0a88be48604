import * as vscode from 'vscode';
import type { ProxyEnvironment } from './core/terminal-env';
import { environmentDescription, signInEnvironmentDescription, terminalEnvironment } from './core/terminal-env';
import type { ProxyHost } from './proxy-host';

const debugTypesWithEnv = new Set(['node', 'pwa-node', 'node-terminal', 'python', 'debugpy', 'go', 'java', 'coreclr', 'lldb', 'cppdbg']);

/**
 * Points the integrated terminals (and debug sessions that take an `env`) at the proxy. The
 * collection is not persisted: it holds the session token, which belongs in SecretStorage only.
 */
export class TerminalEnvironment implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private current: ProxyEnvironment | undefined;
  private disposed = false;

  constructor(
    private readonly collection: vscode.GlobalEnvironmentVariableCollection,
    private readonly host: ProxyHost,
    private readonly enabled: () => boolean,
  ) {
    collection.persistent = false;
    collection.description = environmentDescription;
    this.disposables.push(host.onDidChange(() => this.update()));
    this.disposables.push(
      vscode.debug.registerDebugConfigurationProvider('*', {
        resolveDebugConfiguration: (_folder, config) => {
          if (this.current && debugTypesWithEnv.has(config.type)) {
            config.env = { ...this.current, ...((config.env as Record<string, string> | undefined) ?? {}) };
          }
          return config;
        },
      }),
    );
    this.update();
  }

  get environment(): ProxyEnvironment | undefined {
    return this.current;
  }

  update(): void {
    if (this.disposed) return;
    if (!this.enabled()) {
      this.collection.clear();
      this.current = undefined;
      return;
    }
    // Undefined: keep the last values while the proxy restarts on the same port.
    const env = terminalEnvironment(this.host.url, this.host.sessionToken, this.host.identityState, this.host.agentTokens);
    if (!env) return;
    const description = this.host.sessionToken ? environmentDescription : signInEnvironmentDescription;
    if (this.collection.description !== description) this.collection.description = description;
    if (this.current && Object.entries(env).every(([k, v]) => this.current?.[k as keyof ProxyEnvironment] === v)) return;
    this.current = env;
    for (const [name, value] of Object.entries(env)) this.collection.replace(name, value);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.disposables) d.dispose();
  }
}
