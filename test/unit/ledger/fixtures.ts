import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DecisionBody, SettleBody } from '../../../src/contracts/audit-records';

export function tempDir(prefix = 'tollgate-ledger-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function decision(n: number, overrides: Partial<DecisionBody> = {}): DecisionBody {
  return {
    kind: 'decision',
    outcome: 'allow',
    shadow: false,
    status: 200,
    identity: { user: `user${n % 3}@acme.dev`, agent: n % 2 ? 'default' : 'batch-eval', session: `s-${n % 5}`, roles: ['ml-engineers'] },
    classification: n % 7 === 0 ? ['pii'] : [],
    provider: 'openai',
    route: '/v1/chat/completions',
    model: 'gpt-4o-mini',
    model_served: 'gpt-4o-mini',
    trace: null,
    rule: null,
    reason: 'within every limit',
    exception: null,
    reserved: { input_tokens: 100 + n, output_tokens: 1024, usd: 0.001 },
    limits: [{ rule: 'agent-burst', key: `user${n % 3}@acme.dev/default`, before: 3, after: 2, limit: 20 }],
    policy: { name: 'acme-ai-gateway', hash: 'a'.repeat(64) },
    tool: null,
    arguments_sha256: null,
    arguments: null,
    tools_stripped: null,
    approval: null,
    ...overrides,
  };
}

export function settle(decisionId: string, usd = 0.0005): SettleBody {
  return { kind: 'settle', decision: decisionId, usage: { input_tokens: 100, output_tokens: 50 }, usd, status: 200, aborted: false, duration_ms: null, is_error: null, tool_calls: 0, tool_names: [] };
}

/** A fixed clock that advances one second per call, so record times are predictable. */
export function steppingClock(start = Date.parse('2026-01-01T00:00:00Z'), stepMs = 1000): () => number {
  let t = start - stepMs;
  return () => (t += stepMs);
}
