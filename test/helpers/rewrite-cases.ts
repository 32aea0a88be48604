import assert from 'node:assert/strict';
import type { ModelCall } from '../../src/contracts/call';
import type { ProviderAdapter, RequestChanges } from '../../src/providers/adapter';

/** A request the style's rewrite is given, the policy's changes, and the body it must send on. */
export interface RewriteCase {
  readonly name: string;
  readonly route: string;
  readonly body: Record<string, unknown>;
  readonly changes: RequestChanges;
  readonly expect: Record<string, unknown>;
  /** Whether the rewrite asked a stream for usage the client will not see (false when left out). */
  readonly strippedUsage?: boolean;
}

/**
 * One test per case: the adapter's rewrite of the case's body, described by `call`, gives
 * `expect`, strips usage only where the case says so, and changes no field its style does not
 * declare in `rewriteFields` (a large body is spliced on that promise, request-body.ts).
 */
export function itRewrites(adapter: ProviderAdapter, call: (route: string, body: Record<string, unknown>) => ModelCall, cases: readonly RewriteCase[]): void {
  for (const c of cases) {
    it(c.name, () => {
      const r = adapter.rewrite(c.body, call(c.route, c.body), c.changes);
      assert.deepEqual(r.body, c.expect);
      assert.equal(r.strippedUsage, c.strippedUsage ?? false);
      for (const key of Object.keys(r.body)) if (r.body[key] !== c.body[key]) assert.ok(adapter.rewriteFields.includes(key), `${key} is declared`);
    });
  }
}
