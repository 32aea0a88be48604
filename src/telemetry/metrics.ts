import type { Attributes, Counter, Histogram, Meter, ObservableGauge } from '@opentelemetry/api';
import type { AccumulatorView } from '../contracts/admin';
import type { Policy, ProviderConfig, TelemetryConfig } from '../engine/policy/model';
import { DEFAULT_TELEMETRY } from '../engine/policy/model';
import type { DecidedCall } from '../pipeline/call-context';
import type { CallEvents, SettledEvent } from '../pipeline/call-events';
import { fillSeries } from './accumulator-fill';
import { genAiOperationName, genAiProviderName } from './genai-names';
import { BoundedValues, personLabel, personOfKey } from './metric-labels';

// The gateway's metrics, following the pipeline's call events: the OpenTelemetry GenAI client
// metrics for each call that reached a provider, and Tollgate's own (decisions, USD spent, the
// fill of the accumulators the bundle exports). Names as the conventions spell them; Prometheus
// sees dots as underscores, counters with `_total` (docs/team-gateway.md lists the names).

/** The GenAI conventions' recommended bucket boundaries for gen_ai.client.token.usage. */
export const TOKEN_USAGE_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
/** ...and for gen_ai.client.operation.duration, in seconds. */
export const OPERATION_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

export const METRIC = {
  tokenUsage: 'gen_ai.client.token.usage',
  operationDuration: 'gen_ai.client.operation.duration',
  decisions: 'tollgate.decisions',
  spend: 'tollgate.spend.usd',
  fill: 'tollgate.accumulator.fill',
  used: 'tollgate.accumulator.used',
  limit: 'tollgate.accumulator.limit',
} as const;

/** Distinct model names and agent names reported as they are; the rest are `_OTHER`. */
const MODEL_VALUES = 200;
const AGENT_VALUES = 200;

/** What the metrics read from the proxy around them. */
export interface MetricsParts {
  /**
   * A meter from a fresh MeterProvider. Called once at start, and again when a reload changes how
   * people are labelled: the series recorded under the old labelling are dropped with their provider.
   */
  readonly freshMeter: () => Meter;
  /** The bundle in force now: its telemetry section is read on every event and every collection. */
  readonly policy: () => Policy;
  /** The keyed pseudonym of a person (the one the provider's end-user field carries). */
  readonly pseudonymOf: (user: string) => string;
  /** The base URL a provider's calls go to (the bundle's, or the command line's override). */
  readonly upstreamOf: (provider: ProviderConfig) => string;
  /** The accumulators of these rules with what they hold now (the views' read model, read from the store). */
  readonly accumulators: (rules: ReadonlySet<string>) => Promise<readonly AccumulatorView[]>;
  readonly clock: () => number;
}

function telemetryOf(policy: Policy): TelemetryConfig {
  return policy.telemetry ?? DEFAULT_TELEMETRY;
}

/** `server.address` and `server.port` of an upstream base URL. */
function serverOf(base: string): Attributes {
  try {
    const url = new URL(base);
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    return { 'server.address': url.hostname.replace(/^\[|\]$/g, ''), 'server.port': port };
  } catch {
    return {};
  }
}

/** Whether and how Tollgate's own series name people: a change starts every series afresh. */
function labellingOf(t: TelemetryConfig): string {
  return t.perPersonMetrics && t.identity !== 'none' ? t.identity : 'none';
}

/** The instruments of one MeterProvider. */
interface Instruments {
  readonly tokenUsage: Histogram;
  readonly duration: Histogram;
  readonly decisions: Counter;
  readonly spend: Counter;
}

/**
 * The OpenTelemetry instruments of one proxy, fed by its call events. When a reload changes whether
 * (or how) people are labelled, the instruments start over on a fresh meter, so turning
 * `per_person_metrics` off takes every person-labelled series away at once, not at the next restart.
 */
export class GatewayMetrics {
  private instruments?: Instruments;
  private labelling = '';
  private readonly models = new BoundedValues(MODEL_VALUES);
  private readonly agents = new BoundedValues(AGENT_VALUES);
  /** server.* of each upstream base URL: a handful, parsed once. */
  private readonly servers = new Map<string, Attributes>();

  constructor(private readonly p: MetricsParts) {
    this.current();
  }

  /** The instruments for the bundle in force, made afresh if its person labelling changed. */
  current(): Instruments {
    const labelling = labellingOf(telemetryOf(this.p.policy()));
    if (!this.instruments || labelling !== this.labelling) {
      this.labelling = labelling;
      this.instruments = this.create(this.p.freshMeter());
    }
    return this.instruments;
  }

  private create(meter: Meter): Instruments {
    const tokenUsage = meter.createHistogram(METRIC.tokenUsage, {
      description: 'Number of input and output tokens used',
      unit: '{token}',
      advice: { explicitBucketBoundaries: TOKEN_USAGE_BUCKETS },
    });
    const duration = meter.createHistogram(METRIC.operationDuration, {
      description: 'GenAI operation duration',
      unit: 's',
      advice: { explicitBucketBoundaries: OPERATION_DURATION_BUCKETS },
    });
    const decisions = meter.createCounter(METRIC.decisions, { description: 'Calls decided by the policy, by outcome and deciding rule', unit: '{decision}' });
    const spend = meter.createCounter(METRIC.spend, { description: 'USD charged for settled calls, as the ledger records them', unit: 'USD' });
    const fill = meter.createObservableGauge(METRIC.fill, { description: 'Fill of the fullest accumulator of an exported limit or budget (used / limit)', unit: '1' });
    const used = meter.createObservableGauge(METRIC.used, { description: 'Amount used in the fullest accumulator of an exported limit or budget, in its unit' });
    const limit = meter.createObservableGauge(METRIC.limit, { description: 'Limit of the fullest accumulator of an exported limit or budget, in its unit' });
    meter.addBatchObservableCallback((observer) => this.observeFill(observer, fill, used, limit), [fill, used, limit]);
    return { tokenUsage, duration, decisions, spend };
  }

  subscribe(events: CallEvents): void {
    events.on('decided', (e) => this.decided(e.call));
    events.on('unverified', (e) => {
      // Refused before anyone was identified (no token, an unknown route): the reason is from a closed set.
      this.current().decisions.add(1, { 'tollgate.outcome': 'refuse', 'tollgate.rule': e.reason, ...(e.provider ? { 'tollgate.provider': e.provider } : {}) });
    });
    events.on('settled', (e) => this.settled(e));
  }

  private person(call: DecidedCall, telemetry: TelemetryConfig): Attributes {
    const person = personLabel(telemetry, call.identity.user, this.p.pseudonymOf);
    return person === undefined ? {} : { 'tollgate.person': person };
  }

  private decided(call: DecidedCall): void {
    const d = call.decision;
    const telemetry = telemetryOf(this.p.policy());
    this.current().decisions.add(1, {
      'tollgate.outcome': d.outcome,
      'tollgate.rule': d.rule ?? 'none',
      'tollgate.provider': call.route.provider,
      ...(d.shadow ? { 'tollgate.shadow': true } : {}),
      ...this.person(call, telemetry),
    });
  }

  private settled(e: SettledEvent): void {
    const call = e.call;
    const d = call.decision;
    // The model the provider was asked for: after a downgrade, the one the proxy wrote into the request.
    const model = d.modelServed ?? call.call.model;
    const telemetry = telemetryOf(this.p.policy());
    const provider = genAiProviderName(call.call);
    const spend: Attributes = {
      'gen_ai.provider.name': provider,
      'tollgate.provider': call.route.provider,
      'tollgate.agent': this.agents.of(call.identity.agent),
      ...(model ? { 'gen_ai.request.model': this.models.of(model) } : {}),
      ...this.person(call, telemetry),
    };
    const instruments = this.current();
    if (e.settlement.usd > 0) instruments.spend.add(e.settlement.usd, spend);

    const operation = genAiOperationName(call.call);
    if (!operation) return;
    const common: Attributes = {
      'gen_ai.operation.name': operation,
      'gen_ai.provider.name': provider,
      ...(model ? { 'gen_ai.request.model': this.models.of(model) } : {}),
      ...this.serverOf(this.p.upstreamOf(call.provider)),
    };
    const error = e.status >= 400 ? String(e.status) : e.aborted ? 'aborted' : undefined;
    const seconds = Math.max(0, this.p.clock() - call.started) / 1000;
    instruments.duration.record(seconds, error ? { ...common, 'error.type': error } : common);
    // A usage the provider never reported is unknown, not zero: no token points for it. A failed
    // call that used nothing adds none either, so failures do not pull the distribution to zero.
    const usage = e.settlement.usage;
    if (!e.settlement.usageKnown || (error && usage.input_tokens === 0 && usage.output_tokens === 0)) return;
    instruments.tokenUsage.record(usage.input_tokens, { ...common, 'gen_ai.token.type': 'input' });
    instruments.tokenUsage.record(usage.output_tokens, { ...common, 'gen_ai.token.type': 'output' });
  }

  private serverOf(base: string): Attributes {
    let server = this.servers.get(base);
    if (!server) {
      server = serverOf(base);
      // Upstreams come from the bundle and the command line; a bundle edited many times cannot grow this past a bound.
      if (this.servers.size >= 100) this.servers.clear();
      this.servers.set(base, server);
    }
    return server;
  }

  /** Reads the exported accumulators from the store at collection time: a bucket refills between calls. */
  private async observeFill(
    observer: { observe(gauge: ObservableGauge, value: number, attributes?: Attributes): void },
    fill: ObservableGauge,
    used: ObservableGauge,
    limit: ObservableGauge,
  ): Promise<void> {
    const policy = this.p.policy();
    const telemetry = telemetryOf(policy);
    const exported = new Set(telemetry.exported);
    if (exported.size === 0) return;
    const views = await this.p.accumulators(exported);
    const personOf = (key: string): string | undefined => {
      const user = personOfKey(key);
      return user === undefined ? undefined : personLabel(telemetry, user, this.p.pseudonymOf);
    };
    for (const s of fillSeries(views, exported, personOf)) {
      const attributes: Attributes = { 'tollgate.rule': s.rule, 'tollgate.rule.kind': s.kind, 'tollgate.unit': s.unit, ...(s.person === undefined ? {} : { 'tollgate.person': s.person }) };
      observer.observe(fill, s.fill, attributes);
      observer.observe(used, s.used, attributes);
      observer.observe(limit, s.limit, attributes);
    }
  }
}
