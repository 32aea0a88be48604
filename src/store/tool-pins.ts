import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { canonicalJson } from './ledger/canonical';

// Pinned MCP tool definitions: the first time the gateway sees a server's tool, the hash of its
// definition is kept in the data dir; a later definition that differs (a poisoned description, a
// widened schema) is held back until a person approves it. Kept in one JSON file, written by the
// one process that owns the data dir (the proxy), read once at start; in team mode in Redis
// instead (redis/tool-pins.ts), with the same transitions, so every proxy holds the same pins.

/** The file's name in the data dir. */
export const TOOL_PINS_FILE = 'mcp-tool-pins.json';

/** What a tool's definition hash covers: the parts a model reads or a client validates against. */
export interface ToolDefinition {
  readonly name: string;
  readonly description?: unknown;
  readonly inputSchema?: unknown;
  readonly annotations?: unknown;
}

/** sha256 (hex) of the canonical JSON of a tool's name, description, input schema and annotations. */
export function definitionHash(tool: ToolDefinition): string {
  const parts = { name: tool.name, description: tool.description ?? null, inputSchema: tool.inputSchema ?? null, annotations: tool.annotations ?? null };
  return createHash('sha256').update(canonicalJson(parts)).digest('hex');
}

export interface PinnedTool {
  sha256: string;
  pinned_at: string;
  /** A definition seen since that differs from the pin, waiting for a person's approval. */
  pending?: { sha256: string; seen_at: string };
}

interface PinFile {
  version: 1;
  servers: Record<string, Record<string, PinnedTool>>;
}

/** What seeing a definition did: first pinned, the same as pinned, or different from it (newly, or again). */
export type Observation =
  | { readonly kind: 'pinned'; readonly sha256: string }
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'changed'; readonly sha256: string; readonly previous: string; readonly first: boolean };

export type ApprovalResult =
  | { readonly ok: true; readonly sha256: string; readonly previous: string }
  | { readonly ok: false; readonly reason: 'unknown-tool' | 'nothing-pending'; readonly message: string };

/**
 * Where pins are kept: the data dir (ToolPins), or the team's Redis in team mode. The data dir's
 * answer at once, the team's once Redis has answered: callers await either.
 */
export interface ToolPinRegistry {
  /** Notes a definition as listed by a server now. */
  observe(server: string, tool: string, sha256: string, now: number): Observation | Promise<Observation>;
  /** Whether a tool's last seen definition differs from its pin and waits for approval. */
  held(server: string, tool: string): boolean | Promise<boolean>;
  /** A person approves the definition waiting: it becomes the pin. */
  approve(server: string, tool: string, now: number): ApprovalResult | Promise<ApprovalResult>;
}

/** What seeing a definition makes of a tool's pin (undefined: never seen): the pin to keep, whether it changed, and what seeing it did. */
export function observedPin(pin: PinnedTool | undefined, sha256: string, now: number): { pin: PinnedTool; changed: boolean; observation: Observation } {
  if (!pin) return { pin: { sha256, pinned_at: new Date(now).toISOString() }, changed: true, observation: { kind: 'pinned', sha256 } };
  if (pin.sha256 === sha256) {
    // The server went back to the approved definition: the change waiting is moot.
    if (!pin.pending) return { pin, changed: false, observation: { kind: 'unchanged' } };
    return { pin: { sha256: pin.sha256, pinned_at: pin.pinned_at }, changed: true, observation: { kind: 'unchanged' } };
  }
  const first = pin.pending?.sha256 !== sha256;
  const next = first ? { ...pin, pending: { sha256, seen_at: new Date(now).toISOString() } } : pin;
  return { pin: next, changed: first, observation: { kind: 'changed', sha256, previous: pin.sha256, first } };
}

/** A person's approval of a tool's pin (undefined: never seen): the new pin, or why there is nothing to approve. */
export function approvedPin(server: string, tool: string, pin: PinnedTool | undefined, now: number): { pin: PinnedTool; result: ApprovalResult & { ok: true } } | { result: ApprovalResult & { ok: false } } {
  if (!pin) return { result: { ok: false, reason: 'unknown-tool', message: `no pinned tool '${tool}' on MCP server '${server}'` } };
  if (!pin.pending) return { result: { ok: false, reason: 'nothing-pending', message: `tool '${tool}' on MCP server '${server}' has no changed definition waiting for approval` } };
  return { pin: { sha256: pin.pending.sha256, pinned_at: new Date(now).toISOString() }, result: { ok: true, sha256: pin.pending.sha256, previous: pin.sha256 } };
}

const SHA256 = /^[0-9a-f]{64}$/;
const isTime = (v: unknown): v is string => typeof v === 'string' && v.length <= 40 && Number.isFinite(Date.parse(v));

/** A pin written by another process (the team's Redis), checked field by field; undefined when it is not one. */
export function parsePinnedTool(raw: unknown): PinnedTool | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const o = raw as Record<string, unknown>;
  if (typeof o.sha256 !== 'string' || !SHA256.test(o.sha256) || !isTime(o.pinned_at)) return undefined;
  if (o.pending === undefined) return { sha256: o.sha256, pinned_at: o.pinned_at };
  const p = o.pending as Record<string, unknown> | null;
  if (p === null || typeof p !== 'object' || typeof p.sha256 !== 'string' || !SHA256.test(p.sha256) || !isTime(p.seen_at)) return undefined;
  return { sha256: o.sha256, pinned_at: o.pinned_at, pending: { sha256: p.sha256, seen_at: p.seen_at } };
}

export class ToolPins implements ToolPinRegistry {
  private constructor(
    private readonly file: string | undefined,
    private readonly data: PinFile,
  ) {}

  /** The pins of a data dir (an unreadable or damaged file starts afresh: nothing is trusted that was not seen). */
  static open(dataDir: string): ToolPins {
    const file = path.join(dataDir, TOOL_PINS_FILE);
    let data: PinFile = { version: 1, servers: {} };
    try {
      const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<PinFile>;
      if (parsed && typeof parsed.servers === 'object' && parsed.servers !== null) data = { version: 1, servers: parsed.servers };
    } catch {
      // Absent or damaged: tools are pinned again as they are first seen.
    }
    return new ToolPins(file, data);
  }

  /** Pins kept only in memory (tests, a proxy without a data dir). */
  static inMemory(): ToolPins {
    return new ToolPins(undefined, { version: 1, servers: {} });
  }

  /** Notes a definition as listed by a server now. */
  observe(server: string, tool: string, sha256: string, now: number): Observation {
    const tools = (this.data.servers[server] ??= {});
    const seen = observedPin(Object.hasOwn(tools, tool) ? tools[tool] : undefined, sha256, now);
    if (seen.changed) {
      tools[tool] = seen.pin;
      this.save();
    }
    return seen.observation;
  }

  /** Whether a tool's last seen definition differs from its pin and waits for approval. */
  held(server: string, tool: string): boolean {
    const tools = this.data.servers[server];
    return Boolean(tools && Object.hasOwn(tools, tool) && tools[tool]!.pending);
  }

  /** A person approves the definition waiting: it becomes the pin. */
  approve(server: string, tool: string, now: number): ApprovalResult {
    const tools = this.data.servers[server];
    const approved = approvedPin(server, tool, tools && Object.hasOwn(tools, tool) ? tools[tool] : undefined, now);
    if (!('pin' in approved)) return approved.result;
    tools![tool] = approved.pin;
    this.save();
    return approved.result;
  }

  private save(): void {
    if (!this.file) return;
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(this.data, null, 2)}\n`, { mode: 0o600 });
    fs.renameSync(tmp, this.file);
  }
}
