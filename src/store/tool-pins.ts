import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { canonicalJson } from './ledger/canonical';

// Pinned MCP tool definitions: the first time the gateway sees a server's tool, the hash of its
// definition is kept in the data dir; a later definition that differs (a poisoned description, a
// widened schema) is held back until a person approves it. Kept in one JSON file, written by the
// one process that owns the data dir (the proxy), read once at start.

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

interface PinnedTool {
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

export class ToolPins {
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
    const pin = Object.hasOwn(tools, tool) ? tools[tool] : undefined;
    if (!pin) {
      tools[tool] = { sha256, pinned_at: new Date(now).toISOString() };
      this.save();
      return { kind: 'pinned', sha256 };
    }
    if (pin.sha256 === sha256) {
      // The server went back to the approved definition: the change waiting is moot.
      if (pin.pending) {
        delete pin.pending;
        this.save();
      }
      return { kind: 'unchanged' };
    }
    const first = pin.pending?.sha256 !== sha256;
    if (first) {
      pin.pending = { sha256, seen_at: new Date(now).toISOString() };
      this.save();
    }
    return { kind: 'changed', sha256, previous: pin.sha256, first };
  }

  /** Whether a tool's last seen definition differs from its pin and waits for approval. */
  held(server: string, tool: string): boolean {
    const tools = this.data.servers[server];
    return Boolean(tools && Object.hasOwn(tools, tool) && tools[tool]!.pending);
  }

  /** A person approves the definition waiting: it becomes the pin. */
  approve(server: string, tool: string, now: number): ApprovalResult {
    const tools = this.data.servers[server];
    const pin = tools && Object.hasOwn(tools, tool) ? tools[tool] : undefined;
    if (!pin) return { ok: false, reason: 'unknown-tool', message: `no pinned tool '${tool}' on MCP server '${server}'` };
    if (!pin.pending) return { ok: false, reason: 'nothing-pending', message: `tool '${tool}' on MCP server '${server}' has no changed definition waiting for approval` };
    const previous = pin.sha256;
    const sha256 = pin.pending.sha256;
    tools![tool] = { sha256, pinned_at: new Date(now).toISOString() };
    this.save();
    return { ok: true, sha256, previous };
  }

  private save(): void {
    if (!this.file) return;
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(this.data, null, 2)}\n`, { mode: 0o600 });
    fs.renameSync(tmp, this.file);
  }
}
