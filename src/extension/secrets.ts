import type * as vscode from 'vscode';
import type { Log } from './log';

const SESSION_TOKEN = 'tollgate.sessionToken';
const IDP_TOKEN = 'tollgate.identityProviderToken';
const upstreamKey = (provider: string): string => `tollgate.upstreamKey.${provider}`;

/**
 * Everything secret lives in VS Code's SecretStorage (the OS keychain where there is one), never in
 * settings or files. Every value read or written is registered with the log's redactor.
 */
export class Secrets {
  constructor(
    private readonly storage: vscode.SecretStorage,
    private readonly log: Log,
  ) {}

  readonly onDidChange = (listener: (key: string) => void): vscode.Disposable => this.storage.onDidChange((e) => listener(e.key));

  private async get(key: string): Promise<string | undefined> {
    const value = await this.storage.get(key);
    this.log.redactor.add(value);
    return value || undefined;
  }

  private async set(key: string, value: string | undefined): Promise<void> {
    if (value) {
      this.log.redactor.add(value);
      await this.storage.store(key, value);
    } else {
      await this.storage.delete(key);
    }
  }

  sessionToken(): Promise<string | undefined> {
    return this.get(SESSION_TOKEN);
  }
  setSessionToken(token: string | undefined): Promise<void> {
    return this.set(SESSION_TOKEN, token);
  }
  identityProviderToken(): Promise<string | undefined> {
    return this.get(IDP_TOKEN);
  }
  setIdentityProviderToken(token: string | undefined): Promise<void> {
    return this.set(IDP_TOKEN, token);
  }
  upstreamKey(provider: string): Promise<string | undefined> {
    return this.get(upstreamKey(provider));
  }
  setUpstreamKey(provider: string, key: string | undefined): Promise<void> {
    return this.set(upstreamKey(provider), key);
  }
  isUpstreamKey(secretKey: string): boolean {
    return secretKey.startsWith('tollgate.upstreamKey.');
  }
}
