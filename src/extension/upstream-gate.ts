import * as path from 'node:path';
import * as vscode from 'vscode';
import type { KeyVerdict, PendingApproval, ProviderUpstream, UpstreamKeyPlan } from './core/upstream-trust';
import { APPROVALS_FILE, approvalQuestion, awaitingApproval, keyEnvironment, planUpstreamKeys, samePlans, UpstreamApprovals, workspaceId } from './core/upstream-trust';
import type { Log } from './log';
import type { Secrets } from './secrets';

const ALLOW = 'Allow for This Workspace';

export interface UpstreamKeyState {
  readonly provider: string;
  readonly origin: string;
  readonly verdict: KeyVerdict;
  /** The person said no to this host in this window: it is not asked about again until they review. */
  readonly declined?: true;
}

/**
 * The editor's side of upstream trust (the decisions are in core/upstream-trust.ts): builds the
 * proxy's environment with keys only where they may go, asks the person with a modal naming the
 * host and the provider before a key goes anywhere else, and remembers the answer per workspace.
 */
export class UpstreamGate {
  private readonly approvals: UpstreamApprovals;
  /** Hosts the person said no to in this window: not asked again until they ask to review. */
  private readonly declined = new Set<string>();
  private readonly asking = new Set<string>();
  private plans: UpstreamKeyPlan[] = [];

  constructor(
    context: vscode.ExtensionContext,
    private readonly secrets: Secrets,
    private readonly log: Log,
    private readonly restartProxy: () => Promise<void>,
  ) {
    this.approvals = new UpstreamApprovals(path.join(context.globalStorageUri.fsPath, APPROVALS_FILE));
  }

  private workspace(): string {
    const file = vscode.workspace.workspaceFile;
    return workspaceId((vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.toString()), file && file.scheme !== 'untitled' ? file.toString() : undefined);
  }

  /** Where each provider's calls go and whether its key goes with them, as of the last proxy start. */
  states(): UpstreamKeyState[] {
    return this.plans.map((p) => ({ provider: p.provider, origin: p.origin, verdict: p.verdict, ...(this.declined.has(idOf(p)) ? { declined: true as const } : {}) }));
  }

  /** The proxy's environment; hosts that would get a key once approved are asked about in the background. */
  async environment(providers: Iterable<ProviderUpstream>, overrides: Readonly<Record<string, string>>, inherited: Readonly<Record<string, string | undefined>>): Promise<Record<string, string | undefined>> {
    const plans = planUpstreamKeys(providers, overrides, this.approvals.list(this.workspace()));
    const stored = new Map<string, string>();
    for (const plan of plans) {
      const key = await this.secrets.upstreamKey(plan.provider);
      if (key) stored.set(plan.provider, key);
    }
    this.plans = plans;
    const pending = awaitingApproval(plans, inherited, stored);
    for (const { plan } of pending) this.log.warn(`the key for ${plan.provider} is withheld from ${plan.origin}, which is not ${plan.provider}'s own API host, until you approve that host for this workspace`);
    const toAsk = pending.filter((p) => !this.declined.has(idOf(p.plan)));
    if (toAsk.length > 0) void this.ask(toAsk);
    return keyEnvironment(plans, inherited, stored);
  }

  /** Whether this policy would send keys elsewhere than the running proxy was started to. */
  changesUpstreams(providers: Iterable<ProviderUpstream>, overrides: Readonly<Record<string, string>>): boolean {
    return !samePlans(this.plans, planUpstreamKeys(providers, overrides, this.approvals.list(this.workspace())));
  }

  private async ask(pending: readonly PendingApproval[]): Promise<void> {
    let approved = false;
    for (const question of pending) {
      const { plan } = question;
      const id = idOf(plan);
      if (this.asking.has(id)) continue;
      this.asking.add(id);
      try {
        const { message, detail } = approvalQuestion(question);
        const answer = await vscode.window.showWarningMessage(message, { modal: true, detail }, ALLOW);
        if (answer === ALLOW) {
          this.approvals.approve(this.workspace(), plan.provider, plan.origin, Date.now());
          this.log.info(`${plan.origin} approved for the ${plan.provider} key in this workspace`);
          approved = true;
        } else {
          this.declined.add(id);
          this.log.info(`${plan.origin} not approved for the ${plan.provider} key; "Tollgate: Approve Upstream Hosts…" asks again`);
        }
      } finally {
        this.asking.delete(id);
      }
    }
    if (approved) await this.restartProxy();
  }

  /** Command: forget this window's refusals and ask again about every host that would get a key. */
  async review(): Promise<void> {
    this.declined.clear();
    if (!this.plans.some((p) => p.verdict === 'unapproved')) {
      void vscode.window.showInformationMessage('Tollgate: every upstream in this workspace is the provider\'s own host or already approved.');
      return;
    }
    await this.restartProxy();
  }

  /** Command: take back approvals given for this workspace. */
  async revoke(): Promise<void> {
    const workspace = this.workspace();
    const approvals = this.approvals.list(workspace);
    if (approvals.length === 0) {
      void vscode.window.showInformationMessage('Tollgate: no upstream host is approved for this workspace.');
      return;
    }
    const picked = await vscode.window.showQuickPick(
      approvals.map((a) => ({ label: a.origin, description: a.provider, detail: `approved ${a.approvedAt}`, approval: a })),
      { title: 'Tollgate: revoke which upstream host approvals?', canPickMany: true },
    );
    if (!picked || picked.length === 0) return;
    this.approvals.revoke(workspace, picked.map((p) => p.approval));
    for (const p of picked) this.declined.add(`${p.approval.provider}\0${p.approval.origin}`);
    this.log.info(`revoked ${picked.map((p) => `${p.approval.origin} (${p.approval.provider})`).join(', ')}; restarting the proxy without those keys`);
    await this.restartProxy();
  }
}

function idOf(plan: UpstreamKeyPlan): string {
  return `${plan.provider}\0${plan.origin}`;
}
