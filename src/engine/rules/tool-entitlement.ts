import type { ModelCall } from '../../contracts/call';
import type { Identity } from '../identity/identity';
import type { Policy } from '../policy/model';
import { toolEntitlementFor } from '../tools';
import type { CheckRefusal } from './refusal';

// A tool call (MCP tools/call through the gateway) is entitled by the bundle's tools section, not
// by the model and route entitlements: it names no model and no provider route.

export function checkToolEntitlement(policy: Policy, id: Identity, call: ModelCall): CheckRefusal | undefined {
  const tool = call.tool ?? '';
  if (toolEntitlementFor(policy, id).allowed(tool)) return undefined;
  return { refusal: 'entitlement', rule: 'tools', reason: `${id.user} is not entitled to tool '${tool}' (rule 'tools')` };
}
