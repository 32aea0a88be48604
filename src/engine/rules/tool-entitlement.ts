import { LRUCache } from 'lru-cache';
import type { ModelCall } from '../../contracts/call';
import type { Identity } from '../identity/identity';
import type { Policy } from '../policy/model';
import { toolEntitlementFor } from '../tools';
import type { ToolEntitlement } from '../tools';
import type { CheckRefusal } from './refusal';

// Tool entitlements on model calls: the tools a request declares to a model, against the
// identity's tool list. Outside it, the request is refused (403, naming the tool) or, where the
// bundle says `on_undeclared: strip`, sent without those tools.

/** The rule a tool refusal names (x-tollgate-rule, the record's `rule`). */
export const TOOLS_RULE = 'tools';

/** How many refused tool names a refusal's message lists. */
const NAMED_IN_REFUSAL = 5;

export type ToolCheck =
  | { readonly refusal: CheckRefusal }
  /** The call as it goes upstream (without the stripped tools), and which were stripped. */
  | { readonly call: ModelCall; readonly stripped: readonly string[] };

export class ToolEntitlementRule {
  private readonly byPerson = new LRUCache<string, ToolEntitlement>({ max: 10_000 });

  constructor(private readonly policy: Policy) {}

  of(id: Identity): ToolEntitlement {
    const key = `${id.user}\n${id.roles.join('\n')}`;
    let e = this.byPerson.get(key);
    if (!e) {
      e = toolEntitlementFor(this.policy, id);
      this.byPerson.set(key, e);
    }
    return e;
  }

  /** Undefined when every declared tool is allowed (or no tools section governs them). */
  check(id: Identity, call: ModelCall): ToolCheck | undefined {
    if (!this.policy.tools || !call.tools || call.tools.length === 0) return undefined;
    const ent = this.of(id);
    const undeclared = call.tools.filter((t) => !ent.allowed(t));
    if (undeclared.length === 0) return undefined;
    if (ent.onUndeclared === 'strip') {
      const kept = call.tools.filter((t) => ent.allowed(t));
      const rest: ModelCall = { ...call };
      delete (rest as { tools?: readonly string[] }).tools;
      return { call: kept.length > 0 ? { ...rest, tools: kept } : rest, stripped: undeclared };
    }
    const named = undeclared.slice(0, NAMED_IN_REFUSAL).map((t) => `'${t}'`).join(', ');
    const more = undeclared.length > NAMED_IN_REFUSAL ? ` and ${undeclared.length - NAMED_IN_REFUSAL} more` : '';
    const reason = `${id.user} is not entitled to tool${undeclared.length > 1 ? 's' : ''} ${named}${more} (the bundle's tools section; the request declares them to the model)`;
    return { refusal: { refusal: 'entitlement', rule: TOOLS_RULE, reason, details: { notEntitled: 'tool' } } };
  }
}

/**
 * A tool call (MCP tools/call through the gateway) is entitled by the same tools section, by the
 * name agents give the tool: it names no model and no provider route.
 */
export function checkToolEntitlement(policy: Policy, id: Identity, call: ModelCall): CheckRefusal | undefined {
  const tool = call.tool ?? '';
  if (toolEntitlementFor(policy, id).allowed(tool)) return undefined;
  return { refusal: 'entitlement', rule: TOOLS_RULE, reason: `${id.user} is not entitled to tool '${tool}' (rule '${TOOLS_RULE}')`, details: { notEntitled: 'tool' } };
}
