import { periodEnd, periodStart } from './calendar';
import type { AccumulatorSpec, AlertCrossing } from './spec';

// The algorithms, as pure functions over plain state objects, shared by every store that keeps
// state in this process. Time is always an argument.

export interface BucketState {
  type: 'bucket';
  /** Units available at `at`. */
  level: number;
  at: number;
}

/**
 * A sliding window kept as time slots of window/SLOTS each. Charges falling in one slot merge
 * and expire together at the latest of their times, so a charge never expires before its true
 * time: the window may refuse slightly early, never admit more than its limit. A lone charge
 * keeps its exact time. At most SLOTS + 1 slots per key keeps memory bounded however busy it is.
 */
export interface WindowState {
  type: 'window';
  /** Slot number (time / slot width) of each entry, oldest first. */
  slots: number[];
  /** Latest charge time in each entry: when the entry leaves the window. */
  times: number[];
  amounts: number[];
  total: number;
}

export interface CalendarState {
  type: 'calendar';
  period: number;
  spent: number;
  held: number;
  alerted: number[];
}

export interface RollingState {
  type: 'rolling';
  window: WindowState;
  held: number;
  alerted: number[];
}

export interface TraceState {
  type: 'trace';
  count: number;
  expiresAt: number;
}

export interface DistinctState {
  type: 'distinct';
  /** Each name counted, with when it was last seen: it leaves the window that long after. */
  seen: Record<string, number>;
}

export type AccumulatorValue = BucketState | WindowState | CalendarState | RollingState | TraceState | DistinctState;

export const SLOTS = 1024;

function slotWidth(windowMs: number): number {
  return Math.max(1, Math.floor(windowMs / SLOTS));
}

export function newWindow(): WindowState {
  return { type: 'window', slots: [], times: [], amounts: [], total: 0 };
}

function expireWindow(w: WindowState, windowMs: number, now: number): void {
  let drop = 0;
  while (drop < w.slots.length && w.times[drop]! + windowMs <= now) {
    w.total -= w.amounts[drop]!;
    drop++;
  }
  if (drop > 0) {
    w.slots.splice(0, drop);
    w.times.splice(0, drop);
    w.amounts.splice(0, drop);
  }
  if (w.slots.length === 0) w.total = 0;
}

function addToWindow(w: WindowState, windowMs: number, now: number, amount: number): number {
  const slot = Math.floor(now / slotWidth(windowMs));
  const last = w.slots.length - 1;
  if (last >= 0 && w.slots[last] === slot) {
    w.amounts[last]! += amount;
    w.times[last] = Math.max(w.times[last]!, now);
  } else {
    w.slots.push(slot);
    w.times.push(now);
    w.amounts.push(amount);
  }
  w.total += amount;
  return slot;
}

function adjustWindow(w: WindowState, slot: number, delta: number): void {
  for (let i = w.slots.length - 1; i >= 0; i--) {
    if (w.slots[i] === slot) {
      const next = Math.max(0, w.amounts[i]! + delta);
      w.total += next - w.amounts[i]!;
      w.amounts[i] = next;
      return;
    }
    if (w.slots[i]! < slot) return;
  }
}

function windowRetry(w: WindowState, windowMs: number, limit: number, amount: number, now: number): number | null {
  if (amount > limit) return null;
  let remaining = w.total;
  for (let i = 0; i < w.slots.length; i++) {
    remaining -= w.amounts[i]!;
    if (remaining + amount <= limit) return Math.max(0, w.times[i]! + windowMs - now);
  }
  return 0;
}

/** Brings a state up to `now` (refill, expiry, period roll-over) and returns it, creating it if absent. */
export function current(spec: AccumulatorSpec, value: AccumulatorValue | undefined, now: number): AccumulatorValue {
  switch (spec.type) {
    case 'bucket': {
      const b = value?.type === 'bucket' ? value : { type: 'bucket' as const, level: spec.burst, at: now };
      if (now > b.at) {
        b.level = Math.min(spec.burst, b.level + (now - b.at) * spec.ratePerMs);
        b.at = now;
      }
      // An exception that expired leaves a bucket fuller than the normal burst allows.
      if (b.level > spec.burst) b.level = spec.burst;
      return b;
    }
    case 'window': {
      const w = value?.type === 'window' ? value : newWindow();
      expireWindow(w, spec.windowMs, now);
      return w;
    }
    case 'calendar': {
      const period = periodStart(spec.unit, now);
      const c = value?.type === 'calendar' ? value : { type: 'calendar' as const, period, spent: 0, held: 0, alerted: [] };
      if (c.period !== period) {
        c.period = period;
        c.spent = 0;
        c.held = 0;
        c.alerted = [];
      }
      return c;
    }
    case 'rolling': {
      const r = value?.type === 'rolling' ? value : { type: 'rolling' as const, window: newWindow(), held: 0, alerted: [] };
      expireWindow(r.window, spec.windowMs, now);
      return r;
    }
    case 'trace': {
      const t = value?.type === 'trace' ? value : { type: 'trace' as const, count: 0, expiresAt: now + spec.ttlMs };
      if (now >= t.expiresAt) {
        t.count = 0;
        t.expiresAt = now + spec.ttlMs;
      }
      return t;
    }
    case 'distinct': {
      const d = value?.type === 'distinct' ? value : { type: 'distinct' as const, seen: {} };
      for (const [name, at] of Object.entries(d.seen)) if (at + spec.windowMs <= now) delete d.seen[name];
      return d;
    }
  }
}

/**
 * Whether an accumulator at `now` would behave exactly as a fresh one: a bucket refilled to its
 * burst, a window whose charges all left it, a period with nothing spent, held or alerted, an
 * expired trace, a name set whose names all left it. Such an accumulator can be forgotten, so
 * identities that come and go cannot grow a store without bound. Reads `v` without changing it:
 * bringing a state forward in two steps would round differently from one step.
 */
export function atRest(spec: AccumulatorSpec, v: AccumulatorValue, now: number): boolean {
  switch (v.type) {
    case 'bucket': {
      const s = spec as { ratePerMs: number; burst: number };
      return v.level + Math.max(0, now - v.at) * s.ratePerMs >= s.burst;
    }
    case 'window':
      return windowEmpty(v, (spec as { windowMs: number }).windowMs, now);
    case 'calendar':
      return v.period !== periodStart((spec as { unit: 'day' | 'week' | 'month' }).unit, now) || (v.spent === 0 && v.held === 0 && v.alerted.length === 0);
    case 'rolling':
      return windowEmpty(v.window, (spec as { windowMs: number }).windowMs, now) && v.held === 0 && v.alerted.length === 0;
    case 'trace':
      return now >= v.expiresAt;
    case 'distinct': {
      const windowMs = (spec as { windowMs: number }).windowMs;
      for (const name in v.seen) if (v.seen[name]! + windowMs > now) return false;
      return true;
    }
  }
}

function windowEmpty(w: WindowState, windowMs: number, now: number): boolean {
  const last = w.times.length - 1;
  return last < 0 || w.times[last]! + windowMs <= now;
}

function distinctCount(v: DistinctState): number {
  return Object.keys(v.seen).length;
}

/** How much of the accumulator is used, in its own unit, and its limit. */
export function usage(spec: AccumulatorSpec, v: AccumulatorValue): { used: number; limit: number } {
  switch (v.type) {
    case 'bucket':
      return { used: (spec as { burst: number }).burst - v.level, limit: (spec as { burst: number }).burst };
    case 'window':
      return { used: v.total, limit: (spec as { limit: number }).limit };
    case 'calendar':
      return { used: v.spent, limit: (spec as { limit: number }).limit };
    case 'rolling':
      return { used: v.window.total, limit: (spec as { limit: number }).limit };
    case 'trace':
      return { used: v.count, limit: (spec as { limit: number }).limit };
    case 'distinct':
      return { used: distinctCount(v), limit: (spec as { limit: number }).limit };
  }
}

/** Whether `amount` fits now, and if not, in how many ms it would (null: never, it is larger than the limit). */
export function fits(spec: AccumulatorSpec, v: AccumulatorValue, amount: number, now: number): { ok: boolean; retryAfterMs: number | null } {
  // Floating-point slack so that 60 charges of 1/60 still fit a limit of 1.
  const eps = 1e-9;
  switch (v.type) {
    case 'bucket': {
      const s = spec as { ratePerMs: number; burst: number };
      if (amount <= v.level + eps) return { ok: true, retryAfterMs: 0 };
      return { ok: false, retryAfterMs: amount > s.burst + eps ? null : (amount - v.level) / s.ratePerMs };
    }
    case 'window': {
      const s = spec as { windowMs: number; limit: number };
      if (v.total + amount <= s.limit + eps) return { ok: true, retryAfterMs: 0 };
      return { ok: false, retryAfterMs: windowRetry(v, s.windowMs, s.limit, amount, now) };
    }
    case 'calendar': {
      const s = spec as { unit: 'day' | 'week' | 'month'; limit: number };
      if (v.spent + amount <= s.limit + eps) return { ok: true, retryAfterMs: 0 };
      return { ok: false, retryAfterMs: amount > s.limit + eps ? null : periodEnd(s.unit, now) - now };
    }
    case 'rolling': {
      const s = spec as { windowMs: number; limit: number };
      if (v.window.total + amount <= s.limit + eps) return { ok: true, retryAfterMs: 0 };
      return { ok: false, retryAfterMs: windowRetry(v.window, s.windowMs, s.limit, amount, now) };
    }
    case 'trace': {
      const s = spec as { limit: number };
      // A trace that has made its calls is a runaway chain: waiting does not make it shorter.
      return v.count + amount <= s.limit ? { ok: true, retryAfterMs: 0 } : { ok: false, retryAfterMs: null };
    }
    case 'distinct': {
      const s = spec as { windowMs: number; limit: number; member: string };
      if (s.member in v.seen || distinctCount(v) + 1 <= s.limit) return { ok: true, retryAfterMs: 0 };
      // A new name fits once the longest-unseen one leaves the window.
      return { ok: false, retryAfterMs: Math.max(0, Math.min(...Object.values(v.seen)) + s.windowMs - now) };
    }
  }
}

/** What a charge adds to an accumulator's use: a name already counted adds nothing. */
export function added(spec: AccumulatorSpec, v: AccumulatorValue, amount: number): number {
  return v.type === 'distinct' && (spec as { member: string }).member in v.seen ? 0 : amount;
}

/** Takes `amount`; returns the slot or period the charge belongs to. */
export function take(spec: AccumulatorSpec, v: AccumulatorValue, amount: number, now: number): number {
  switch (v.type) {
    case 'bucket':
      v.level -= amount;
      return now;
    case 'window':
      return addToWindow(v, (spec as { windowMs: number }).windowMs, now, amount);
    case 'calendar':
      v.spent += amount;
      v.held += amount;
      return v.period;
    case 'rolling':
      v.held += amount;
      return addToWindow(v.window, (spec as { windowMs: number }).windowMs, now, amount);
    case 'trace':
      v.count += amount;
      return v.expiresAt;
    case 'distinct':
      v.seen[(spec as { member: string }).member] = now;
      return now;
  }
}

/**
 * Replaces a held charge with its real amount (0 releases it). A charge whose slot or period has
 * already passed is left alone: it no longer counts anyway. Returns the alert thresholds the
 * settled spend crossed for the first time in this period.
 */
export function adjust(spec: AccumulatorSpec, v: AccumulatorValue, slot: number, held: number, actual: number, final: boolean): number[] {
  const delta = actual - held;
  switch (v.type) {
    case 'bucket':
      v.level = Math.min((spec as { burst: number }).burst, v.level - delta);
      return [];
    case 'window':
      adjustWindow(v, slot, delta);
      return [];
    case 'calendar':
      if (v.period !== slot) return [];
      v.spent = Math.max(0, v.spent + delta);
      if (final) v.held = Math.max(0, v.held - held);
      return final ? crossings(spec, v, v.spent - v.held) : [];
    case 'rolling':
      adjustWindow(v.window, slot, delta);
      if (final) v.held = Math.max(0, v.held - held);
      return final ? crossings(spec, v, v.window.total - v.held) : [];
    case 'trace':
      if (v.expiresAt === slot) v.count = Math.max(0, v.count + delta);
      return [];
    case 'distinct':
      // A name once seen stays counted for its window: a call that failed still used the name.
      return [];
  }
}

function crossings(spec: AccumulatorSpec, v: CalendarState | RollingState, settled: number): number[] {
  const s = spec as { limit: number; alertAt?: readonly number[] };
  const out: number[] = [];
  for (const threshold of s.alertAt ?? []) {
    const crossed = settled >= threshold * s.limit - 1e-9;
    const seen = v.alerted.includes(threshold);
    if (crossed && !seen) {
      v.alerted.push(threshold);
      out.push(threshold);
    } else if (!crossed && seen && v.type === 'rolling') {
      // A rolling budget that fell back below a threshold may alert again when it climbs back.
      v.alerted.splice(v.alerted.indexOf(threshold), 1);
    }
  }
  return out;
}

export function alertsFor(key: string, spec: AccumulatorSpec, v: AccumulatorValue, thresholds: number[]): AlertCrossing[] {
  const { used, limit } = usage(spec, v);
  return thresholds.map((threshold) => ({ key, threshold, used, limit }));
}
