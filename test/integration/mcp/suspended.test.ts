import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { DecisionRecord } from '../../../src/contracts/audit-records';
import { agentKey } from '../../../src/engine/divergence/suspension';
import { FileSuspensionRegistry } from '../../../src/store/suspensions/file-registry';
import { EVERYTHING_BIN, httpClient, mcpBundle } from '../../helpers/mcp';
import { MockUpstream } from '../../helpers/mock-upstream';
import { startTestProxy } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';

// A suspended identity (guards.divergence) is refused on its tool calls as on its model calls: a
// runaway agent stopped from spending must not go on acting through its tools. Another agent of
// the same person is not touched.

describe('MCP gateway: a suspended identity', function () {
  this.timeout(120_000);
  let mock: MockUpstream;
  let proxy: TestProxy;
  const clients: Client[] = [];

  before(async () => {
    mock = new MockUpstream();
    const upstream = await mock.start();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-mcp-suspended-'));
    await FileSuspensionRegistry.inDataDir(dataDir).suspend({
      key: agentKey('dev@acme.dev', 'runner'), per: 'agent', user: 'dev@acme.dev', agent: 'runner',
      guard: 'divergence', measure: 'calls', recent: 400, baseline: 4, threshold: 40, ratio: 100, since: '2026-11-27T09:00:00.000Z',
    });
    const text = mcpBundle({
      tools: ['  default:', '    allow: ["mcp__everything__echo"]'].join('\n'),
      mcp: `  servers:\n    everything: { command: [${JSON.stringify(EVERYTHING_BIN)}, stdio] }`,
    });
    proxy = await startTestProxy(upstream, { policyText: text, dataDir });
  });

  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await proxy?.stop();
    await mock?.stop();
  });

  it('refuses its tools/call naming the guard and how to resume, on record; another agent of the person calls the tool', async () => {
    const runner = await httpClient(proxy.url, 'everything', await proxy.token('dev@acme.dev', { agent: 'runner' }));
    const steady = await httpClient(proxy.url, 'everything', await proxy.token('dev@acme.dev', { agent: 'steady' }));
    clients.push(runner, steady);

    const err = await runner.callTool({ name: 'echo', arguments: { message: 'still here' } }).then(
      () => assert.fail('a suspended agent\'s tool call went through'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof McpError, String(err));
    assert.match(err.message, /suspended/);
    assert.match(err.message, /tollgate identity resume/);
    assert.equal((err.data as { rule?: string }).rule, 'divergence');

    const echoed = await steady.callTool({ name: 'echo', arguments: { message: 'fine' } });
    assert.match(JSON.stringify(echoed.content), /Echo: fine/);

    const decisions = (await proxy.records()).filter((r): r is DecisionRecord => r.kind === 'decision' && r.provider === 'mcp');
    assert.deepEqual(
      decisions.map((d) => ({ agent: d.identity.agent, outcome: d.outcome, rule: d.rule })),
      [{ agent: 'runner', outcome: 'refuse', rule: 'divergence' }, { agent: 'steady', outcome: 'allow', rule: null }],
    );
  });
});
