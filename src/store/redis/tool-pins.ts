import type { ApprovalResult, Observation, PinnedTool, ToolPinRegistry } from '../tool-pins';
import { approvedPin, observedPin, parsePinnedTool } from '../tool-pins';
import type { ScriptConnection } from './connection';
import { StoreError } from './errors';
import { OnceWarnings } from './once-warnings';

/*
 * Team mode keeps the pinned MCP tool definitions in Redis, one hash per server:
 * `{tollgate:<namespace>}:mcp-pins:<server>` (tool -> the pin's JSON, as in mcp-tool-pins.json). A
 * definition pinned through one proxy and changed is held back on every proxy, and one approval
 * (`tollgate mcp approve`, through any proxy's admin API) lets it through on all. Each change is
 * written only if the pin is still the one read (a compare-and-swap), so proxies seeing a tool at
 * once never overwrite each other's pin or pending change.
 *
 * Redis out of reach: a proxy keeps to the pins it has read. A definition matching one it knows is
 * listed and callable; any other (changed, or a tool it never saw pinned) is hidden and refused
 * until Redis answers: nothing is trusted that the team has not pinned. Approving needs Redis.
 * An entry that does not read as a pin is ignored with a warning, as a damaged pins file is: the
 * tool is pinned again as it is seen next.
 */

/** Attempts at a compare-and-swap before a pin another proxy keeps changing is given up on. */
const SWAP_ATTEMPTS = 5;

export class RedisToolPins implements ToolPinRegistry {
  /** The pins read from Redis (or decided here while it was away), per `<server>\n<tool>`. */
  private readonly known = new Map<string, PinnedTool>();
  private readonly warnings: OnceWarnings;
  private outage = '';

  constructor(
    private readonly connection: ScriptConnection,
    /** The namespace's hash tag, `{tollgate:<namespace>}`. */
    private readonly tag: string,
    private readonly log: (line: string) => void,
  ) {
    this.warnings = new OnceWarnings(log);
  }

  key(server: string): string {
    return `${this.tag}:mcp-pins:${server}`;
  }

  async observe(server: string, tool: string, sha256: string, now: number): Promise<Observation> {
    try {
      for (let i = 0; i < SWAP_ATTEMPTS; i++) {
        const read = await this.read(server, tool);
        const seen = observedPin(read.pin, sha256, now);
        if (!seen.changed || (await this.swap(server, tool, read.raw, seen.pin))) {
          this.known.set(`${server}\n${tool}`, seen.pin);
          return seen.observation;
        }
      }
      throw new StoreError('unavailable', `the pin of tool '${tool}' on MCP server '${server}' kept changing under this proxy`);
    } catch (err) {
      this.unreachable(err);
      // Kept to what this proxy knows: a definition it cannot match to a known pin is held back.
      const pin = this.known.get(`${server}\n${tool}`);
      if (pin && pin.sha256 === sha256 && !pin.pending) return { kind: 'unchanged' };
      if (pin && pin.sha256 !== sha256) this.known.set(`${server}\n${tool}`, { ...pin, pending: { sha256, seen_at: new Date(now).toISOString() } });
      return { kind: 'changed', sha256, previous: pin?.sha256 ?? '', first: false };
    }
  }

  async held(server: string, tool: string): Promise<boolean> {
    try {
      const { pin } = await this.read(server, tool);
      if (pin) this.known.set(`${server}\n${tool}`, pin);
      else this.known.delete(`${server}\n${tool}`);
      return Boolean(pin?.pending);
    } catch (err) {
      this.unreachable(err);
      const pin = this.known.get(`${server}\n${tool}`);
      return pin === undefined || Boolean(pin.pending);
    }
  }

  async approve(server: string, tool: string, now: number): Promise<ApprovalResult> {
    for (let i = 0; i < SWAP_ATTEMPTS; i++) {
      const read = await this.read(server, tool);
      const approved = approvedPin(server, tool, read.pin, now);
      if (!('pin' in approved)) return approved.result;
      if (await this.swap(server, tool, read.raw, approved.pin)) {
        this.known.set(`${server}\n${tool}`, approved.pin);
        return approved.result;
      }
    }
    throw new StoreError('unavailable', `the pin of tool '${tool}' on MCP server '${server}' kept changing while it was approved`);
  }

  /** The pin kept for a tool, and the value it was read as ('' for none); a value that is not a pin reads as none. */
  private async read(server: string, tool: string): Promise<{ raw: string; pin: PinnedTool | undefined }> {
    const [value] = (await this.connection.run('hashGet', [this.key(server)], [tool])) as unknown[];
    this.reachable();
    if (typeof value !== 'string') return { raw: '', pin: undefined };
    let pin: PinnedTool | undefined;
    try {
      pin = parsePinnedTool(JSON.parse(value));
    } catch {
      pin = undefined;
    }
    if (!pin) this.warnings.warn(`${server}\n${tool}\n${value}`, `MCP pins: the pin of ${JSON.stringify(tool.slice(0, 100))} in Redis ${this.key(server)} does not read; ignored, so the tool is pinned again as it is seen next`);
    return { raw: value, pin };
  }

  private async swap(server: string, tool: string, expected: string, pin: PinnedTool): Promise<boolean> {
    return Number(await this.connection.run('hashSwap', [this.key(server)], [tool, expected, JSON.stringify(pin)])) === 1;
  }

  private reachable(): void {
    if (this.outage === '') return;
    this.outage = '';
    this.log("MCP pins: Redis answers again; the team's pins are in force");
  }

  /** Anything but Redis being out of reach is thrown: it is not an outage to ride out. */
  private unreachable(err: unknown): void {
    if (!StoreError.is(err, 'unavailable')) throw err;
    if (err.message === this.outage) return;
    this.outage = err.message;
    this.log(`MCP pins: ${err.message}; only definitions matching the ${this.known.size} pins this proxy has read are listed and called until Redis answers`);
  }
}
