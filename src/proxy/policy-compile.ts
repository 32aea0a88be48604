import type { KeyObject } from 'node:crypto';
import { Engine } from '../engine/decide';
import type { SessionKeySource } from '../engine/identity/tokens';
import { TokenVerifier } from '../engine/identity/tokens';
import { loadPolicy } from '../engine/policy/loader';
import type { PolicyIssue } from '../engine/policy/loader';
import { registeredStyles } from '../providers/registry';
import type { Policy } from '../engine/policy/model';
import type { Identity } from '../engine/identity/identity';
import type { CallVerifier } from '../pipeline/call-context';
import type { AccumulatorStore } from '../engine/store';
import { BrowserGuard } from './browser-guard';
import type { PolicyContext } from './context';

/** What a context is built with besides the bundle: the proxy's address, store and session key. */
export interface ContextParts {
  readonly host: string;
  readonly store: AccumulatorStore;
  readonly sessionKeys: { readonly publicKey: KeyObject };
  /** The data dir's key ring, when the proxy follows it (rotation); else the one session key. */
  readonly keySource?: SessionKeySource;
  /** Revocations, checked after each token verifies. */
  readonly gate?: { check(id: Identity, now: number): Promise<void> };
}

export type PolicyCompileResult =
  | { readonly ok: true; readonly policy: Policy; readonly context: PolicyContext; readonly warnings: readonly PolicyIssue[] }
  | { readonly ok: false; readonly errors: readonly PolicyIssue[]; readonly warnings: readonly PolicyIssue[] };

/** The context for a bundle the loader accepted. Nothing here can fail: loading checked it all, keys included. */
export function contextFor(policy: Policy, source: string, parts: ContextParts): PolicyContext {
  const browserGuard = new BrowserGuard(parts.host, policy.network?.allowedOrigins ?? [], policy.network?.allowedHosts ?? []);
  const tokens = TokenVerifier.create(policy, parts.keySource ?? parts.sessionKeys);
  const gate = parts.gate;
  const verifier: CallVerifier = gate
    ? {
        async verify(token, now) {
          const identity = await tokens.verify(token, now);
          await gate.check(identity, now);
          return identity;
        },
      }
    : tokens;
  return { policy, engine: new Engine(policy, parts.store), verifier, browserGuard, source };
}

/**
 * The one compile a bundle's text goes through in the proxy: the loader's full check, the same one
 * `tollgate policy check` and `tollgate serve` run, then the context built from it. It never
 * throws, so an edit, however broken, cannot take the proxy down.
 */
export function compilePolicy(text: string, source: string, now: number, parts: ContextParts): PolicyCompileResult {
  try {
    const loaded = loadPolicy(text, now, registeredStyles());
    if (!loaded.ok) return loaded;
    return { ok: true, policy: loaded.policy, context: contextFor(loaded.policy, source, parts), warnings: loaded.warnings };
  } catch (err) {
    // A failure the loader did not foresee is still the edit's fault, not a reason to stop serving.
    const position = { line: 1, column: 1, endLine: 1, endColumn: 1 };
    return { ok: false, errors: [{ severity: 'error', message: `the bundle could not be compiled: ${(err as Error).message}`, path: [], position }], warnings: [] };
  }
}
