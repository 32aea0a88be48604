import type { ModelCall, StyleName } from '../contracts/call';
import { MalformedRequestError } from '../contracts/call';
import { accumulatorKey } from '../engine/accumulator-key';
import type { Decision } from '../engine/decision';
import { Engine } from '../engine/decide';
import type { Identity } from '../engine/identity/identity';
import { IdentityError } from '../engine/identity/identity';
import type { Policy } from '../engine/policy/model';
import { priceOf, usdFor } from '../engine/pricing';
import type { StateSnapshot } from '../contracts/admin';
import { adapterFor, styleOfModel } from '../providers/registry';
import { MemoryStore } from '../store/memory-store';
import type { FoundCall, SourceRange } from './found-call';

// What a found call means under the policy in force, for this developer, now: every answer comes
// from the engine's own decide() (entitlement, context cap, output clamp, cost, and how many fit
// in the live accumulators), never from a second reading of the rules.

export interface PreviewContext {
  readonly policy: Policy;
  /**
   * Who the call is decided for, resolved as the proxy resolves it (previewIdentity), or why the
   * proxy refuses the token before any call is decided.
   */
  readonly identity: Identity | IdentityError;
  readonly snapshot?: StateSnapshot;
  readonly now: number;
  /** Tokens assumed for each dynamic piece of a prompt. */
  readonly assumedTokensPerDynamicPart?: number;
  /** Most calls counted when asking how many fit. */
  readonly maxCount?: number;
}

export interface PreviewDiagnostic {
  readonly severity: 'error' | 'warning';
  readonly message: string;
  readonly range: SourceRange;
  /** Replace `range` with `replacement` (the model literal with an entitled model). */
  readonly fix?: { readonly title: string; readonly range: SourceRange; readonly replacement: string };
}

export interface Capacity {
  /** Calls that fit at once, now, before the first refusal (at most maxCount). */
  readonly fits: number;
  readonly capped: boolean;
  readonly rule?: string;
  readonly reason?: string;
  readonly downgrade?: { readonly after: number; readonly rule: string; readonly to: string };
}

export interface CallPreview {
  readonly call: FoundCall;
  readonly model?: string;
  /** Undefined when the model is not known statically. */
  readonly entitled?: boolean;
  readonly refusal?: { readonly kind: string; readonly rule: string; readonly reason: string };
  readonly alternative?: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly usd: number;
  readonly assumptions: readonly string[];
  readonly capacity?: Capacity;
  readonly fanOut?: string;
  /** CodeLens titles, first the call's, then its fan-out warning. */
  readonly lens: readonly string[];
  readonly hover: string;
  readonly diagnostics: readonly PreviewDiagnostic[];
}

export const ASSUMED_TOKENS_PER_DYNAMIC_PART = 500;
const MAX_COUNT = 1000;

function providerFor(policy: Policy, style: StyleName): string {
  for (const [name, p] of policy.providers) if (p.style === style) return name;
  return style;
}

/** The engine's description of the call, counted by the provider adapter the proxy uses. */
export function modelCallFor(call: FoundCall, model: string, ctx: PreviewContext): ModelCall {
  const provider = providerFor(ctx.policy, call.provider);
  const adapter = adapterFor(call.provider);
  // The system parts are one system turn, first; a plain prompt's parts are the user's.
  const system = call.prompt.filter((p) => p.role === 'system').map((p) => p.text).join('\n');
  const turns = call.prompt.filter((p) => p.role !== 'system').map((p) => ({ role: p.role === 'input' ? 'user' : p.role, content: p.text }));
  const messages = [...(system ? [{ role: 'system', content: system }] : []), ...turns];
  const plain = { model, messages, maxTokens: call.maxTokens, reserveOutputTokens: ctx.policy.guards.reserveOutputTokens, stream: call.stream };
  // A style that names the model in the path (Gemini) fills it in.
  const route = adapter.routeFor?.(call.route, plain) ?? call.route;
  const described = adapter.describe(provider, route, 'POST', adapter.requestFor(route, plain));
  const assumed = call.dynamicParts * (ctx.assumedTokensPerDynamicPart ?? ASSUMED_TOKENS_PER_DYNAMIC_PART);
  return { ...described, inputTokens: described.inputTokens + assumed };
}

/**
 * Models the policy names (in its prices, as downgrade targets or in an entitlement, by a plain
 * name) of the same provider style as the call. Most prices now come from the catalogue, so the
 * bundle's own entries no longer list every model it means.
 */
function candidates(policy: Policy, style: StyleName, api: FoundCall['api']): string[] {
  const names = new Set<string>([...policy.prices.keys()].filter((n) => !n.includes('*')));
  for (const b of policy.budgets) if (b.downgradeTo) names.add(b.downgradeTo);
  const entitlements = [policy.entitlements.default, ...policy.entitlements.roles.values(), ...policy.entitlements.users.values()];
  for (const e of entitlements) for (const m of [e?.models ?? []].flat()) if (!m.includes('*')) names.add(m);
  const embedding = (m: string): boolean => m.includes('embed');
  return [...names].filter((m) => styleOfModel(m) === style && embedding(m) === (api === 'embeddings'));
}

/** A store holding this developer's live accumulators: the snapshot's `used`, charged at its time. */
function seededEngine(ctx: PreviewContext, req: { identity: Identity; call: ModelCall }, d: Decision): Engine {
  const store = new MemoryStore();
  const engine = new Engine(ctx.policy, store);
  const snap = ctx.snapshot;
  if (!snap) return engine;
  const at = Math.min(ctx.now, Date.parse(snap.time) || ctx.now);
  const used = new Map(snap.accumulators.map((a) => [accumulatorKey(a.rule, a.key), a.used]));
  const planned = engine.plan(req, d.modelServed, d.reserved.output_tokens, d.classification, d.weight, at, new Set());
  for (const p of planned) {
    const u = used.get(p.storeKey);
    // Forced: the snapshot is what the proxy holds, even past a limit.
    if (u !== undefined && u > 0) store.reserveNow([{ key: p.storeKey, spec: p.spec, amount: u, force: true }], at);
  }
  return engine;
}

async function capacityOf(ctx: PreviewContext, req: { identity: Identity; call: ModelCall; trace?: string }, first: Decision): Promise<Capacity> {
  const engine = seededEngine(ctx, req, first);
  const max = ctx.maxCount ?? MAX_COUNT;
  let downgrade: Capacity['downgrade'];
  for (let n = 0; n < max; n++) {
    const d = await engine.decide(req, ctx.now);
    if (d.outcome === 'refuse') return { fits: n, capped: false, rule: d.rule ?? undefined, reason: d.reason, downgrade };
    if (d.outcome === 'downgrade' && !downgrade) downgrade = { after: n, rule: d.rule ?? 'budget', to: d.modelServed ?? '' };
  }
  return { fits: max, capped: true, downgrade };
}

function money(n: number): string {
  if (n === 0) return '$0';
  return n < 0.01 ? `$${n.toPrecision(2)}` : `$${n.toFixed(2)}`;
}

function int(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

const FANOUT_WORDS: Record<string, string> = {
  loop: 'in a loop', map: 'in a map callback', 'promise-all': 'under Promise.all', gather: 'under asyncio.gather', comprehension: 'in a comprehension', recursion: 'in a recursive function',
};

/** Everything the editor shows for one call. Pure apart from the engine's in-memory store. */
export async function previewCall(call: FoundCall, ctx: PreviewContext): Promise<CallPreview> {
  const assumptions: string[] = [];
  const diagnostics: PreviewDiagnostic[] = [];
  const identity = ctx.identity;
  // The proxy checks who calls before it reads the call: with this token, every call is refused.
  if (IdentityError.is(identity)) {
    const lens = [`Tollgate: ${call.model ?? 'this call'} · refused: ${identity.message}`];
    return { call, model: call.model, refusal: { kind: 'identity', rule: 'identity', reason: identity.message }, inputTokens: 0, outputTokens: 0, usd: 0, assumptions, lens, hover: `**Tollgate**: the proxy refuses every call with this identity: ${identity.message}`, diagnostics };
  }
  const per = ctx.assumedTokensPerDynamicPart ?? ASSUMED_TOKENS_PER_DYNAMIC_PART;
  if (call.dynamicParts > 0) assumptions.push(`the prompt has ${call.dynamicParts} dynamic part${call.dynamicParts === 1 ? '' : 's'}, assumed ${per} tokens each`);
  if (!call.model) {
    const fan = call.fanOut.length ? `${FANOUT_WORDS[call.fanOut[0]!.kind]}: each iteration is one more call` : undefined;
    const lens = ['Tollgate: model not known statically; cost and limits cannot be previewed'];
    if (fan) lens.push(`Tollgate: ${fan}`);
    return { call, inputTokens: 0, outputTokens: 0, usd: 0, assumptions, fanOut: fan, lens, hover: `**Tollgate**: the model is computed at run time, so entitlement and cost are unknown.`, diagnostics };
  }
  const model = call.model;
  let mc: ModelCall;
  try {
    mc = modelCallFor(call, model, ctx);
  } catch (err) {
    if (!MalformedRequestError.is(err)) throw err;
    return { call, model, inputTokens: 0, outputTokens: 0, usd: 0, assumptions, lens: [`Tollgate: ${model}: ${err.message}`], hover: `**Tollgate**: ${err.message}`, diagnostics };
  }
  const req = { identity, call: mc };
  const first = await new Engine(ctx.policy, new MemoryStore()).decide(req, ctx.now);
  const style = call.provider;
  const price = priceOf(ctx.policy, model, mc.provider);
  if (!price) assumptions.push(`the policy has no price for ${model}: its USD cost counts as $0`);
  if (call.api !== 'embeddings') {
    if (call.maxTokens === undefined) assumptions.push(`no max_tokens: the policy's reserve of ${ctx.policy.guards.reserveOutputTokens} output tokens is held`);
    if (first.outputCap !== undefined && call.maxTokens !== undefined) assumptions.push(`output clamped to ${first.outputCap} tokens by the entitlement`);
  }

  if (first.outcome === 'refuse' && (first.refusal === 'entitlement' || first.refusal === 'context')) {
    let alternative: string | undefined;
    if (first.refusal === 'entitlement') {
      let best: { model: string; price: number } | undefined;
      for (const m of candidates(ctx.policy, style, call.api)) {
        if (m === model) continue;
        const alt = await new Engine(ctx.policy, new MemoryStore()).decide({ identity, call: { ...mc, model: m } }, ctx.now);
        if (alt.refusal === 'entitlement') continue;
        const p = priceOf(ctx.policy, m, mc.provider);
        const weight = p ? p.input.base + p.output.base : 0;
        // The most capable (by price) model the person may use is the closest replacement.
        if (!best || weight > best.price) best = { model: m, price: weight };
      }
      alternative = best?.model;
    }
    const fix = alternative && call.modelRange ? { title: `Use ${alternative} (entitled for ${identity.user})`, range: call.modelRange, replacement: quoteLike(alternative) } : undefined;
    const message = first.refusal === 'context' ? `Tollgate: ${first.reason}` : `Tollgate: ${identity.user} is not entitled to ${model}${alternative ? `; ${alternative} is` : ''}`;
    diagnostics.push({ severity: 'error', message, range: first.refusal === 'entitlement' && call.modelRange ? call.modelRange : call.range, fix });
    const usd = usdFor(price, { input_tokens: mc.inputTokens, output_tokens: (mc.requestedOutputTokens ?? ctx.policy.guards.reserveOutputTokens) * mc.choices });
    const lens = [first.refusal === 'context'
      ? `Tollgate: ${model} · refused: prompt ≈${int(mc.inputTokens)} tokens is over the context cap`
      : `Tollgate: ${model} · not entitled for ${identity.user}${alternative ? ` (use ${alternative})` : ''}`];
    return {
      call, model, entitled: first.refusal !== 'entitlement', refusal: { kind: first.refusal, rule: first.rule ?? '', reason: first.reason }, alternative,
      inputTokens: mc.inputTokens, outputTokens: 0, usd, assumptions, lens, hover: hoverText(model, first, mc.inputTokens, 0, usd, assumptions, undefined, undefined, ctx.snapshot), diagnostics,
    };
  }

  const outputTokens = first.reserved.output_tokens;
  const usd = first.reserved.usd;
  const capacity = await capacityOf(ctx, req, first);
  const fits = capacity.capped ? `${int(capacity.fits)}+ fit now` : capacity.fits === 0 ? `refused now by ${capacity.rule}` : `${int(capacity.fits)} fit now, then ${capacity.rule} refuses`;
  const lens = [`Tollgate: ${model} · entitled · ≈${money(usd)}/call (${int(mc.inputTokens)} in + ${int(outputTokens)} out) · ${fits}`];
  let fanOut: string | undefined;
  if (call.fanOut.length > 0) {
    const kind = call.fanOut[0]!;
    const parts: string[] = [];
    const burst = first.limits.map((l) => ctx.policy.limits.find((r) => r.id === l.rule)).find((r) => r?.algorithm === 'token-bucket' && r.cost === 'requests' && r.per.includes('agent'));
    if (burst && burst.algorithm === 'token-bucket') {
      const left = capacity.rule === burst.id ? capacity.fits : undefined;
      parts.push(`${burst.id} (burst ${burst.burst}, ${burst.rate.text}) admits ${left ?? 'up to ' + burst.burst} at once, then paces to ${burst.rate.text}`);
    } else if (capacity.rule) parts.push(`${capacity.rule} refuses after ${int(capacity.fits)} at once`);
    const guard = ctx.policy.guards.maxCallsPerTrace;
    if (guard !== undefined) parts.push(`calls sharing one trace stop at ${guard} (max_calls_per_trace)`);
    fanOut = `⚠ ${FANOUT_WORDS[kind.kind]} (${kind.label}): ${parts.join('; ')}`;
    lens.push(`Tollgate: ${fanOut}`);
  }
  if (first.outcome === 'refuse' && first.refusal !== 'rate-limit' && first.refusal !== 'budget' && first.refusal !== 'trace') {
    diagnostics.push({ severity: 'warning', message: `Tollgate: ${first.reason}`, range: call.range });
  }
  return {
    call, model, entitled: true, inputTokens: mc.inputTokens, outputTokens, usd, assumptions, capacity, fanOut, lens,
    hover: hoverText(model, first, mc.inputTokens, outputTokens, usd, assumptions, capacity, fanOut, ctx.snapshot), diagnostics,
  };
}

/** A double-quoted literal is valid in JS, TS and Python alike. */
function quoteLike(model: string): string {
  return JSON.stringify(model);
}

function hoverText(model: string, d: Decision, input: number, output: number, usd: number, assumptions: readonly string[], capacity: Capacity | undefined, fanOut: string | undefined, snapshot: StateSnapshot | undefined): string {
  const live = new Map((snapshot?.accumulators ?? []).map((a) => [accumulatorKey(a.rule, a.key), a.used]));
  const lines = [`**Tollgate** · \`${model}\` · policy ${d.policy.name}`, ''];
  if (d.outcome === 'refuse' && (d.refusal === 'entitlement' || d.refusal === 'context')) lines.push(`Refused: ${d.reason}`, '');
  lines.push(`- Estimated cost of one call: ${money(usd)} (${int(input)} input + ${int(output)} output tokens${d.weight !== 1 ? `, weight ${d.weight}` : ''})`);
  if (capacity) {
    lines.push(capacity.capped ? `- At least ${int(capacity.fits)} such calls fit now` : `- ${int(capacity.fits)} such calls fit now; the next is refused by \`${capacity.rule}\`: ${capacity.reason}`);
    if (capacity.downgrade) lines.push(`- After ${int(capacity.downgrade.after)} calls, \`${capacity.downgrade.rule}\` downgrades to ${capacity.downgrade.to}`);
  }
  if (fanOut) lines.push(`- ${fanOut}`);
  for (const l of d.limits) lines.push(`- \`${l.rule}\` ${l.key}: ${Math.round((live.get(accumulatorKey(l.rule, l.key)) ?? 0) * 10000) / 10000} of ${l.limit} ${l.unit} used${snapshot ? '' : ' (no live state)'}`);
  if (assumptions.length) lines.push('', `Assumptions: ${assumptions.join('; ')}.`);
  return lines.join('\n');
}
