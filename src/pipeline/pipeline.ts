import { LRUCache } from 'lru-cache';
import { MalformedRequestError } from '../contracts/call';
import { refusalAnswer } from '../contracts/refusal';
import type { ErrorDetails, ErrorKind } from '../contracts/refusal';
import type { Decision, Settlement } from '../engine/decision';
import type { Suspension } from '../engine/divergence/suspension';
import type { Identity } from '../engine/identity/identity';
import { callerIdentity } from '../engine/identity/claims';
import { IdentityError } from '../engine/identity/identity';
import type { Hold } from '../engine/limiters/spec';
import { upstreamQuery } from '../providers/client-key';
import { adapterFor, styleOfPath } from '../providers/registry';
import type { ProviderAdapter } from '../providers/adapter';
import { settleUsage } from '../providers/usage';
import type { ResponseNames } from '../providers/usage';
import type { CallEvents, Recording, TraceHeaders } from './call-events';
import type { CallPolicy, CallRoute, DecidedCall, DescribedCall, IdentifiedCall, RoutedCall } from './call-context';
import type { CallTransport, RelayOutcome } from './call-transport';
import { allowHeaders, labelsOf, tokenOf, traceOf, upstreamHeaders } from './call-headers';
import { failureAnswer, ProxyError } from './errors';
import { missingKeyMessage } from './missing-key';
import { renderBody } from './request-body';
import type { DescribeBody } from './describe-port';

/** Where a body came in, for describing it. */
export interface CallLog {
  warn(message: string): void;
  error(message: string): void;
}

/** What the pipeline is built with: everything a call needs besides its own request. */
export interface PipelineParts {
  readonly events: CallEvents;
  readonly describe: DescribeBody;
  /** Whether the ledger takes records now; a call that cannot be recorded is not made. */
  readonly ledgerHealth: () => { readonly ok: true } | { readonly ok: false; readonly reason: string };
  /** Whether a hold was taken on this proxy's own accumulators because the shared store is unreachable. */
  readonly isLocalHold: (hold: Hold) => boolean;
  /** Where upstream keys are read from. */
  readonly env: NodeJS.ProcessEnv;
  /** Upstream base URLs by provider name, in place of the bundle's. */
  readonly upstreamOverrides: ReadonlyMap<string, string>;
  readonly shadow: boolean;
  /** The provider's end-user field for a person. */
  readonly pseudonymOf: (user: string) => string;
  readonly clock: () => number;
  readonly log: CallLog;
  /** The suspension in force for a caller (guards.divergence), looked up before each decision. */
  readonly suspensionOf?: (identity: Identity) => Promise<Suspension | undefined>;
}

/** Why a decision in fail-open team mode is recorded as it is. */
const FAIL_OPEN_NOTE = "decided on this proxy's local limits: the shared accumulator store is unreachable and the bundle says on_unavailable: local";

/** How a forwarded call ended upstream: relayed to its end, or failed before any response. */
type UpstreamEnd =
  | { readonly relayed: RelayOutcome }
  | { readonly failed: ProxyError; readonly sent: boolean; readonly durableOk: boolean };

/** A refusal before any identity was verified: counted, not recorded alone. */
interface Unverified {
  readonly status: number;
  readonly kind: ErrorKind;
  readonly reason: string;
  readonly message: string;
}

/**
 * One call, as a sequence: identify (provider, route, caller) -> describe (the body) -> decide ->
 * forward (or refuse) -> settle. Each step answers the client itself when the call ends there.
 * What happens is told as call events: the ledger's recorder and the views' read model listen.
 * No HTTP here: the transport is the CallTransport each call brings.
 */
export class CallPipeline {
  private readonly urls = new LRUCache<string, URL>({ max: 1000 });

  constructor(private readonly p: PipelineParts) {}

  async run(transport: CallTransport, route: CallRoute, rules: CallPolicy): Promise<void> {
    const routed = await this.route(transport, route, rules);
    if (!routed) return;
    const identified = await this.identify(routed);
    if (!identified) return;
    const described = await this.describe(identified);
    if (!described) return;
    const decided = await this.decide(described);
    if (!decided) return;
    try {
      await this.forward(decided);
    } catch (err) {
      // Whatever went wrong after the decision, its hold must not outlive the call.
      await rules.engine.release(decided.decision, this.p.clock()).catch(() => undefined);
      throw err;
    }
  }

  /** Answers a request refused before it named a provider (a page's request, a bad path). */
  refuseUnrouted(transport: CallTransport, rules: CallPolicy, err: ProxyError): Promise<void> {
    return this.answerUnverified(transport, rules, undefined, err, '');
  }

  /** Which provider and which of its routes; anything else is refused before a byte is read. */
  private async route(transport: CallTransport, route: CallRoute, rules: CallPolicy): Promise<RoutedCall | undefined> {
    const policy = rules.policy;
    const provider = policy.providers.get(route.provider);
    if (!provider) {
      const err = new ProxyError('unknown-provider', `no provider '${route.provider.slice(0, 100)}' in policy '${policy.name}' (it has: ${[...policy.providers.keys()].join(', ')})`);
      await this.answerUnverified(transport, rules, undefined, err, '');
      return undefined;
    }
    const adapter = adapterFor(provider.style);
    const match = adapter.routes.match(transport.method, route.path);
    if (!match.ok) {
      if (match.reason === 'method-not-allowed') {
        transport.setHeader('allow', match.allowed.join(', '));
        await this.answerUnverified(transport, rules, adapter, new ProxyError('method-not-allowed', `${route.path} takes ${match.allowed.join(' or ')}, not ${transport.method}`), route.provider);
        return undefined;
      }
      const other = styleOfPath(route.path);
      const message = other && other !== adapter.style
        ? `${route.path} is a route of the ${other} style, and provider '${route.provider}' speaks ${adapter.style}`
        : `provider '${route.provider}' (${adapter.style} style) has no route ${route.path}; it serves ${adapter.routes.patterns.join(', ')}`;
      await this.answerUnverified(transport, rules, adapter, new ProxyError('unknown-route', message), route.provider);
      return undefined;
    }
    return { transport, route, rules, provider, adapter, passthrough: match.spec.kind === 'passthrough', started: this.p.clock() };
  }

  /** Who calls: the verified token, or anonymous where the bundle allows it. */
  private async identify(c: RoutedCall): Promise<IdentifiedCall | undefined> {
    const t = c.transport;
    const token = tokenOf(c);
    const agent = t.header('x-tollgate-agent');
    let identity: Identity;
    try {
      identity = await callerIdentity(c.rules.policy, token, agent, (t) => c.rules.verifier.verify(t, c.started));
    } catch (err) {
      if (!IdentityError.is(err)) throw err;
      const { status, error } = err.reason === 'invalid-agent' ? failureAnswer('malformed-request') : refusalAnswer('identity');
      const refusal = { status, kind: error, reason: err.reason, message: err.message };
      await this.answerUnverified(t, c.rules, c.adapter, refusal, c.route.provider, error === 'identity' ? { 'x-tollgate-rule': 'identity' } : {});
      return undefined;
    }
    return { ...c, identity };
  }

  /** The body, read and described: model, input counted, output asked for. */
  private async describe(c: IdentifiedCall): Promise<DescribedCall | undefined> {
    try {
      const raw = await c.transport.readBody();
      // A large body is parsed, counted and classified on a describe thread, off this one. A
      // passthrough (GET) carries nothing upstream: whatever body came with it is read and dropped.
      const settings = c.provider.deployments ? { deployments: c.provider.deployments } : undefined;
      const where = { style: c.provider.style, provider: c.route.provider, route: c.route.path, method: c.transport.method, passthrough: c.passthrough, settings };
      const { body, call, detected } = await this.p.describe(raw, where, c.rules.policy);
      return { ...c, body, call, detected };
    } catch (err) {
      if (MalformedRequestError.is(err)) await this.answerFailure(c, new ProxyError('malformed-request', err.message));
      else if (ProxyError.is(err)) await this.answerFailure(c, err);
      // JSON.parse reads any depth, but counting and rewriting recurse: a body nested deeper than
      // the stack is refused rather than crashing the request.
      else if (err instanceof RangeError) await this.answerFailure(c, new ProxyError('malformed-request', 'the request body is nested too deeply to process'));
      else throw err;
      return undefined;
    }
  }

  private async decide(c: DescribedCall): Promise<DecidedCall | undefined> {
    const health = this.p.ledgerHealth();
    if (!health.ok) {
      // Fail closed: a call that cannot be recorded is not made.
      this.answer(c.transport, c.adapter, new ProxyError('ledger-unavailable', `tollgate cannot record decisions, so it refuses calls until it can: ${health.reason}`));
      return undefined;
    }
    const t = c.transport;
    let decision: Decision;
    try {
      const suspension = await this.p.suspensionOf?.(c.identity);
      decision = await c.rules.engine.decide({ identity: c.identity, call: c.call, trace: traceOf(t), declaredLabels: labelsOf(t), detected: c.detected, shadow: this.p.shadow, suspension }, c.started);
    } catch (err) {
      this.p.log.error(`store: ${(err as Error).message}`);
      await this.answerFailure(c, new ProxyError('store-unavailable', `tollgate cannot reach its accumulator store, so it refuses calls until it can: ${(err as Error).message}`));
      return undefined;
    }
    const decided = { ...c, decision };
    this.p.events.emit('decided', { call: decided });
    return decided;
  }

  /** Refuses the call, or records the decision and sends the call upstream; settles it once it ended there. */
  private async forward(c: DecidedCall): Promise<void> {
    const { decision, adapter, provider, identity, rules, transport: t } = c;
    if (decision.outcome === 'refuse' && !decision.shadow) {
      const headers: Record<string, string> = { 'x-tollgate-rule': decision.rule ?? 'unknown' };
      if (decision.retryAfterS !== undefined) headers['retry-after'] = String(decision.retryAfterS);
      const recording = this.recorded((recordedAs, recordId) => this.p.events.emit('refused', { call: c, recordedAs, recordId }));
      return this.answerRecorded(t, adapter, recording, decision.status, refusalAnswer(decision.refusal ?? 'rate-limit').error, `Tollgate refused this request: ${decision.reason}.`, headers, decision.errorDetails);
    }

    const key = provider.keyEnv ? this.p.env[provider.keyEnv] : undefined;
    if (provider.keyEnv && !key) {
      await rules.engine.release(decision, this.p.clock());
      const err = new ProxyError('upstream-key-missing', missingKeyMessage(provider, this.p.env));
      const recording = this.recorded((recordedAs, recordId) => this.p.events.emit('released', { call: c, status: err.status, recordedAs, recordId }));
      return this.answerRecorded(t, adapter, recording, err.status, err.kind, err.message, {});
    }

    // Shadow mode changes nothing a policy refuses: the tools are recorded as stripped, and sent.
    const stripTools = decision.shadow ? undefined : decision.strippedTools;
    const changes = { model: decision.modelServed, outputCap: decision.outputCap, pseudonym: this.p.pseudonymOf(identity.user), stripTools };
    const { parts, strippedUsage } = renderBody(c.body, adapter, c.call, changes);
    const note = decision.hold && this.p.isLocalHold(decision.hold) ? FAIL_OPEN_NOTE : undefined;
    let trace: TraceHeaders | undefined;
    const recording = this.recorded((recordedAs, recordId) => this.p.events.emit('forwarded', { call: c, note, recordedAs, recordId, tracedAs: (t) => (trace = t) }));
    if (!recording.ok) {
      await rules.engine.release(decision, this.p.clock());
      return this.answer(t, adapter, new ProxyError('ledger-unavailable', 'tollgate cannot record decisions, so it refuses calls until it can'));
    }
    const base = this.p.upstreamOverrides.get(provider.name) ?? provider.upstream;
    const path = adapter.upstreamPath?.(c.route.path, c.call, changes) ?? c.route.path;
    const request = { url: this.upstreamUrl(base, `${path}${upstreamQuery(c.adapter.clientKeys, c.route.query)}`), headers: upstreamHeaders(c, key, trace), body: parts };
    const ended = await new Promise<UpstreamEnd | undefined>((resolve) => {
      t.sendUpstream(request, {
        onError: (err, sent) => void recording.durable.then((durableOk) => resolve({ failed: err, sent, durableOk })),
        onResponse: (reply) => {
          void recording.durable
            .then(async (durableOk) => {
              if (!durableOk) {
                reply.abort();
                void rules.engine.release(decision, this.p.clock());
                this.answer(t, adapter, new ProxyError('ledger-unavailable', 'tollgate could not record this decision, so the call was stopped'));
                return resolve(undefined);
              }
              resolve({ relayed: await reply.relay({ adapter, headers: allowHeaders(decision, recording.id), stripUsage: strippedUsage, secrets: key ? [key] : [] }) });
            })
            .catch((err: Error) => {
              this.p.log.error(`relay: ${err.message}`);
              resolve(undefined);
            });
        },
      });
    });
    if (ended) await this.settle(c, recording.id, ended).catch((err: Error) => this.p.log.error(`settle: ${err.message}`));
  }

  /**
   * The upstream URL for a base and a path with its query. Calls repeat a handful of them, so each
   * is parsed once; nothing changes a URL once made.
   */
  private upstreamUrl(base: string, pathAndQuery: string): URL {
    const text = `${base.replace(/\/+$/, '')}${pathAndQuery}`;
    let url = this.urls.get(text);
    if (!url) {
      url = new URL(text);
      this.urls.set(text, url);
    }
    return url;
  }

  /** Charges what the call used, now that it has ended, and answers a call the upstream failed. */
  private async settle(c: DecidedCall, id: string, ended: UpstreamEnd): Promise<void> {
    const { decision, adapter, rules, transport: t } = c;
    if ('relayed' in ended) {
      const r = ended.relayed;
      const reported = settleUsage(r.reading, c.call.inputTokens, (text) => adapter.countOutput(text), r.aborted);
      // A provider bills no tokens for an error it returns without usage.
      const usage = reported ?? (r.status >= 400 ? { input_tokens: 0, output_tokens: 0, tool_calls: 0 } : undefined);
      this.settled(c, await rules.engine.settle(decision, usage, this.p.clock()), r.status, r.aborted, r.response);
      return;
    }
    const { failed: err, sent, durableOk } = ended;
    // Unknown is not zero: a request that reached the provider may have been worked on and
    // billed, so without a reported usage it is settled at what it held. Only a call that never
    // reached the upstream costs nothing.
    const settlement = await rules.engine.settle(decision, sent ? undefined : { input_tokens: 0, output_tokens: 0, tool_calls: 0 }, this.p.clock());
    const clientLeft = err.reason === 'client-closed';
    this.settled(c, settlement, err.status, clientLeft);
    this.p.log.warn(`${c.identity.user} ${c.route.provider}${c.route.path}: ${err.message}`);
    if (clientLeft) return;
    if (!durableOk) return this.answer(t, adapter, new ProxyError('ledger-unavailable', 'tollgate could not record this decision'));
    this.answer(t, adapter, err, { 'x-tollgate-decision': id });
  }

  private settled(call: DecidedCall, settlement: Settlement, status: number, aborted: boolean, response?: ResponseNames): void {
    this.p.events.emit('settled', { call, settlement, status, aborted, response });
  }

  /** Emits an event the ledger records, and returns what it recorded (nothing, without a recorder). */
  private recorded(emit: (recordedAs: (r: Recording) => void, recordId: () => string | undefined) => void): Recording {
    let recording: Recording = { ok: false, problem: 'nothing records decisions' };
    emit((r) => (recording = r), () => (recording.ok ? recording.id : undefined));
    return recording;
  }

  /**
   * Answers a request refused before any identity was verified. It is counted into the window's
   * `refusals` record rather than recorded alone, and answered with that record's id once durable.
   */
  private async answerUnverified(
    t: CallTransport,
    rules: CallPolicy,
    adapter: ProviderAdapter | undefined,
    err: ProxyError | Unverified,
    provider: string,
    headers: Record<string, string> = {},
  ): Promise<void> {
    // A path naming no configured provider has no style of its own: it is answered in OpenAI's shape, the one most clients read.
    const a = adapter ?? adapterFor(rules.policy.providers.get(provider)?.style ?? 'openai');
    let counted: Promise<string> | undefined;
    this.p.events.emit('unverified', { provider, status: err.status, reason: err.reason, countedIn: (id) => (counted = id) });
    let id: string;
    try {
      // Nothing counting refusals is a ledger that records nothing: refused like one that fails.
      if (!counted) throw new Error('nothing counts refusals');
      id = await counted;
    } catch {
      return this.answer(t, a, new ProxyError('ledger-unavailable', 'tollgate cannot record decisions, so it refuses calls until it can'));
    }
    this.send(t, a, err.status, err.kind, err.message, { ...headers, 'x-tollgate-decision': id });
  }

  /** Records a request that failed before a decision, then answers it. */
  private async answerFailure(c: IdentifiedCall, err: ProxyError): Promise<void> {
    if (err.reason === 'body-too-large' || err.reason === 'body-timeout') c.transport.setHeader('connection', 'close');
    const recording = this.recorded((recordedAs, recordId) => this.p.events.emit('failed', { call: c, status: err.status, message: err.message, recordedAs, recordId }));
    return this.answerRecorded(c.transport, c.adapter, recording, err.status, err.kind, err.message, {});
  }

  /** Waits until the record is durable, then answers with its id. */
  private async answerRecorded(t: CallTransport, adapter: ProviderAdapter, recording: Recording, status: number, kind: ErrorKind, message: string, headers: Record<string, string>, details?: ErrorDetails): Promise<void> {
    if (!recording.ok) return this.answer(t, adapter, new ProxyError('ledger-unavailable', `tollgate cannot record decisions: ${recording.problem}`));
    if (!(await recording.durable)) return this.answer(t, adapter, new ProxyError('ledger-unavailable', 'tollgate could not record this decision'));
    this.send(t, adapter, status, kind, message, { ...headers, 'x-tollgate-decision': recording.id }, details);
  }

  private answer(t: CallTransport, adapter: ProviderAdapter, err: ProxyError, headers: Record<string, string> = {}): void {
    this.send(t, adapter, err.status, err.kind, err.message, headers);
  }

  private send(t: CallTransport, adapter: ProviderAdapter, status: number, kind: ErrorKind, message: string, headers: Record<string, string>, details?: ErrorDetails): void {
    t.answer(status, headers, JSON.stringify(adapter.errorBody(kind, message, details)));
  }
}
