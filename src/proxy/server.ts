import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { version } from '../../package.json';
import type { Identity } from '../engine/identity/identity';
import type { Revocation } from '../engine/identity/revocation';
import { JWKS_PATH, jwksOf } from '../engine/identity/jwks';
import type { SessionKeys, SessionKeySource } from '../engine/identity/tokens';
import { formatIssue } from '../engine/policy/loader';
import type { Policy } from '../engine/policy/model';
import type { AccumulatorStore } from '../engine/store';
import { CallEvents } from '../pipeline/call-events';
import { ProxyError } from '../pipeline/errors';
import { CallPipeline } from '../pipeline/pipeline';
import { CallRecorder } from '../store/ledger/call-recorder';
import { otlpSettings } from '../telemetry/otel-env';
import type { CallTracer } from '../telemetry/tracing';
import type { Ledger } from '../store/ledger/ledger';
import { AccumulatorReadModel } from '../views/accumulator-read-model';
import { ruleSummaries } from '../views/policy-summary';
import { AdminApi } from './admin';
import { DivergenceMonitor, viewOf } from './divergence-monitor';
import type { SuspensionRegistry } from '../engine/divergence/suspension';
import { SPEND_HISTORY_DAYS, TOOL_REFUSALS_SHOWN } from '../contracts/admin';
import type { HealthResponse, StateSnapshot, ToolApprovalResponse } from '../contracts/admin';
import { mcpToolName } from '../engine/tools';
import { ToolPins } from '../store/tool-pins';
import type { ToolPinRegistry } from '../store/tool-pins';
import type { ApprovalGate } from './mcp/approval-gate';
import { ApprovalBroker } from './mcp/approval-broker';
import { ApprovalTokenError, grantIdentity, verifyApprovalToken } from '../engine/identity/approval-token';
import type { ApprovalGrant } from '../engine/identity/approval-token';
import { IdentityError } from '../engine/identity/identity';
import { McpGateway } from './mcp/gateway';
import type { PolicyContext } from './context';
import { describeRequest } from './describe/describe';
import { answerJson, HttpCall } from './http-call';
import type { Logger } from './log';
import { ProxyMetrics } from './metrics-endpoint';
import { compilePolicy, contextFor } from './policy-compile';
import { PolicyFileWatcher } from './policy-watch';
import type { Pseudonyms } from './pseudonym';
import { parseRoute } from './routing';
import type { Route } from './routing';
import { Upstream } from './upstream';
import { revocationView } from './token-gate';

/** What a proxy is told on start, from the command line or the editor. */
export interface ProxySettings {
  readonly policyPath: string;
  readonly policyText: string;
  readonly policy: Policy;
  readonly host: string;
  readonly port: number;
  readonly upstreamOverrides: ReadonlyMap<string, string>;
  readonly shadow: boolean;
  readonly maxBodyBytes: number;
  readonly bodyTimeoutMs: number;
  readonly upstreamHeaderTimeoutMs: number;
  readonly upstreamIdleTimeoutMs: number;
  readonly env: NodeJS.ProcessEnv;
  readonly log: Logger;
  /**
   * Whether the bundle's stdio MCP servers (`mcp.servers.<name>.command`) may be started (default
   * yes: the person named the bundle). The editor says no for a bundle it has not trusted.
   */
  readonly mcpStdio?: boolean;
}

/** The settings plus what launching opened for them: the data dir's keys, ledger and store. */
export interface ProxyOptions extends ProxySettings {
  readonly store: AccumulatorStore;
  readonly ledger: Ledger;
  readonly sessionKeys: SessionKeys;
  readonly adminToken: string;
  /** The Prometheus endpoint's own bearer token (never the admin token). */
  readonly metricsToken: string;
  readonly pseudonyms: Pseudonyms;
  readonly clock?: () => number;
  /** The views' read model, as restored from the ledger; an empty one when absent. */
  readonly views?: AccumulatorReadModel;
  /** Where suspensions (guards.divergence) live: the data dir's file, or the team's Redis. */
  readonly suspensions: SuspensionRegistry;
  /** The data dir's session key ring, followed as `keys rotate` changes it; the one session key when absent. */
  readonly keySource?: SessionKeySource;
  /** Revocations, checked after each token verifies. */
  readonly gate?: { check(id: Identity, now: number): Promise<void> };
  /** Pinned MCP tool definitions (the data dir's, or the team's in Redis); kept in memory when absent. */
  readonly toolPins?: ToolPinRegistry;
  /** Who approves the tools the bundle lists under tools.approval; absent: the approval broker (rules, tokens, approvers on the admin API). */
  readonly approvals?: ApprovalGate;
}

/**
 * The attributing proxy's transport: listens, guards against web pages, serves the admin API and
 * hands each model call to the call pipeline with the bundle in force, which can change under it
 * without a restart. The ledger's recorder and the views' read model follow the pipeline's events.
 */
/** How long an idle keep-alive connection stays open, ms (advertised in `Keep-Alive: timeout=`). */
const IDLE_CONNECTION_MS = 65_000;

export class ProxyServer {
  private readonly server: http.Server;
  private readonly upstream = new Upstream();
  private readonly admin: AdminApi;
  private readonly pipeline: CallPipeline;
  private readonly recorder: CallRecorder;
  private readonly views: AccumulatorReadModel;
  private readonly metrics: ProxyMetrics;
  private readonly mcp: McpGateway;
  readonly toolPins: ToolPinRegistry;
  /** Calls of tools under tools.approval wait here for a rule, a token or a person. */
  readonly approvals: ApprovalBroker;
  private readonly events: CallEvents;
  private readonly divergence: DivergenceMonitor;
  /** OpenTelemetry spans of the calls, when the environment names an OTLP endpoint for traces. */
  private tracer?: CallTracer;
  private context!: PolicyContext;
  private policyError?: { source: string; errors: string[] };
  private watcher?: PolicyFileWatcher;
  private readonly inflight = new Set<Promise<void>>();
  private draining = false;
  private readonly clock: () => number;

  private constructor(private readonly o: ProxyOptions) {
    this.clock = o.clock ?? Date.now;
    this.admin = new AdminApi(o.adminToken, {
      health: () => this.health(),
      snapshot: () => this.snapshot(),
      suspensions: async () => ({ suspensions: (await this.divergence.list()).map(viewOf), baselines_at: this.divergence.baselinesAt() }),
      resume: async (target) => ({ resumed: (await this.divergence.resume(target, 'admin')).map(viewOf) }),
      approveTool: (server, tool, by) => this.approveTool(server, tool, by),
      approvals: { pending: () => this.approvals.pending(), answer: (id, answer, by) => this.approvals.answer(id, answer, by) },
      approver: (name, event) => o.log.info(`approver '${name}' ${event === 'joined' ? 'is listening for' : 'stopped listening for'} approvals`),
    });
    const events = (this.events = new CallEvents((err, event) => o.log.error(`${event} listener: ${err.message}`)));
    this.recorder = new CallRecorder(o.ledger, {
      policy: () => this.context.policy,
      shadow: o.shadow,
      clock: this.clock,
      log: o.log,
      published: (type, decision) => this.admin.publish({ type, decision }),
    });
    this.recorder.subscribe(events);
    this.divergence = new DivergenceMonitor({
      registry: o.suspensions,
      policy: () => this.context.policy,
      hourly: (dimension, range) => o.ledger.hourly(dimension, range),
      append: (entry) => void this.recorder.append(entry),
      publish: (type, suspension) => this.admin.publish({ type, suspension }),
      clock: this.clock,
      log: o.log,
    });
    this.divergence.subscribe(events);
    this.toolPins = o.toolPins ?? ToolPins.inMemory();
    this.approvals = new ApprovalBroker({
      policy: () => this.context.policy,
      approvers: () => this.admin.approverCount(),
      announce: (event) => this.admin.publish(event),
      verifyToken: (token, now) => this.verifyApprovalToken(token, now),
      clock: this.clock,
      log: o.log,
    });
    this.mcp = new McpGateway({
      recorder: this.recorder, ledgerHealth: () => o.ledger.health, pins: this.toolPins, approvals: o.approvals ?? this.approvals, env: o.env, divergence: this.divergence,
      stdioAllowed: o.mcpStdio ?? true, shadow: o.shadow, maxBodyBytes: o.maxBodyBytes, bodyTimeoutMs: o.bodyTimeoutMs, clock: this.clock, log: o.log,
    });
    this.views = o.views ?? new AccumulatorReadModel();
    this.views.subscribe(events);
    this.metrics = new ProxyMetrics(events, {
      token: o.metricsToken, version, env: o.env, log: o.log, policy: o.policy, context: () => this.context, store: o.store, views: this.views,
      pseudonyms: o.pseudonyms, upstreamOverrides: o.upstreamOverrides, clock: this.clock,
    });
    this.pipeline = new CallPipeline({
      events,
      describe: describeRequest,
      ledgerHealth: () => o.ledger.health,
      isLocalHold: (hold) => o.store.isLocalHold?.(hold) ?? false,
      env: o.env,
      upstreamOverrides: o.upstreamOverrides,
      shadow: o.shadow,
      pseudonymOf: (user) => o.pseudonyms.of(user),
      clock: this.clock,
      log: o.log,
      suspensionOf: (identity) => this.divergence.suspensionOf(identity),
    });
    // Slow clients (slowloris) are cut off: the headers must arrive within the configured timeout,
    // then the body within the same again (readBody's own timer). Node checks these timeouts only
    // every connectionsCheckingInterval (30 s by default), so it is checked often enough for the
    // configured value to be the one that holds.
    const headersTimeout = o.bodyTimeoutMs;
    // An idle connection stays open longer than clients and load balancers keep theirs (Node's fetch
    // 4 s, the usual load balancers 60 s): they close it first, and never send a request on one
    // this proxy is closing at that moment, which fails it ("other side closed", a 502 behind a balancer).
    this.server = http.createServer(
      { headersTimeout, requestTimeout: 2 * o.bodyTimeoutMs + 1000, connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(o.bodyTimeoutMs / 4))), keepAliveTimeout: IDLE_CONNECTION_MS },
      (req, res) => this.track(this.dispatch(req, res), res),
    );
  }

  static async start(o: ProxyOptions): Promise<ProxyServer> {
    const s = new ProxyServer(o);
    s.context = contextFor(o.policy, o.policyPath, o);
    s.divergence.applyPolicy(o.policy);
    s.divergence.start();
    if (otlpSettings(o.env).traces) {
      // Loaded only when asked for: without an endpoint, no SDK is loaded and no call pays for one.
      const { CallTracer } = await import('../telemetry/tracing');
      s.tracer = CallTracer.fromEnvironment(o.env, { upstreamOverrides: o.upstreamOverrides, pseudonymOf: (user) => o.pseudonyms.of(user), clock: s.clock }, o.log);
      s.tracer.subscribe(s.events);
    }
    const reload = (text: string): void => void s.reload(text).catch((err: Error) => o.log.error(`policy reload: ${err.message}`));
    s.watcher = new PolicyFileWatcher(o.policyPath, o.policyText, reload, (err) => o.log.warn(`cannot read ${o.policyPath}: ${err.message}`));
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(o.port, o.host, () => {
        s.server.removeListener('error', reject);
        resolve();
      });
    });
    s.server.on('error', (err) => o.log.error(`server error: ${err.message}`));
    s.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => s.answerClientError(err, socket));
    return s;
  }

  /** Tells the admin stream's listeners (the editor) that a revocation is in force. */
  announceRevocation(r: Revocation): void {
    this.admin.publish({ type: 'revocation', revocation: revocationView(r) });
  }

  /** The bundle in force now. */
  get policy(): Policy {
    return this.context.policy;
  }

  get address(): { host: string; port: number } {
    const a = this.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  get url(): string {
    const { host, port } = this.address;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /** A policy edit: in force for the next request when it compiles; rejected with its errors otherwise. */
  async reload(text: string): Promise<boolean> {
    const file = this.o.policyPath;
    const result = compilePolicy(text, file, this.clock(), this.o);
    if (!result.ok) {
      const errors = result.errors.map((e) => formatIssue(file, e));
      this.policyError = { source: file, errors };
      for (const e of errors) this.o.log.error(e);
      this.o.log.warn(`policy edit rejected; '${this.context.policy.name}' (${this.context.policy.hash.slice(0, 12)}) stays in force`);
      this.recorder.append({ kind: 'policy', event: 'rejected', policy: { name: null, hash: hashOf(text) }, source: file, errors });
      this.admin.publish({ type: 'policy', health: this.health() });
      return false;
    }
    this.context = result.context;
    this.o.store.applyPolicy?.(result.policy);
    this.divergence.applyPolicy(result.policy);
    this.policyError = undefined;
    this.o.log.info(`policy '${result.policy.name}' (${result.policy.hash.slice(0, 12)}) loaded from ${file}`);
    this.recorder.append({ kind: 'policy', event: 'loaded', policy: { name: result.policy.name, hash: result.policy.hash }, source: file, errors: [] });
    this.admin.publish({ type: 'policy', health: this.health() });
    return true;
  }

  private track(p: Promise<void>, res: http.ServerResponse): void {
    this.inflight.add(p);
    void p
      .catch((err: Error) => {
        this.o.log.error(`unexpected: ${err.stack ?? err.message}`);
        // Never leave a client waiting: an unexpected failure is still an answer.
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json', connection: 'close' });
          res.end(JSON.stringify({ error: { message: `tollgate failed on this request: ${err.message}`, type: 'server_error' } }));
        } else if (!res.writableEnded) res.destroy();
      })
      .finally(() => this.inflight.delete(p));
  }

  private async dispatch(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const ctx = this.context;
    const call = new HttpCall(req, res, this.upstream, this.o);
    // Before anything else: a web page must not drive the proxy or its admin API.
    const guard = ctx.browserGuard;
    const refusal = guard.refusal(req, AdminApi.handles(req.url));
    if (refusal) return this.pipeline.refuseUnrouted(call, ctx, new ProxyError('forbidden-caller', refusal));
    for (const [name, value] of Object.entries(guard.corsHeaders(req))) res.setHeader(name, value!);
    if (req.method === 'OPTIONS' && req.headers.origin !== undefined) {
      res.writeHead(204, guard.preflightHeaders(req));
      res.end();
      return;
    }
    // The metrics path lies inside the admin prefix but takes its own token, so it is routed first.
    if (ProxyMetrics.handles(req.url)) return this.metrics.handle(req, res);
    // The verification keys are public and inside the admin prefix, so they are routed first too.
    if (req.url === JWKS_PATH) return this.jwks(req, res);
    if (AdminApi.handles(req.url)) return this.admin.handle(req, res);
    if (this.draining) {
      const err = new ProxyError('draining', 'tollgate is shutting down');
      answerJson(res, err.status, { connection: 'close', 'retry-after': '1' }, JSON.stringify({ error: { message: err.message, type: 'server_error' } }));
      return;
    }
    if (McpGateway.handles(req.url)) return this.mcp.handle(req, res, ctx, (status, reason) => this.recorder.countUnverified({ status, reason, provider: 'mcp' }));
    let route: Route;
    try {
      route = parseRoute(req.url);
    } catch (err) {
      return this.pipeline.refuseUnrouted(call, ctx, err as ProxyError);
    }
    return this.pipeline.run(call, route, ctx);
  }

  /**
   * A request Node's parser refused (bad bytes in the request line or headers) or a client too
   * slow with its headers: answered like every other refusal, counted and naming its record.
   */
  private answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    const status = timeout ? 408 : 400;
    const reason = timeout ? 'request-timeout' : 'malformed-http';
    const message = timeout ? 'the request headers did not arrive in time' : 'the request is not valid HTTP/1.1';
    const answer = (extra: string): void => {
      const body = JSON.stringify({ error: { message, type: 'invalid_request_error', code: null } });
      if (socket.writable) socket.end(`HTTP/1.1 ${status} ${timeout ? 'Request Timeout' : 'Bad Request'}\r\n${extra}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    };
    this.recorder.countUnverified({ status, reason, provider: '' }).then(
      (id) => answer(`x-tollgate-decision: ${id}\r\n`),
      () => answer(''),
    );
  }

  /** The session keys as a JWKS: public, no token needed, a rotation visible at once. */
  private jwks(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      answerJson(res, 405, { allow: 'GET, HEAD' }, JSON.stringify({ error: { message: `${JWKS_PATH} takes GET`, type: 'invalid_request_error' } }));
      return;
    }
    const source = this.o.keySource;
    source?.refresh?.();
    const keys = source ? source.keys() : [{ kid: this.o.sessionKeys.kid, publicKey: this.o.sessionKeys.publicKey }];
    answerJson(res, 200, { 'cache-control': 'max-age=60' }, JSON.stringify(jwksOf(keys)));
  }

  /** An approval token checked against the session key ring and, like a session token, the revocations. */
  private async verifyApprovalToken(token: string, now: number): Promise<ApprovalGrant> {
    const source = this.o.keySource ?? { keys: () => [{ kid: this.o.sessionKeys.kid, publicKey: this.o.sessionKeys.publicKey }] };
    const grant = await verifyApprovalToken(token, source, now);
    try {
      await this.o.gate?.check(grantIdentity(grant), now);
    } catch (err) {
      if (IdentityError.is(err)) throw new ApprovalTokenError('revoked', `it is refused: ${err.message}`);
      throw err;
    }
    return grant;
  }

  /** A person approves the changed definition of an MCP tool: it is the pin from now on, and on record. */
  async approveTool(server: string, tool: string, by: string): Promise<ToolApprovalResponse> {
    const result = await this.toolPins.approve(server, tool, this.clock());
    if (!result.ok) return { ok: false, reason: result.reason, message: result.message };
    const p = this.context.policy;
    this.recorder.append({ kind: 'tool-definition', event: 'approved', server, tool: mcpToolName(server, tool), sha256: result.sha256, previous_sha256: result.previous, by, policy: { name: p.name, hash: p.hash } });
    this.o.log.info(`MCP server '${server}': ${by} approved the new definition of tool '${tool}' (${result.sha256.slice(0, 12)})`);
    return { ok: true, sha256: result.sha256, previous_sha256: result.previous };
  }

  health(): HealthResponse {
    const p = this.context.policy;
    const ledger = this.o.ledger.health;
    return {
      ok: ledger.ok,
      version,
      policy: { name: p.name, hash: p.hash, source: this.context.source },
      policyError: this.policyError,
      ledger: ledger.ok ? { ok: true } : { ok: false, reason: ledger.reason },
      shadow: this.o.shadow,
    };
  }

  async snapshot(): Promise<StateSnapshot> {
    const now = this.clock();
    const accumulators = await this.views.view(this.context.engine, this.o.store, now);
    const today = new Date(now).toISOString().slice(0, 10);
    const ledger = this.o.ledger;
    const history = { since: new Date(Date.parse(today) - (SPEND_HISTORY_DAYS - 1) * 86_400_000).toISOString() };
    const [recent, byUser, byAgent, byModel, byDay, userDays, agentDays, modelDays, tools] = await Promise.all([
      ledger.recentDecisions(50), ledger.spendBy('user'), ledger.spendBy('agent'), ledger.spendBy('model'), ledger.spendBy('day'),
      ledger.spendBy('user-day', history), ledger.spendBy('agent-day', history), ledger.spendBy('model-day', history),
      ledger.toolActivity({ today, since: history.since, refusals: TOOL_REFUSALS_SHOWN }),
    ]);
    // The team's store out of reach: a list that may be stale is left out rather than shown as the list.
    const suspensions = await this.divergence.list().then((list) => list.map(viewOf), () => undefined);
    return {
      time: new Date(now).toISOString(),
      health: this.health(),
      accumulators,
      recent,
      spend: { byUser, byAgent, byModel, byDay, overTime: { byUser: userDays, byAgent: agentDays, byModel: modelDays } },
      todayUsd: byDay.find((r) => r.key === today)?.usd ?? 0,
      rules: ruleSummaries(this.context.policy),
      tools,
      ...(suspensions ? { suspensions } : {}),
    };
  }

  /** Stops taking calls, lets the ones in flight finish (up to `drainMs`), then closes. */
  async stop(drainMs = 10_000): Promise<void> {
    this.draining = true;
    this.watcher?.close();
    this.divergence.stop();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const drained = Promise.allSettled([...this.inflight]);
    await Promise.race([drained, new Promise((r) => setTimeout(r, drainMs).unref())]);
    // Calls still open are cut, upstream too, and settled before the ledger closes behind them:
    // a hold ends with its call, whenever that is.
    this.upstream.abortAll();
    // MCP sessions end with the proxy, and the servers' processes it started with them.
    await this.mcp.close();
    this.recorder.flush();
    this.server.closeAllConnections();
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => setTimeout(r, 5_000).unref())]);
    // The calls' spans go out before the process ends, as far as the collector answers in time.
    if (this.tracer) await Promise.race([this.tracer.shutdown().catch(() => undefined), new Promise((r) => setTimeout(r, 5_000).unref())]);
    this.admin.close();
    this.upstream.close();
    await this.metrics.shutdown();
    await closed;
  }
}

function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
