import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { DecisionRecord } from '../../../src/contracts/audit-records';
import { Replay } from '../../../src/simulate/replay';
import { parseTrafficLine } from '../../../src/simulate/traffic';
import { trafficLines } from '../../../src/store/ledger/export';
import { EVERYTHING_BIN, httpClient, mcpBundle } from '../../helpers/mcp';
import { policyFrom } from '../../helpers/policy';
import { startTestProxy } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';

// A gateway run's ledger, exported as traffic and replayed against the same bundle, comes to the
// same outcome, by the same rule, for every tools/call: what simulate says of a proposed bundle is
// what the gateway would have done.

describe('simulate replays the MCP calls of a gateway run as the gateway decided them', function () {
  this.timeout(120_000);
  let proxy: TestProxy;
  const clients: Client[] = [];

  before(async () => {
    const text = mcpBundle({
      // One tool call an hour refills: nothing refills within the test, whatever the machine's pace.
      limits: ['  - id: tool-burst', '    per: agent', '    algorithm: token-bucket', '    rate: 1/h', '    burst: 3', '    cost: tool_calls', '    when: { tool: "mcp__everything__*" }'].join('\n'),
      tools: ['  default:', '    allow: [mcp__everything__echo, mcp__everything__get-sum]', '  roles:', '    ml-engineers: { allow: ["*"] }'].join('\n'),
      mcp: ['  servers:', `    everything: { command: [${JSON.stringify(EVERYTHING_BIN)}, stdio] }`].join('\n'),
    });
    proxy = await startTestProxy('http://127.0.0.1:9', { policyText: text });
  });

  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await proxy?.stop();
  });

  async function client(user: string, agent: string, roles?: string[]): Promise<Client> {
    const c = await httpClient(proxy.url, 'everything', await proxy.token(user, { agent, roles }), agent);
    clients.push(c);
    return c;
  }

  it('exports every tools/call as a traffic line, and the replay refuses the same calls by the same rules', async () => {
    const alice = await client('alice@acme.dev', 'loop');
    const bob = await client('bob@acme.dev', 'shell', ['ml-engineers']);
    const outcomes: string[] = [];
    const callAs = async (c: Client, name: string, args: Record<string, unknown>): Promise<void> => {
      const r = await c.callTool({ name, arguments: args }).then(() => 'allow', () => 'refuse');
      outcomes.push(`${name} ${r}`);
    };
    for (let i = 0; i < 5; i++) await callAs(alice, 'echo', { message: `turn ${i}` });
    await callAs(alice, 'get-env', {});
    await callAs(bob, 'get-env', {});
    await callAs(bob, 'get-sum', { a: 1, b: 2 });
    assert.deepEqual(outcomes, ['echo allow', 'echo allow', 'echo allow', 'echo refuse', 'echo refuse', 'get-env refuse', 'get-env allow', 'get-sum allow']);

    const records = await proxy.records();
    const decisions = records.filter((r): r is DecisionRecord => r.kind === 'decision' && r.provider === 'mcp');
    assert.equal(decisions.length, 8);
    async function* fromLedger(): AsyncGenerator<(typeof records)[number]> {
      yield* records;
    }
    const lines: string[] = [];
    for await (const l of trafficLines(fromLedger())) if (l.provider === 'mcp') lines.push(JSON.stringify(l));
    assert.equal(lines.length, 8, 'every tools/call is a line');
    assert.deepEqual(JSON.parse(lines[0]!), { time: decisions[0]!.time, user: 'alice@acme.dev', agent: 'loop', roles: [], provider: 'mcp', server: 'everything', tool: 'echo' });

    const replay = new Replay(policyFrom(fs.readFileSync(proxy.policyPath, 'utf8')));
    const replayed: { outcome: string; rule: string | null }[] = [];
    for (const [i, text] of lines.entries()) {
      const r = await replay.step(parseTrafficLine(text, i + 1)!, i + 1);
      replayed.push({ outcome: r.outcome, rule: r.rule });
    }
    assert.deepEqual(replayed, decisions.map((d) => ({ outcome: d.outcome, rule: d.rule })));
    assert.deepEqual(decisions.map((d) => d.rule), [null, null, null, 'tool-burst', 'tool-burst', 'tools', null, null]);
  });
});
