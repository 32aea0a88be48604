import * as vscode from 'vscode';
import { Redactor } from '../scan/redactor';

/** The output channel, with every line passed through the redactor first. */
export class Log implements vscode.Disposable {
  readonly redactor = new Redactor();
  private readonly channel: vscode.LogOutputChannel;
  private disposed = false;

  constructor() {
    this.channel = vscode.window.createOutputChannel('Tollgate', { log: true });
  }

  info(message: string): void {
    this.channel.info(this.redactor.redact(message));
  }
  warn(message: string): void {
    this.channel.warn(this.redactor.redact(message));
  }
  error(message: string): void {
    this.channel.error(this.redactor.redact(message));
  }
  debug(message: string): void {
    this.channel.debug(this.redactor.redact(message));
  }
  show(): void {
    this.channel.show(true);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.channel.dispose();
  }
}
