import * as vscode from 'vscode';
import type { ApprovalAnswer } from '../contracts/approvals';
import type { ApprovalQuestion } from './core/approval-prompt';
import { APPROVAL_CHOICES, ApprovalPrompt, approverOf } from './core/approval-prompt';
import type { Log } from './log';
import type { ProxyHost } from './proxy-host';

interface ChoiceItem extends vscode.MessageItem {
  readonly answer: ApprovalAnswer;
}

/**
 * The editor's side of approval gates (the decisions are in core/approval-prompt.ts): a modal for
 * each MCP tool call waiting for a person, while this window may answer: a trusted workspace, a
 * signed-in person, a running proxy. An untrusted window never registers as an approver, so such
 * calls are refused there.
 */
export class ApprovalModal implements vscode.Disposable {
  private readonly prompt: ApprovalPrompt;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly host: ProxyHost,
    private readonly log: Log,
  ) {
    this.prompt = new ApprovalPrompt({
      ask: (question) => this.ask(question),
      tell: (message) => void vscode.window.showWarningMessage(message),
      log: (level, message) => log[level](message),
      now: () => Date.now(),
    });
    this.disposables.push(
      host.onDidChange(() => this.update()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.update()),
    );
    this.update();
  }

  private async ask(question: ApprovalQuestion): Promise<ApprovalAnswer | undefined> {
    // Deny is the close affordance: Escape or closing the dialog refuses the call.
    const items: ChoiceItem[] = APPROVAL_CHOICES.map((c) => ({ title: c.title, answer: c.answer, isCloseAffordance: c.answer === 'deny' }));
    // The proxy redacted the arguments already; a token this window knows is masked again all the same.
    const redact = (text: string): string => this.log.redactor.redact(text);
    const chosen = await vscode.window.showWarningMessage(redact(question.message), { modal: true, detail: redact(question.detail) }, ...items);
    return chosen?.answer;
  }

  private update(): void {
    const admin = this.host.adminClient;
    const approver = approverOf({ trusted: vscode.workspace.isTrusted, person: this.host.identity()?.user, proxyRunning: this.host.proxyStatus.phase === 'running' });
    if (!admin || !approver) return this.prompt.disconnect();
    this.prompt.connect(admin, approver);
  }

  dispose(): void {
    this.prompt.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
