import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { version } from '../../package.json';
import { MalformedRequestError } from '../contracts/call';
import type { ModelCall } from '../contracts/call';
import { accumulatorKey } from '../engine/accumulator-key';
import type { DetectorName } from '../engine/classify';
import type { Decision, Settlement } from '../engine/decision';
import type { Identity } from '../engine/identity/identity';
import { IdentityError, withAgent } from '../engine/identity/identity';
import type { SessionKeys } from '../engine/identity/tokens';
import { formatIssue } from '../engine/policy/loader';
import type { Policy, ProviderConfig } from '../engine/policy/model';
import { periodStart } from '../engine/limiters/calendar';
import type { AccumulatorStore } from '../engine/store';
import { adapterFor, styleOfPath } from '../providers/adapter';
import type { ProviderAdapter } from '../providers/adapter';
import { refusalAnswer } from '../contracts/refusal';
import type { ErrorKind } from '../contracts/refusal';
import { settleUsage } from '../providers/usage';
import type { AppendedRecord, Ledger, Sealed } from '../store/ledger/ledger';
import type { DecisionBody, LedgerEntry } from '../store/ledger/records';
import { AdminApi } from './admin';
import type { AccumulatorView, HealthResponse, StateSnapshot } from './admin-types';
import { readBody } from './body';
import type { PolicyContext } from './context';
import { describeRequest } from './describe/describe';
import { failureAnswer, ProxyError } from './errors';
import type { Logger } from './log';
import { missingKeyMessage } from './missing-key';
import { compilePolicy, contextFor } from './policy-compile';
import { PolicyFileWatcher } from './policy-watch';
import { RefusalDigest } from './refusal-digest';
import type { Pseudonyms } from './pseudonym';
import { decisionBody, errorBody, releasedBody, settleBody, summaryOf } from './records';
import { relayResponse } from './relay';
import { renderBody } from './request-body';
import type { RequestBody } from './request-body';
import { parseRoute } from './routing';
import type { Route } from './routing';
import { Upstream } from './upstream';

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
}

/** The settings plus what launching opened for them: the data dir's keys, ledger and store. */
export interface ProxyOptions extends ProxySettings {
  readonly store: AccumulatorStore;
  readonly ledger: Ledger;
  readonly sessionKeys: SessionKeys;
  readonly adminToken: string;
  readonly pseudonyms: Pseudonyms;
  readonly clock?: () => number;
}

/** Client headers that pass to every provider: trace context and retry identity, never credentials. */
const traceHeaders = ['traceparent', 'tracestate', 'idempotency-key'];

const traceparent = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function tokenOf(req: http.IncomingMessage): string | undefined {
  const auth = firstHeader(req.headers.authorization);
  const m = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
  return m?.[1] ?? firstHeader(req.headers['x-api-key'])?.trim() ?? undefined;
}

function traceOf(req: http.IncomingMessage): string | undefined {
  const m = traceparent.exec((firstHeader(req.headers.traceparent) ?? '').trim().toLowerCase());
  return m && m[1] !== '0'.repeat(32) ? m[1] : undefined;
}

/**
 * The attributing proxy: verifies who calls, decides with the engine, forwards or refuses in
 * the provider's own shape, settles what the call really used and records every step in the
 * ledger. One instance per port; the policy in force can change under it without a restart.
 */
export class ProxyServer {
  private readonly server: http.Server;
  private readonly upstream = new Upstream();
  private readonly admin: AdminApi;
  private context!: PolicyContext;
  private policyError?: { source: string; errors: string[] };
  private watcher?: PolicyFileWatcher;
  private readonly inflight = new Set<Promise<void>>();
  private draining = false;
  /** Accumulators seen in decisions, for the views: store-agnostic and bounded. */
  private readonly seen = new Map<string, { rule: string; kind: AccumulatorView['kind']; key: string; unit: AccumulatorView['unit'] }>();
  private readonly clock: () => number;
  private readonly refusals: RefusalDigest;

  private constructor(private readonly o: ProxyOptions) {
    this.clock = o.clock ?? Date.now;
    this.refusals = new RefusalDigest(
      (body) => {
        const appended = this.append(body);
        return appended ? appended.durable.then(() => appended.record.id) : Promise.reject(new Error('the ledger is unavailable'));
      },
      () => refOf(this.context.policy),
    );
    this.admin = new AdminApi(o.adminToken, { health: () => this.health(), snapshot: () => this.snapshot() });
    // Slow clients (slowloris) are cut off: the headers must arrive within the configured timeout,
    // then the body within the same again (readBody's own timer). Node checks these timeouts only
    // every connectionsCheckingInterval (30 s by default), so it is checked often enough for the
    // configured value to be the one that holds.
    const headersTimeout = o.bodyTimeoutMs;
    this.server = http.createServer(
      { headersTimeout, requestTimeout: 2 * o.bodyTimeoutMs + 1000, connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(o.bodyTimeoutMs / 4))), keepAliveTimeout: 5_000 },
      (req, res) => this.track(this.dispatch(req, res), res),
    );
  }

  static async start(o: ProxyOptions): Promise<ProxyServer> {
    const s = new ProxyServer(o);
    s.context = s.buildContext(o.policy, o.policyPath);
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

  get address(): { host: string; port: number } {
    const a = this.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  get url(): string {
    const { host, port } = this.address;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  get policyContext(): PolicyContext {
    return this.context;
  }

  private buildContext(policy: Policy, source: string): PolicyContext {
    return contextFor(policy, source, this.o);
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
      this.append({ kind: 'policy', event: 'rejected', policy: { name: null, hash: hashOf(text) }, source: file, errors });
      this.admin.publish({ type: 'policy', health: this.health() });
      return false;
    }
    this.context = result.context;
    this.o.store.applyPolicy?.(result.policy);
    this.policyError = undefined;
    this.o.log.info(`policy '${result.policy.name}' (${result.policy.hash.slice(0, 12)}) loaded from ${file}`);
    this.append({ kind: 'policy', event: 'loaded', policy: { name: result.policy.name, hash: result.policy.hash }, source: file, errors: [] });
    this.admin.publish({ type: 'policy', health: this.health() });
    return true;
  }

  private append<E extends LedgerEntry>(entry: E): { record: AppendedRecord<E>; durable: Promise<Sealed> } | undefined {
    try {
      const r = this.o.ledger.append(entry);
      r.durable.catch((err: Error) => this.o.log.error(`ledger: ${err.message}`));
      return r;
    } catch (err) {
      this.o.log.error(`ledger: ${(err as Error).message}`);
      return undefined;
    }
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
    // Before anything else: a web page must not drive the proxy or its admin API.
    const guard = this.context.browserGuard;
    const refusal = guard.refusal(req);
    if (refusal) return this.answerUnverified(res, undefined, new ProxyError('forbidden-caller', refusal), '');
    for (const [name, value] of Object.entries(guard.corsHeaders(req))) res.setHeader(name, value!);
    if (req.method === 'OPTIONS' && req.headers.origin !== undefined) {
      res.writeHead(204, guard.preflightHeaders(req));
      res.end();
      return;
    }
    if (AdminApi.handles(req.url)) return this.admin.handle(req, res);
    if (this.draining) {
      const err = new ProxyError('draining', 'tollgate is shutting down');
      res.writeHead(err.status, { 'content-type': 'application/json', connection: 'close', 'retry-after': '1' });
      res.end(JSON.stringify({ error: { message: err.message, type: 'server_error' } }));
      return;
    }
    let route: Route;
    try {
      route = parseRoute(req.url);
    } catch (err) {
      return this.answerUnverified(res, undefined, err as ProxyError, '');
    }
    return this.handleModelRequest(req, res, route);
  }

  private async handleModelRequest(req: http.IncomingMessage, res: http.ServerResponse, route: Route): Promise<void> {
    const ctx = this.context;
    const provider = ctx.policy.providers.get(route.provider);
    const where = { provider: route.provider, route: route.path };
    if (!provider) {
      return this.answerUnverified(res, undefined, new ProxyError('unknown-provider', `no provider '${route.provider.slice(0, 100)}' in policy '${ctx.policy.name}' (it has: ${[...ctx.policy.providers.keys()].join(', ')})`), '');
    }
    const adapter = adapterFor(provider.style);
    const match = adapter.routes.match(req.method ?? 'GET', route.path);
    if (!match.ok) {
      if (match.reason === 'method-not-allowed') {
        res.setHeader('allow', match.allowed.join(', '));
        return this.answerUnverified(res, adapter, new ProxyError('method-not-allowed', `${route.path} takes ${match.allowed.join(' or ')}, not ${req.method ?? ''}`), route.provider);
      }
      const other = styleOfPath(route.path);
      const message = other && other !== adapter.style
        ? `${route.path} is a route of the ${other} style, and provider '${route.provider}' speaks ${adapter.style}`
        : `provider '${route.provider}' (${adapter.style} style) has no route ${route.path}; it serves ${adapter.routes.patterns.join(', ')}`;
      return this.answerUnverified(res, adapter, new ProxyError('unknown-route', message), route.provider);
    }
    const started = this.clock();

    let identity: Identity;
    try {
      identity = await this.identify(req, ctx, started);
    } catch (err) {
      if (!IdentityError.is(err)) throw err;
      const { status, error } = err.reason === 'invalid-agent' ? failureAnswer('malformed-request') : refusalAnswer('identity');
      return this.answerUnverified(res, adapter, { status, kind: error, reason: err.reason, message: err.message }, route.provider, error === 'identity' ? { 'x-tollgate-rule': 'identity' } : {});
    }

    let call: ModelCall;
    let body: RequestBody;
    let detected: readonly DetectorName[] | undefined;
    try {
      const raw = await readBody(req, this.o.maxBodyBytes, this.o.bodyTimeoutMs);
      // A large body is parsed, counted and classified on a describe thread, off this one. A
      // passthrough (GET) carries nothing upstream: whatever body came with it is read and dropped.
      ({ body, call, detected } = await describeRequest(raw, { style: provider.style, provider: route.provider, route: route.path, method: req.method ?? 'GET', passthrough: match.spec.kind === 'passthrough' }, ctx.policy));
    } catch (err) {
      if (MalformedRequestError.is(err)) return this.answerFailure(res, new ProxyError('malformed-request', err.message), where, identity, adapter);
      if (ProxyError.is(err)) return this.answerFailure(res, err, where, identity, adapter);
      // JSON.parse reads any depth, but counting and rewriting recurse: a body nested deeper than
      // the stack is refused rather than crashing the request.
      if (err instanceof RangeError) return this.answerFailure(res, new ProxyError('malformed-request', 'the request body is nested too deeply to process'), where, identity, adapter);
      throw err;
    }

    const health = this.o.ledger.health;
    if (!health.ok) {
      // Fail closed: a call that cannot be recorded is not made.
      return this.sendFailure(res, adapter, new ProxyError('ledger-unavailable', `tollgate cannot record decisions, so it refuses calls until it can: ${health.reason}`));
    }

    let decision: Decision;
    try {
      decision = await ctx.engine.decide({ identity, call, trace: traceOf(req), declaredLabels: labelsOf(req), detected, shadow: this.o.shadow }, started);
    } catch (err) {
      this.o.log.error(`store: ${(err as Error).message}`);
      return this.answerFailure(res, new ProxyError('store-unavailable', `tollgate cannot reach its accumulator store, so it refuses calls until it can: ${(err as Error).message}`), where, identity, adapter);
    }
    this.remember(decision);
    try {
      return await this.forward(req, res, route, ctx, adapter, provider, identity, call, body, decision);
    } catch (err) {
      // Whatever went wrong after the decision, its hold must not outlive the call.
      await ctx.engine.release(decision, this.clock()).catch(() => undefined);
      throw err;
    }
  }

  private async forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    route: Route,
    ctx: PolicyContext,
    adapter: ProviderAdapter,
    provider: ProviderConfig,
    identity: Identity,
    call: ModelCall,
    body: RequestBody,
    decision: Decision,
  ): Promise<void> {
    if (decision.outcome === 'refuse' && !decision.shadow) {
      const headers: http.OutgoingHttpHeaders = { 'x-tollgate-rule': decision.rule ?? 'unknown' };
      if (decision.retryAfterS !== undefined) headers['retry-after'] = String(decision.retryAfterS);
      const kind = refusalAnswer(decision.refusal ?? 'rate-limit').error;
      return this.answerRecorded(res, adapter, decision.status, kind, decisionBody(decision, decision.status), `Tollgate refused this request: ${decision.reason}.`, headers);
    }

    const key = provider.keyEnv ? this.o.env[provider.keyEnv] : undefined;
    if (provider.keyEnv && !key) {
      await ctx.engine.release(decision, this.clock());
      const err = new ProxyError('upstream-key-missing', missingKeyMessage(provider, this.o.env));
      return this.answerRecorded(res, adapter, err.status, 'upstream', releasedBody(decision, err.status), err.message, {});
    }

    const { parts, strippedUsage } = renderBody(body, adapter, call, { model: decision.modelServed, outputCap: decision.outputCap, pseudonym: this.o.pseudonyms.of(identity.user) });
    const status = 200;
    const entry = decisionBody(decision, status);
    if (decision.hold && this.o.store.isLocalHold?.(decision.hold)) {
      // Fail-open team mode: recorded as decided on this proxy's own limits, not the team's.
      entry.reason = `${entry.reason} (decided on this proxy's local limits: the shared accumulator store is unreachable and the bundle says on_unavailable: local)`;
    }
    const appended = this.append(entry);
    if (!appended) {
      await ctx.engine.release(decision, this.clock());
      return this.sendFailure(res, adapter, new ProxyError('ledger-unavailable', 'tollgate cannot record decisions, so it refuses calls until it can'));
    }
    const record = appended.record;
    let durableOk = true;
    let seq = 0;
    const durable = appended.durable.then(
      (sealed) => {
        seq = sealed.seq;
        this.admin.publish({ type: 'decision', decision: summaryOf(record, seq) });
      },
      () => {
        durableOk = false;
      },
    );

    const upstreamUrl = new URL(`${(this.o.upstreamOverrides.get(provider.name) ?? provider.upstream).replace(/\/+$/, '')}${route.path}${route.query}`);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: firstHeader(req.headers.accept) ?? 'application/json',
      // Usage is read from the response, so it must arrive uncompressed.
      'accept-encoding': 'identity',
      'user-agent': firstHeader(req.headers['user-agent']) ?? `tollgate/${version}`,
      'x-tollgate-user': identity.user,
      'x-tollgate-agent': identity.agent,
      'x-tollgate-session': identity.session,
      ...(key ? adapter.authHeaders(key) : {}),
    };
    for (const name of [...adapter.clientHeaders, ...provider.forwardHeaders, ...traceHeaders]) {
      const v = firstHeader(req.headers[name]);
      if (v) headers[name] = v;
    }
    Object.assign(headers, provider.headers);

    await new Promise<void>((resolve) => {
      this.upstream.send(req, res, {
        url: upstreamUrl,
        headers,
        body: parts,
        headerTimeoutMs: this.o.upstreamHeaderTimeoutMs,
        idleTimeoutMs: this.o.upstreamIdleTimeoutMs,
        onError: (err, sent) => {
          void (async () => {
            await durable;
            // Unknown is not zero: a request that reached the provider may have been worked on and
            // billed, so without a reported usage it is settled at what it held. Only a call that
            // never reached the upstream costs nothing.
            const settlement = await ctx.engine.settle(decision, sent ? undefined : { input_tokens: 0, output_tokens: 0 }, this.clock());
            const clientLeft = err.reason === 'client-closed';
            this.recordSettle(record, seq, settlement, err.status, clientLeft);
            this.o.log.warn(`${identity.user} ${route.provider}${route.path}: ${err.message}`);
            if (clientLeft) return;
            if (!durableOk) return this.sendFailure(res, adapter, new ProxyError('ledger-unavailable', 'tollgate could not record this decision'));
            this.sendError(res, adapter, err.status, err.kind, err.message, { 'x-tollgate-decision': record.id });
          })().finally(resolve);
        },
        onResponse: (upstreamRes) => {
          void durable.then(() => {
            if (!durableOk) {
              this.upstream.abort(req);
              void ctx.engine.release(decision, this.clock());
              this.sendFailure(res, adapter, new ProxyError('ledger-unavailable', 'tollgate could not record this decision, so the call was stopped'));
              resolve();
              return;
            }
            relayResponse(upstreamRes, res, adapter, this.allowHeaders(decision, record.id), strippedUsage, (r) => {
              this.upstream.finished(req);
              const reported = settleUsage(r.reading, call.inputTokens, (t) => adapter.countOutput(t), r.aborted);
              // A provider bills no tokens for an error it returns without usage.
              const usage = reported ?? (r.status >= 400 ? { input_tokens: 0, output_tokens: 0 } : undefined);
              void ctx.engine
                .settle(decision, usage, this.clock())
                .then((s) => this.recordSettle(record, seq, s, r.status, r.aborted))
                .catch((err: Error) => this.o.log.error(`settle: ${err.message}`))
                .finally(resolve);
            }, key ? [key] : []);
          });
        },
      });
    });
  }

  private async identify(req: http.IncomingMessage, ctx: PolicyContext, now: number): Promise<Identity> {
    const token = tokenOf(req);
    const agent = firstHeader(req.headers['x-tollgate-agent']);
    if (!token && !ctx.policy.identity.required) {
      return withAgent({ user: 'anonymous', agent: 'default', session: 'anonymous', roles: [], issuer: 'none' }, agent);
    }
    return withAgent(await ctx.verifier.verify(token, now), agent);
  }

  private allowHeaders(d: Decision, id: string): http.OutgoingHttpHeaders {
    const h: http.OutgoingHttpHeaders = { 'x-tollgate-decision': id };
    if (d.remaining.requests !== undefined) h['x-tollgate-ratelimit-remaining-requests'] = String(Math.floor(d.remaining.requests));
    if (d.remaining.tokens !== undefined) h['x-tollgate-ratelimit-remaining-tokens'] = String(Math.floor(d.remaining.tokens));
    if (d.remaining.usd !== undefined) h['x-tollgate-ratelimit-remaining-usd'] = d.remaining.usd.toFixed(6);
    if (d.outcome === 'downgrade') {
      h['x-tollgate-model-served'] = d.modelServed ?? '';
      h['x-tollgate-downgraded-from'] = d.model ?? '';
      h['x-tollgate-rule'] = d.rule ?? '';
    }
    if (d.shadow && d.outcome === 'refuse') {
      h['x-tollgate-shadow-refusal'] = d.rule ?? 'refused';
    }
    return h;
  }

  private recordSettle(record: AppendedRecord<DecisionBody>, seq: number, s: Settlement, status: number, aborted: boolean): void {
    const appended = this.append(settleBody(record.id, s, status, aborted));
    for (const a of s.alerts) {
      this.o.log.warn(`budget '${a.rule}' for ${a.key} crossed ${Math.round(a.threshold * 100)}%: $${a.spent_usd.toFixed(4)} of $${a.limit_usd}`);
      this.append({
        kind: 'alert', rule: a.rule, key: a.key, threshold: a.threshold, used: a.spent_usd, limit: a.limit_usd, unit: 'usd',
        period_start: new Date(periodStartFor(this.context.policy, a.rule, this.clock())).toISOString(), policy: record.policy,
      });
    }
    void appended?.durable.then(() => this.admin.publish({ type: 'settle', decision: summaryOf(record, seq, { usd: s.usd }) }), () => undefined);
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
    this.refusals.add({ status, reason, provider: '' }).then(
      (id) => answer(`x-tollgate-decision: ${id}\r\n`),
      () => answer(''),
    );
  }

  /**
   * Answers a request refused before any identity was verified. It is counted into the window's
   * `refusals` record rather than recorded alone, and answered with that record's id once durable.
   */
  private async answerUnverified(
    res: http.ServerResponse,
    adapter: ProviderAdapter | undefined,
    err: ProxyError | { status: number; kind: ErrorKind; reason: string; message: string },
    provider: string,
    headers: http.OutgoingHttpHeaders = {},
  ): Promise<void> {
    const a = adapter ?? adapterFor(this.context.policy.providers.get(provider)?.style ?? 'openai');
    const kind = err.kind;
    let id: string;
    try {
      id = await this.refusals.add({ status: err.status, reason: err.reason, provider });
    } catch {
      return this.sendFailure(res, a, new ProxyError('ledger-unavailable', 'tollgate cannot record decisions, so it refuses calls until it can'));
    }
    this.sendError(res, a, err.status, kind, err.message, { ...headers, 'x-tollgate-decision': id });
  }

  /** Records a request that failed before a decision, then answers it. */
  private async answerFailure(
    res: http.ServerResponse,
    err: ProxyError,
    where: { provider: string; route: string },
    identity: Identity | undefined,
    adapter?: ProviderAdapter,
  ): Promise<void> {
    const a = adapter ?? adapterFor(this.context.policy.providers.get(where.provider)?.style ?? 'openai');
    const body = errorBody({ status: err.status, reason: err.message, ...where, identity, policy: refOf(this.context.policy), shadow: this.o.shadow });
    if (err.reason === 'body-too-large' || err.reason === 'body-timeout') res.setHeader('connection', 'close');
    return this.answerRecorded(res, a, err.status, err.kind, body, err.message, {});
  }

  /** Appends the record, waits until it is durable, then answers with its id. */
  private async answerRecorded(res: http.ServerResponse, adapter: ProviderAdapter, status: number, kind: ErrorKind, body: DecisionBody, message: string, headers: http.OutgoingHttpHeaders): Promise<void> {
    const appended = this.append(body);
    if (!appended) return this.sendFailure(res, adapter, new ProxyError('ledger-unavailable', `tollgate cannot record decisions: ${this.o.ledger.health.ok ? 'ledger closed' : this.o.ledger.health.reason}`));
    let sealed: Sealed;
    try {
      sealed = await appended.durable;
    } catch {
      return this.sendFailure(res, adapter, new ProxyError('ledger-unavailable', 'tollgate could not record this decision'));
    }
    this.admin.publish({ type: 'decision', decision: summaryOf(appended.record, sealed.seq) });
    this.sendError(res, adapter, status, kind, message, { ...headers, 'x-tollgate-decision': appended.record.id });
  }

  private sendFailure(res: http.ServerResponse, adapter: ProviderAdapter, err: ProxyError): void {
    this.sendError(res, adapter, err.status, err.kind, err.message, {});
  }

  private sendError(res: http.ServerResponse, adapter: ProviderAdapter, status: number, kind: ErrorKind, message: string, headers: http.OutgoingHttpHeaders): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const text = JSON.stringify(adapter.errorBody(kind, message));
    res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private remember(d: Decision): void {
    for (const l of d.limits) {
      const k = accumulatorKey(l.rule, l.key);
      if (this.seen.has(k)) continue;
      if (this.seen.size >= 5_000) this.seen.delete(this.seen.keys().next().value!);
      this.seen.set(k, { rule: l.rule, kind: l.kind, key: l.key, unit: l.unit });
    }
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
    const engine = this.context.engine;
    const entries = [...this.seen.values()];
    const accumulators: AccumulatorView[] = [];
    const peekable = entries.map((e) => ({ e, acc: engine.accumulatorFor(e.rule) })).filter((x) => x.acc !== undefined);
    const states = await this.o.store.peek(peekable.map((x) => ({ key: accumulatorKey(x.e.rule, x.e.key), spec: x.acc!.spec })), now);
    peekable.forEach((x, i) => {
      const s = states[i];
      if (!s) return;
      const budget = this.context.policy.budgets.find((b) => b.id === x.e.rule);
      accumulators.push({ rule: x.e.rule, kind: x.e.kind, key: x.e.key, unit: x.e.unit, used: s.before, limit: s.limit, alertAt: budget?.alertAt });
    });
    const today = new Date(now).toISOString().slice(0, 10);
    const ledger = this.o.ledger;
    const [recent, byUser, byAgent, byModel, byDay] = await Promise.all([
      ledger.recentDecisions(50), ledger.spendBy('user'), ledger.spendBy('agent'), ledger.spendBy('model'), ledger.spendBy('day'),
    ]);
    return {
      time: new Date(now).toISOString(),
      health: this.health(),
      accumulators,
      recent,
      spend: { byUser, byAgent, byModel, byDay },
      todayUsd: byDay.find((r) => r.key === today)?.usd ?? 0,
    };
  }

  /** Stops taking calls, lets the ones in flight finish (up to `drainMs`), then closes. */
  async stop(drainMs = 10_000): Promise<void> {
    this.draining = true;
    this.watcher?.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const drained = Promise.allSettled([...this.inflight]);
    await Promise.race([drained, new Promise((r) => setTimeout(r, drainMs).unref())]);
    // Calls still open are cut, upstream too, and settled before the ledger closes behind them:
    // a hold ends with its call, whenever that is.
    this.upstream.abortAll();
    this.refusals.flush();
    this.server.closeAllConnections();
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => setTimeout(r, 5_000).unref())]);
    this.admin.close();
    this.upstream.close();
    await closed;
  }
}

function refOf(p: Policy): { name: string; hash: string } {
  return { name: p.name, hash: p.hash };
}

function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function labelsOf(req: http.IncomingMessage): string[] {
  const v = firstHeader(req.headers['x-tollgate-classification']);
  return v ? v.split(',').map((s) => s.trim()).filter(Boolean) : [];
}

function periodStartFor(policy: Policy, rule: string, now: number): number {
  const b = policy.budgets.find((x) => x.id === rule);
  return !b || b.period.type === 'rolling' ? now : periodStart(b.period.unit, now);
}
