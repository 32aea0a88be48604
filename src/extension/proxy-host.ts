import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Policy } from '../engine/policy/model';
import type { AdminEvent, StateSnapshot, SuspensionView } from '../contracts/admin';
import type { LogLevel } from '../proxy/log';
import { ADMIN_TOKEN_FILE } from '../contracts/admin';
import type { DashboardState, PolicyNotice, ProxyStatus } from '../protocol';
import { referencePolicyPath } from '../store/reference-policy';
import type { EventStream } from './core/admin-client';
import { AdminClient } from './core/admin-client';
import type { TollgateConfig } from './core/config';
import type { PolicyVerdict } from './core/policy-keeper';
import { PolicyKeeper, writeFileAtomic } from './core/policy-keeper';
import type { ProxyLaunch } from './core/proxy-supervisor';
import { ProxySupervisor } from './core/proxy-supervisor';
import type { TokenFacts } from './core/session';
import { liveIdentityOf, mintEditorToken, needsRenewal, resolveUser, tokenFacts } from './core/session';
import type { IdentityNotice } from './core/identity-notices';
import { agentsOnlyRevoked, agentTokenRevokedMessage, IdentityWatch } from './core/identity-notices';
import type { IdentityState } from './core/sign-in';
import { handedTokenOf, WindowTokens } from './core/window-tokens';
import { AGENT_SCOPE_PLACEHOLDER } from '../contracts/sign-in';
import type { AgentTokens } from './core/terminal-env';
import type { AgentName } from '../agents/agents';
import type { AgentTokenIssue } from './core/agent-tokens';
import { agentTokensNeedRenewal, issueAgentTokens, sessionKeyMinter } from './core/agent-tokens';
import { policyFileFor } from './core/upstream-trust';
import { WITNESS_EVERY_MS, WitnessKeeper } from './core/witness-keeper';
import type { LiveIdentity, LiveState } from './live-state';
import type { Log } from './log';
import type { Secrets } from './secrets';
import { UpstreamGate } from './upstream-gate';

const IN_FORCE_FILE = 'policy-in-force.yaml';
/** Kept across windows: a person who signed out stays signed out until they sign in. */
const SIGNED_OUT_KEY = 'tollgate.signedOut';

/**
 * The editor's side of the proxy: which policy is in force, the child process, the developer's
 * session token and the live snapshot the views draw. Implements LiveState for every view.
 */
export class ProxyHost implements LiveState, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange: vscode.Event<void> = this.changed.event;
  private readonly noticed = new vscode.EventEmitter<IdentityNotice>();
  /** A revocation of this window's token, or a suspension of the person (or its lifting), as the proxy announced it. */
  readonly onIdentityNotice: vscode.Event<IdentityNotice> = this.noticed.event;
  /** The tokens this window handed to its terminals. */
  readonly windowTokens = new WindowTokens();
  private readonly identityWatch = new IdentityWatch(this.windowTokens, () => this.facts?.user);
  private readonly keeper = new PolicyKeeper();
  private readonly supervisor: ProxySupervisor;
  private admin: AdminClient | undefined;
  private events: EventStream | undefined;
  private lastSnapshot: StateSnapshot | undefined;
  private token: string | undefined;
  private agentTokenSet: AgentTokens = {};
  /** The ids of the agents' tokens this window minted, to tell a revocation of theirs from one of the window's. */
  private readonly agentTokenIds = new Set<string>();
  /** Agents whose own token was revoked: they are handed no token until the person signs in again. */
  private readonly revokedAgents = new Set<string>();
  /** The warnings about the agents' scopes last shown, so a renewal does not show them again. */
  private agentWarningsShown = '';
  private facts: TokenFacts | undefined;
  private identityKnown: IdentityState = 'unknown';
  private refreshTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private policyFile: string | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private readonly witnesses: WitnessKeeper;
  private witnessTimer: NodeJS.Timeout | undefined;
  private disposed = false;
  /** Decides which upstreams get the person's keys, asking about any host but the provider's own. */
  readonly upstreamGate: UpstreamGate;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly config: () => TollgateConfig,
    private readonly secrets: Secrets,
    private readonly log: Log,
  ) {
    this.supervisor = new ProxySupervisor(() => this.launch(), {
      status: (s) => this.onStatus(s),
      listening: (url) => this.onListening(url),
      log: (level, line) => this.proxyLine(level, line),
    });
    this.upstreamGate = new UpstreamGate(context, secrets, log, () => this.restart());
    this.witnesses = new WitnessKeeper(context.globalStorageUri.fsPath, log);
  }

  // The proxy's records keep their level in our log.
  private proxyLine(level: LogLevel, line: string): void {
    if (level === 'error') this.log.error(`proxy: ${line}`);
    else if (level === 'warn') this.log.warn(`proxy: ${line}`);
    else this.log.info(`proxy: ${line}`);
  }

  // LiveState
  policy(): Policy | undefined {
    return this.keeper.inForce?.policy;
  }
  identity(): LiveIdentity | undefined {
    return liveIdentityOf(this.facts);
  }
  snapshot(): StateSnapshot | undefined {
    return this.lastSnapshot;
  }

  get url(): string | undefined {
    return this.supervisor.url;
  }
  /** The running proxy's admin API, once it listens (the approval modal reads its event stream as an approver). */
  get adminClient(): AdminClient | undefined {
    return this.admin;
  }
  get sessionToken(): string | undefined {
    return this.token;
  }
  /** The tokens minted for the agents `tollgate.agentScopes` narrows (or the placeholder refusing one). */
  get agentTokens(): AgentTokens {
    return this.agentTokenSet;
  }
  /** Whether there is a token, or nothing to mint one from (the person has to sign in). */
  get identityState(): IdentityState {
    return this.identityKnown;
  }
  get proxyStatus(): ProxyStatus {
    return this.supervisor.status;
  }
  /** The suspensions (guards.divergence) of the person signed in and their agents. */
  suspensions(): SuspensionView[] {
    return this.identityWatch.suspensions();
  }
  private get signedOut(): boolean {
    return this.context.globalState.get<boolean>(SIGNED_OUT_KEY, false);
  }

  /** The person signed out, or the window's token was revoked: no token is handed out until they sign in. */
  async markSignedOut(): Promise<void> {
    await this.context.globalState.update(SIGNED_OUT_KEY, true);
    const changed = this.identityKnown !== 'signed-out' || this.token !== undefined;
    this.token = undefined;
    this.agentTokenSet = {};
    this.facts = undefined;
    this.identityKnown = 'signed-out';
    if (changed) this.changed.fire();
  }

  /** The person signed in (an address, a token): a session starts again. */
  async resumeSession(): Promise<IdentityState> {
    await this.context.globalState.update(SIGNED_OUT_KEY, undefined);
    this.revokedAgents.clear();
    await this.ensureSessionToken(true);
    return this.identityKnown;
  }
  get sourcePolicyFile(): string | undefined {
    return this.policyFile;
  }

  dataDir(): string {
    const configured = this.config().proxy.dataDir;
    return configured ? path.resolve(configured) : path.join(this.context.globalStorageUri.fsPath, 'proxy');
  }

  dashboardState(): DashboardState {
    const inForce = this.keeper.inForce;
    const policy: PolicyNotice = {
      ...(inForce ? { name: inForce.policy.name, hash: inForce.policy.hash, source: inForce.source } : {}),
      ...(this.keeper.rejected ? { rejected: this.keeper.rejected } : {}),
    };
    return { proxy: this.supervisor.status, policy, ...(this.lastSnapshot ? { snapshot: this.lastSnapshot } : {}), ...(this.facts ? { user: this.facts.user } : {}) };
  }

  /** Which bundle the settings and workspace select; an untrusted workspace selects none. */
  selectPolicyFile(): string {
    const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    return policyFileFor(vscode.workspace.isTrusted, this.config().policyPath, folders, referencePolicyPath(path.join(this.context.extensionPath, 'dist')));
  }

  /**
   * Offers the saved bundle to the keeper. Accepted, it is written to the file the proxy serves;
   * refused, the previous one stays in force and the views say so.
   */
  async loadPolicy(): Promise<PolicyVerdict | undefined> {
    const file = this.selectPolicyFile();
    this.policyFile = file;
    let text: string;
    try {
      text = await fs.promises.readFile(file, 'utf8');
    } catch (err) {
      this.log.error(`policy ${file}: ${(err as Error).message}`);
      return undefined;
    }
    const previousHash = this.keeper.inForce?.policy.hash;
    const verdict = this.keeper.offer(text, file);
    if (verdict.accepted) {
      if (verdict.inForce && verdict.inForce.policy.hash !== previousHash) {
        // The proxy reloads its policy file by itself, with the keys it was started with: a bundle
        // that sends keys elsewhere must never reach it that way. Stop it first, start it afresh.
        const policy = verdict.inForce.policy;
        const restart = previousHash !== undefined && this.supervisor.pid !== undefined && this.upstreamGate.changesUpstreams(policy.providers.values(), this.upstreamOverrides(policy));
        if (restart) await this.supervisor.stop();
        writeFileAtomic(path.join(this.dataDir(), IN_FORCE_FILE), text);
        this.log.info(`policy ${policy.name} (${policy.hash.slice(0, 12)}) from ${file} is in force`);
        if (restart) void this.restart();
        else if (previousHash !== undefined && this.supervisor.url) void this.ensureProxyServes(policy.hash);
      }
    } else {
      const kept = this.keeper.inForce;
      this.log.warn(`policy edit in ${file} refused (${verdict.issues.filter((i) => i.severity === 'error').length} error(s)); ${kept ? `${kept.policy.name} (${kept.policy.hash.slice(0, 12)}) stays in force` : 'no policy is in force'}`);
    }
    this.changed.fire();
    return verdict;
  }

  // The proxy watches its policy file; if it has not picked the new bundle up quickly, restart it.
  private async ensureProxyServes(hash: string): Promise<void> {
    for (let i = 0; i < 15; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const health = await this.admin?.health().catch(() => undefined);
      if (health?.policy.hash === hash) return void this.refreshSoon(0);
    }
    this.log.info('the proxy did not reload the policy by itself; restarting it');
    await this.restart();
  }

  async start(): Promise<void> {
    if (!this.keeper.inForce) await this.loadPolicy();
    if (!this.keeper.inForce) {
      this.log.error('no valid policy: the proxy is not started');
      return;
    }
    await this.ensureSessionToken();
    // A window can stay open longer than a token lives: renew it (and the terminals' copy) in time.
    if (!this.renewTimer) {
      this.renewTimer = setInterval(() => {
        if (this.token && needsRenewal(this.token, Date.now())) void this.ensureSessionToken(true);
        else if (this.token && agentTokensNeedRenewal(this.agentTokenSet, Date.now())) void this.issueAgentTokens();
      }, 5 * 60_000);
    }
    await this.checkLedgerWitness().catch((err: unknown) => this.log.warn(`ledger witness: ${(err as Error).message}`));
    try {
      await this.supervisor.start();
    } catch (err) {
      this.log.error(`proxy did not start: ${(err as Error).message}`);
    }
  }

  /** Before the proxy opens its ledger: warn when it does not extend the head this editor witnessed. */
  private async checkLedgerWitness(): Promise<void> {
    const dataDir = this.dataDir();
    const result = await this.witnesses.check(dataDir);
    if (result.state !== 'broken') return;
    const accept = 'Accept the Ledger as It Is';
    void vscode.window.showWarningMessage(`Tollgate: ${result.message}`, 'Show Log', accept).then((choice) => {
      if (choice === 'Show Log') this.log.show();
      if (choice === accept) void this.witnesses.accept(dataDir);
    });
  }

  private async witnessLedger(): Promise<void> {
    if (this.witnessTimer) clearInterval(this.witnessTimer);
    this.witnessTimer = undefined;
    await this.witnesses.record(this.dataDir()).catch((err: unknown) => this.log.warn(`ledger witness: ${(err as Error).message}`));
  }

  async restart(): Promise<void> {
    this.closeEvents();
    try {
      await this.supervisor.restart();
    } catch (err) {
      this.log.error(`proxy did not restart: ${(err as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    this.closeEvents();
    await this.supervisor.stop();
    await this.witnessLedger();
  }

  /** A session token the proxy will accept: the pasted IdP token, else a fresh or stored session token. */
  async ensureSessionToken(force = false): Promise<string | undefined> {
    if (this.signedOut) {
      await this.markSignedOut();
      return undefined;
    }
    const idp = await this.secrets.identityProviderToken();
    if (idp && !needsRenewal(idp, Date.now(), 0)) {
      this.setToken(idp);
      await this.issueAgentTokens();
      return idp;
    }
    const stored = await this.secrets.sessionToken();
    const cfg = this.config();
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    let user: string;
    try {
      user = await resolveUser(cfg.user, folder);
    } catch (err) {
      this.log.warn((err as Error).message);
      // Nobody to mint for: a token minted earlier names someone the settings no longer name.
      const changed = this.identityKnown !== 'missing' || this.token !== undefined;
      this.token = undefined;
      this.agentTokenSet = {};
      this.facts = undefined;
      this.identityKnown = 'missing';
      if (changed) this.changed.fire();
      return undefined;
    }
    const storedFacts = stored ? tokenFacts(stored) : undefined;
    if (!force && stored && !needsRenewal(stored, Date.now()) && storedFacts?.user === user.toLowerCase() && storedFacts.agent === cfg.agent) {
      this.setToken(stored);
      await this.issueAgentTokens();
      return stored;
    }
    const token = await mintEditorToken(this.dataDir(), user, cfg.agent, cfg.tokenTtlHours * 3_600_000, Date.now());
    await this.secrets.setSessionToken(token);
    this.log.info(`minted a session token for ${user} (agent ${cfg.agent}, ${cfg.tokenTtlHours} h)`);
    this.setToken(token);
    await this.issueAgentTokens();
    return token;
  }

  /**
   * Mints the agents' own tokens from `tollgate.agentScopes` for the window's person, each no
   * longer-lived than the window's token, and records them as the window's (Sign Out revokes them,
   * a revocation naming them is noticed). Called with each window token, on a renewal due and when
   * the setting changes.
   */
  async issueAgentTokens(): Promise<void> {
    const token = this.token;
    if (!token) {
      this.agentTokenSet = {};
      return;
    }
    // A token that does not say who it names or when it expires is not one this editor minted: it
    // cannot be narrowed, and the scoped agents get the placeholder.
    const facts = handedTokenOf(token);
    const all = this.config().agentScopes;
    // An agent whose own token was revoked is minted no new one until the person signs in again.
    const settings = { ...all, scoped: all.scoped.filter((e) => !this.revokedAgents.has(e.agent)) };
    let issued: AgentTokenIssue;
    try {
      issued = await issueAgentTokens(settings, { user: facts?.user ?? '', expiresAt: facts?.expiresAt ?? Date.now(), minted: facts?.minted ?? false }, sessionKeyMinter(this.dataDir()), Date.now());
    } catch (err) {
      // Without its own token, a narrowed agent is not handed the window's either.
      this.log.error(`the agents' own tokens were not minted: ${(err as Error).message}`);
      issued = { tokens: Object.fromEntries(settings.scoped.map((e) => [e.agent, AGENT_SCOPE_PLACEHOLDER])), warnings: [], minted: [] };
    }
    // The window was signed out or changed hands meanwhile: these tokens are nobody's now.
    if (this.token !== token) return;
    const tokens: Partial<Record<AgentName, string>> = { ...issued.tokens };
    for (const e of all.scoped) if (this.revokedAgents.has(e.agent)) tokens[e.agent] = AGENT_SCOPE_PLACEHOLDER;
    for (const t of Object.values(tokens)) {
      if (t === AGENT_SCOPE_PLACEHOLDER) continue;
      this.log.redactor.add(t);
      const handed = this.windowTokens.note(t);
      if (handed?.id) this.agentTokenIds.add(handed.id);
    }
    for (const line of issued.minted) this.log.info(line);
    for (const w of issued.warnings) this.log.warn(w);
    const warned = issued.warnings.join('\n');
    if (warned && warned !== this.agentWarningsShown) {
      void vscode.window.showWarningMessage(`Tollgate: ${issued.warnings.length === 1 ? issued.warnings[0]! : `${issued.warnings.length} problems with tollgate.agentScopes (see the log).`}`, 'Show Log').then((c) => {
        if (c === 'Show Log') this.log.show();
      });
    }
    this.agentWarningsShown = warned;
    const before = JSON.stringify(this.agentTokenSet);
    this.agentTokenSet = tokens;
    if (JSON.stringify(tokens) !== before) this.changed.fire();
  }

  private setToken(token: string): void {
    this.log.redactor.add(token);
    const changed = token !== this.token || this.identityKnown !== 'signed-in';
    if (token !== this.token) {
      // Until the agents' own tokens are minted for this one, a narrowed agent keeps the one it
      // has or gets the placeholder: never the window's token in its own variable.
      const kept: Record<string, string> = {};
      for (const e of this.config().agentScopes.scoped) kept[e.agent] = this.agentTokenSet[e.agent] ?? AGENT_SCOPE_PLACEHOLDER;
      this.agentTokenSet = kept;
    }
    this.token = token;
    this.identityKnown = 'signed-in';
    this.facts = tokenFacts(token);
    this.windowTokens.note(token);
    if (changed) this.changed.fire();
  }

  private async launch(): Promise<ProxyLaunch> {
    const cfg = this.config();
    const dataDir = this.dataDir();
    const policy = this.keeper.inForce?.policy;
    const upstreams = policy ? this.upstreamOverrides(policy) : {};
    // Keys the developer entered win over whatever the editor inherited, and go only where they may.
    const env = await this.upstreamGate.environment(policy?.providers.values() ?? [], upstreams, process.env);
    return {
      execPath: process.execPath,
      cliPath: path.join(this.context.extensionPath, 'dist', 'cli.js'),
      policyFile: path.join(dataDir, IN_FORCE_FILE),
      dataDir,
      port: cfg.proxy.port,
      upstreams,
      env,
      // A bundle's `command` runs a program: in a workspace the person has not trusted, none is started.
      mcpStdio: vscode.workspace.isTrusted,
    };
  }

  // `serve` refuses an override for a provider the bundle does not define, so pass only known ones.
  private upstreamOverrides(policy: Policy): Record<string, string> {
    return Object.fromEntries(Object.entries(this.config().proxy.upstreams).filter(([name]) => policy.providers.has(name)));
  }

  private onStatus(status: ProxyStatus): void {
    this.log.info(`proxy ${status.phase}${status.detail ? `: ${status.detail}` : ''}`);
    if (status.phase !== 'running') {
      this.closeEvents();
      this.lastSnapshot = undefined;
    }
    this.changed.fire();
  }

  private onListening(url: string): void {
    let adminToken: string;
    try {
      adminToken = fs.readFileSync(path.join(this.dataDir(), ADMIN_TOKEN_FILE), 'utf8').trim();
    } catch (err) {
      this.log.warn(`admin token unreadable: ${(err as Error).message}`);
      return;
    }
    this.log.redactor.add(adminToken);
    this.admin = new AdminClient(url, adminToken);
    // The approval modal reads this proxy's stream from now on, not the previous one's.
    this.changed.fire();
    this.openEvents();
    void this.readSuspensions();
    this.refreshSoon(0);
    if (this.pollTimer) clearInterval(this.pollTimer);
    // Buckets refill with time, not only with decisions: redraw now and then.
    this.pollTimer = setInterval(() => this.refreshSoon(0), 10_000);
    if (this.witnessTimer) clearInterval(this.witnessTimer);
    this.witnessTimer = setInterval(() => void this.witnesses.record(this.dataDir()).catch(() => undefined), WITNESS_EVERY_MS);
  }

  private openEvents(): void {
    const admin = this.admin;
    if (!admin || this.disposed) return;
    this.events?.close();
    this.events = admin.events(
      (event) => {
        this.onAdminEvent(event);
        this.refreshSoon(100);
      },
      (err) => {
        this.events = undefined;
        if (this.disposed || this.supervisor.status.phase !== 'running') return;
        this.log.debug(`event stream: ${err.message}; reconnecting`);
        this.reconnectTimer = setTimeout(() => this.openEvents(), 1_000);
      },
    );
  }

  private onAdminEvent(event: AdminEvent): void {
    const notice = this.identityWatch.observe(event);
    if (!notice) return;
    const agents = notice.kind === 'revoked' ? agentsOnlyRevoked(notice.tokens, this.agentTokenIds) : undefined;
    if (notice.kind === 'revoked' && agents) {
      // Only agents' own tokens: those agents get the placeholder, the window's token stays.
      const tokens: Record<string, string> = { ...this.agentTokenSet };
      for (const a of agents) {
        this.revokedAgents.add(a);
        if (a in tokens) tokens[a] = AGENT_SCOPE_PLACEHOLDER;
      }
      this.agentTokenSet = tokens;
      this.changed.fire();
      this.log.info(`revocation ${notice.revocation.id} covers the token of ${agents.join(', ')}`);
      this.noticed.fire({ ...notice, message: agentTokenRevokedMessage(notice.revocation, agents) });
      return;
    }
    // A revoked token is dropped at once: new terminals get the sign-in placeholder, not a token the proxy refuses.
    if (notice.kind === 'revoked') void this.markSignedOut().catch((err: unknown) => this.log.error(`sign out: ${(err as Error).message}`));
    else this.changed.fire();
    this.log.info(notice.kind === 'revoked' ? `revocation ${notice.revocation.id} covers this window's session token` : `${notice.suspension.key}: ${notice.kind}`);
    this.noticed.fire(notice);
  }

  // Suspensions announced while the stream was not connected (a window opened while suspended).
  private async readSuspensions(): Promise<void> {
    try {
      const list = await this.admin?.suspensions();
      if (!list) return;
      for (const notice of this.identityWatch.reset(list.suspensions)) this.noticed.fire(notice);
      this.changed.fire();
    } catch (err) {
      this.log.debug(`suspensions: ${(err as Error).message}`);
    }
  }

  private closeEvents(): void {
    this.events?.close();
    this.events = undefined;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }

  /** Fetches a whole snapshot shortly; bursts of events coalesce into one fetch. */
  refreshSoon(delayMs: number): void {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      void this.refresh();
    }, delayMs);
  }

  private async refresh(): Promise<void> {
    const admin = this.admin;
    if (!admin || this.disposed) return;
    try {
      this.lastSnapshot = await admin.state();
      this.changed.fire();
    } catch (err) {
      this.log.debug(`state: ${(err as Error).message}`);
    }
  }

  /** Stops the child with the window: deactivate awaits this; dispose only signals. */
  async shutdown(): Promise<void> {
    this.closeEvents();
    await this.supervisor.stop();
    await this.witnessLedger();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.closeEvents();
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (this.witnessTimer) clearInterval(this.witnessTimer);
    this.supervisor.dispose();
    this.changed.dispose();
    this.noticed.dispose();
  }
}
