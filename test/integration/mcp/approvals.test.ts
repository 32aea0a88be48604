import { strict as assert } from 'node:assert';
import { generateKeyPairSync } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ApprovalResolution, PendingApproval, PendingApprovalsResponse } from '../../../src/contracts/approvals';
import { APPROVAL_TOKEN_HEADER } from '../../../src/contracts/approvals';
import type { AuditRecord, DecisionRecord } from '../../../src/contracts/audit-records';
import { mintApprovalToken } from '../../../src/engine/identity/approval-token';
import { keyId, mintSessionToken } from '../../../src/engine/identity/tokens';
import { loadSessionKeys } from '../../../src/store/session-key';
import { runTollgate } from '../../helpers/cli';
import { CLI, EVERYTHING_BIN, mcpBundle, mcpRefusal } from '../../helpers/mcp';
import { eventually } from '../../helpers/poll';
import { startTestProxy } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';

// Approval gates with the official SDK client through the gateway against server-everything: no
// approver (refused at once), an approver reading the admin event stream as the editor does
// (allow once, allow for the session, deny, timeout, a client that gives up), approval rules and
// approval tokens, and the ledger's account of each. The bridge test needs `npm run build`.

const REFUSED = -32041;
const GET_ENV = 'mcp__everything__get-env';
/** Long enough that no test here waits for it, however slow the machine; one test shortens it. */
const LONG_TIMEOUT = '10m';

function bundle(timeout: string): string {
  return mcpBundle({
    tools: [
      '  default:',
      '    allow: ["mcp__everything__*"]',
      '  approval: ["mcp__everything__get-env", "mcp__everything__get-sum"]',
      `  approval_timeout: ${timeout}`,
      '  approval_rules:',
      '    - { id: ops-sum, tool: mcp__everything__get-sum, users: [ops@acme.dev] }',
    ].join('\n'),
    mcp: ['  servers:', `    everything: { command: [${JSON.stringify(EVERYTHING_BIN)}, stdio] }`].join('\n'),
  });
}

/** A reader of the admin event stream that says it asks a person, as the editor's is. */
class ApproverStream {
  readonly pending: PendingApproval[] = [];
  readonly resolved: ApprovalResolution[] = [];
  private readonly abort = new AbortController();
  private done?: Promise<void>;

  static async open(proxy: TestProxy, name: string): Promise<ApproverStream> {
    const s = new ApproverStream();
    const r = await fetch(`${proxy.url}/_tollgate/events?approver=${encodeURIComponent(name)}`, { headers: { authorization: `Bearer ${proxy.running.adminToken}` }, signal: s.abort.signal });
    assert.equal(r.status, 200);
    s.done = s.read(r.body!.getReader());
    return s;
  }

  private async read(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let text = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = text.indexOf('\n\n')) >= 0) {
          const block = text.slice(0, end);
          text = text.slice(end + 2);
          const type = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (type === 'approval') this.pending.push(JSON.parse(data!) as PendingApproval);
          if (type === 'approval-resolved') this.resolved.push(JSON.parse(data!) as ApprovalResolution);
        }
      }
    } catch {
      // Closed by the test.
    }
  }

  /** The next call announced for this person and tool, after the `seen` first ones. */
  async next(user: string, toolName: string, seen: number): Promise<PendingApproval> {
    return eventually(() => this.pending.slice(seen).find((p) => p.user === user && p.toolName === toolName), `an approval request for ${toolName} by ${user}`, 60_000);
  }

  async resolution(id: string): Promise<ApprovalResolution> {
    return eventually(() => this.resolved.find((r) => r.id === id), `the resolution of ${id}`, 60_000);
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}

describe('MCP approval gates: the SDK client through the gateway', function () {
  this.timeout(240_000);
  let proxy: TestProxy;
  const clients: Client[] = [];
  let grantedId = '';

  before(async () => {
    proxy = await startTestProxy('http://127.0.0.1:9', { policyText: bundle(LONG_TIMEOUT) });
  });

  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await proxy?.stop();
  });

  async function client(user: string, o: { approval?: string; agent?: string } = {}): Promise<Client> {
    const token = await proxy.token(user, { agent: o.agent ?? 'claude-code' });
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (o.approval) headers[APPROVAL_TOKEN_HEADER] = o.approval;
    const c = new Client({ name: 'tollgate-approval-test', version: '1.0.0' });
    await c.connect(new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp/everything`), { requestInit: { headers } }));
    clients.push(c);
    return c;
  }

  function admin(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${proxy.url}/_tollgate${path}`, { ...init, headers: { authorization: `Bearer ${proxy.running.adminToken}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
  }

  async function answer(id: string, body: unknown): Promise<Response> {
    return admin(`/approvals/${id}`, { method: 'POST', body: JSON.stringify(body) });
  }

  async function listed(): Promise<PendingApprovalsResponse> {
    return (await (await admin('/approvals')).json()) as PendingApprovalsResponse;
  }

  async function grant(args: string[]): Promise<string> {
    const r = await runTollgate(['mcp', 'grant', ...args, '--data-dir', proxy.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    grantedId = /approval token (\S+):/.exec(r.stderr)![1]!;
    assert.ok(!r.stderr.includes(r.stdout.trim()), 'the token is printed on stdout only');
    return r.stdout.trim();
  }

  describe('with no approver listening', () => {
    it('refuses at once with a JSON-RPC error naming tools.approval and how to allow it', async () => {
      assert.equal((await listed()).approvers, 0);
      const alice = await client('alice@acme.dev');
      const err = await mcpRefusal(alice.callTool({ name: 'get-env', arguments: {} }));
      assert.equal(err.code, REFUSED);
      assert.equal((err.data as { rule: string }).rule, 'tools.approval');
      assert.equal((err.data as { tool: string }).tool, GET_ENV);
      assert.match(err.message, /needs a person's approval for each call \(tools\.approval\), and no one can approve it here/);
      assert.match(err.message, /tools\.approval_rules/);
      assert.match(err.message, /tollgate mcp grant --tool mcp__everything__get-env --user alice@acme\.dev/);
      assert.deepEqual((await listed()).pending, []);
    });

    it('admits a call an approval rule covers, and only for whom it names', async () => {
      const ops = await client('ops@acme.dev');
      const sum = await ops.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } });
      assert.match(JSON.stringify(sum.content), /5/);
      const alice = await client('alice@acme.dev');
      assert.equal((await mcpRefusal(alice.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } }))).code, REFUSED);
    });

    it('admits a call an approval token from tollgate mcp grant covers; refuses another tool, person, an expired or forged token', async () => {
      const token = await grant(['--tool', 'mcp__everything__get-env', '--user', 'alice@acme.dev', '--ttl', '5m']);
      const alice = await client('alice@acme.dev', { approval: token });
      const env = await alice.callTool({ name: 'get-env', arguments: {} });
      assert.equal(env.isError ?? false, false);
      // The same token does not cover another tool under approval...
      const other = await mcpRefusal(alice.callTool({ name: 'get-sum', arguments: { a: 1, b: 1 } }));
      assert.match(other.message, /the approval token sent does not allow it: it approves 'mcp__everything__get-env', not 'mcp__everything__get-sum'/);
      // ...nor another person who presents it.
      const bob = await client('bob@acme.dev', { approval: token });
      assert.match((await mcpRefusal(bob.callTool({ name: 'get-env', arguments: {} }))).message, /granted to another person/);
      const keys = loadSessionKeys(proxy.dataDir);
      const expired = await mintApprovalToken(keys, { user: 'alice@acme.dev', tool: GET_ENV, ttlMs: 60_000, now: Date.now() - 3_600_000 });
      assert.match((await mcpRefusal((await client('alice@acme.dev', { approval: expired })).callTool({ name: 'get-env', arguments: {} }))).message, /it has expired/);
      const stranger = generateKeyPairSync('ed25519');
      const forged = await mintApprovalToken({ ...stranger, kid: keys.kid }, { user: 'alice@acme.dev', tool: GET_ENV, ttlMs: 60_000, now: Date.now() });
      assert.match((await mcpRefusal((await client('alice@acme.dev', { approval: forged })).callTool({ name: 'get-env', arguments: {} }))).message, /signature does not verify/);
      const unknownKey = await mintApprovalToken({ ...stranger, kid: keyId(stranger.publicKey) }, { user: 'alice@acme.dev', tool: GET_ENV, ttlMs: 60_000, now: Date.now() });
      assert.match((await mcpRefusal((await client('alice@acme.dev', { approval: unknownKey })).callTool({ name: 'get-env', arguments: {} }))).message, /signing key this proxy does not have/);
    });

    it('refuses a session token sent as an approval token', async () => {
      const session = await mintSessionToken(loadSessionKeys(proxy.dataDir), { user: 'alice@acme.dev', ttlMs: 600_000, now: Date.now() });
      const alice = await client('alice@acme.dev', { approval: session });
      const err = await mcpRefusal(alice.callTool({ name: 'get-env', arguments: {} }));
      assert.equal((err.data as { rule: string }).rule, 'tools.approval');
      assert.match(err.message, /it is not an approval token/);
    });

    it('refuses an approval token once it is revoked', async () => {
      const token = await grant(['--tool', 'mcp__everything__*', '--user', 'carol@acme.dev']);
      const carol = await client('carol@acme.dev', { approval: token });
      await carol.callTool({ name: 'get-env', arguments: {} });
      const revoked = await runTollgate(['token', 'revoke', '--id', grantedId, '--data-dir', proxy.dataDir]);
      assert.equal(revoked.code, 0, revoked.stderr);
      const err = await mcpRefusal(carol.callTool({ name: 'get-env', arguments: {} }));
      assert.match(err.message, /the approval token sent does not allow it: it is refused/);
    });

    it('forwards $TOLLGATE_APPROVAL from tollgate mcp bridge', async () => {
      const token = await grant(['--tool', GET_ENV, '--user', 'dave@acme.dev']);
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [CLI, 'mcp', 'bridge', '--server', 'everything', '--url', proxy.url],
        env: { PATH: process.env.PATH ?? '', TOLLGATE_TOKEN: await proxy.token('dave@acme.dev'), TOLLGATE_APPROVAL: token },
        stderr: 'pipe',
      });
      const dave = new Client({ name: 'tollgate-bridge-approval-test', version: '1.0.0' });
      await dave.connect(transport);
      clients.push(dave);
      const env = await dave.callTool({ name: 'get-env', arguments: {} });
      assert.equal(env.isError ?? false, false);
    });
  });

  describe('with an approver listening on the event stream', () => {
    let approver: ApproverStream;

    before(async () => {
      approver = await ApproverStream.open(proxy, 'editor (alice)');
      await eventually(async () => (await listed()).approvers === 1, 'the approver to be counted', 60_000);
    });

    after(async () => {
      await approver?.close();
    });

    it('admits exactly the call a person allows once; a second answer is 409 and the next call asks again', async () => {
      const alice = await client('alice@acme.dev');
      const seen = approver.pending.length;
      const call = alice.callTool({ name: 'get-env', arguments: {} });
      const asked = await approver.next('alice@acme.dev', GET_ENV, seen);
      assert.equal(asked.agent, 'claude-code');
      assert.equal(asked.server, 'everything');
      assert.equal(asked.tool, 'get-env');
      assert.deepEqual((await listed()).pending.map((p) => p.id), [asked.id]);
      const r = await answer(asked.id, { answer: 'allow-once', by: 'alice@acme.dev' });
      assert.equal(r.status, 200);
      assert.deepEqual(await r.json(), { ok: true, resolution: { id: asked.id, outcome: 'allowed', by: 'alice@acme.dev', scope: 'once' } });
      assert.equal((await call).isError ?? false, false);
      assert.deepEqual(await approver.resolution(asked.id), { id: asked.id, outcome: 'allowed', by: 'alice@acme.dev', scope: 'once' });
      const twice = await answer(asked.id, { answer: 'deny', by: 'mallory' });
      assert.equal(twice.status, 409);
      assert.equal(((await twice.json()) as { reason: string }).reason, 'already-decided');

      const again = alice.callTool({ name: 'get-env', arguments: {} });
      const second = await approver.next('alice@acme.dev', GET_ENV, seen + 1);
      assert.equal((await answer(second.id, { answer: 'deny', by: 'bob@acme.dev' })).status, 200);
      const err = await mcpRefusal(again);
      assert.equal((err.data as { rule: string }).rule, 'tools.approval');
      assert.match(err.message, /bob@acme\.dev denied this call of tool 'mcp__everything__get-env'/);
    });

    it('admits later calls of a tool allowed for the session in that session only', async () => {
      const first = await client('erin@acme.dev');
      const seen = approver.pending.length;
      const call = first.callTool({ name: 'get-env', arguments: {} });
      const asked = await approver.next('erin@acme.dev', GET_ENV, seen);
      assert.equal((await answer(asked.id, { answer: 'allow-session', by: 'erin@acme.dev' })).status, 200);
      await call;
      // Asked of nobody: no answer is ever given to a second request, and the call still returns.
      const announced = approver.pending.length;
      assert.equal((await first.callTool({ name: 'get-env', arguments: {} })).isError ?? false, false);
      assert.equal(approver.pending.length, announced);
      // Another session of the same person is asked again.
      const second = await client('erin@acme.dev');
      const other = second.callTool({ name: 'get-env', arguments: {} });
      const askedAgain = await approver.next('erin@acme.dev', GET_ENV, announced);
      assert.equal((await answer(askedAgain.id, { answer: 'deny', by: 'erin@acme.dev' })).status, 200);
      await mcpRefusal(other);
    });

    it('gives up a call its client cancels: abandoned, and nothing is left pending', async () => {
      const frank = await client('frank@acme.dev');
      const seen = approver.pending.length;
      const cancel = new AbortController();
      const call = frank.callTool({ name: 'get-env', arguments: {} }, undefined, { signal: cancel.signal });
      const asked = await approver.next('frank@acme.dev', GET_ENV, seen);
      cancel.abort();
      await assert.rejects(call);
      assert.deepEqual(await approver.resolution(asked.id), { id: asked.id, outcome: 'abandoned', by: null, scope: null });
      assert.deepEqual((await listed()).pending, []);
      const late = await answer(asked.id, { answer: 'allow-once', by: 'frank@acme.dev' });
      assert.equal(late.status, 409);
    });

    it('refuses a call nobody answers within tools.approval_timeout', async () => {
      assert.equal(await proxy.running.server.reload(bundle('1s')), true);
      try {
        const gina = await client('gina@acme.dev');
        const seen = approver.pending.length;
        const err = await mcpRefusal(gina.callTool({ name: 'get-env', arguments: {} }));
        assert.equal((err.data as { rule: string }).rule, 'tools.approval');
        assert.match(err.message, /no one approved tool 'mcp__everything__get-env' within 1s/);
        const asked = approver.pending.slice(seen).find((p) => p.user === 'gina@acme.dev');
        assert.ok(asked);
        assert.equal((await approver.resolution(asked.id)).outcome, 'timeout');
        const late = await answer(asked.id, { answer: 'allow-once', by: 'gina@acme.dev' });
        assert.equal(late.status, 409);
        assert.equal(((await late.json()) as { reason: string }).reason, 'expired');
      } finally {
        assert.equal(await proxy.running.server.reload(bundle(LONG_TIMEOUT)), true);
      }
    });

    it('guards the answer route: admin token, known ids, bounded and well-formed bodies, a bounded approver name', async () => {
      const hank = await client('hank@acme.dev');
      const seen = approver.pending.length;
      const call = hank.callTool({ name: 'get-env', arguments: {} });
      const asked = await approver.next('hank@acme.dev', GET_ENV, seen);
      const noAdmin = await fetch(`${proxy.url}/_tollgate/approvals/${asked.id}`, { method: 'POST', headers: { authorization: `Bearer ${await proxy.token('hank@acme.dev')}` }, body: JSON.stringify({ answer: 'allow-once', by: 'hank' }) });
      assert.equal(noAdmin.status, 401);
      assert.equal((await answer('no-such-id', { answer: 'allow-once', by: 'x' })).status, 404);
      assert.equal((await answer('..%2F..%2Fstate', { answer: 'allow-once', by: 'x' })).status, 400);
      assert.equal((await answer(asked.id, { answer: 'allow-forever', by: 'x' })).status, 400);
      assert.equal((await answer(asked.id, { answer: 'allow-once', by: 'x\u0007y' })).status, 400);
      assert.equal((await answer(asked.id, { answer: 'allow-once', by: 'x', extra: 1 })).status, 400);
      assert.equal((await answer(asked.id, { answer: 'allow-once', by: 'x'.repeat(10_000) })).status, 413);
      assert.equal((await admin(`/approvals/${asked.id}`, { method: 'POST', body: '{not json' })).status, 400);
      assert.equal((await admin('/approvals', { method: 'DELETE' })).status, 405);
      const badName = await fetch(`${proxy.url}/_tollgate/events?approver=a%0Ab`, { headers: { authorization: `Bearer ${proxy.running.adminToken}` } });
      assert.equal(badName.status, 400);
      // Still waiting after all of that: only a proper answer decides it.
      assert.deepEqual((await listed()).pending.map((p) => p.id), [asked.id]);
      assert.equal((await answer(asked.id, { answer: 'deny', by: 'hank@acme.dev' })).status, 200);
      await mcpRefusal(call);
    });

    it(`holds at most 8 waiting calls of one session and refuses the next`, async () => {
      const ivan = await client('ivan@acme.dev');
      const seen = approver.pending.length;
      const calls = Array.from({ length: 8 }, () => ivan.callTool({ name: 'get-env', arguments: {} }).then(() => 'allowed', () => 'refused'));
      await eventually(() => approver.pending.slice(seen).filter((p) => p.user === 'ivan@acme.dev').length === 8, 'eight waiting calls', 60_000);
      const err = await mcpRefusal(ivan.callTool({ name: 'get-env', arguments: {} }));
      assert.match(err.message, /the most one session may have/);
      for (const p of (await listed()).pending) assert.equal((await answer(p.id, { answer: 'deny', by: 'ivan@acme.dev' })).status, 200);
      assert.deepEqual(await Promise.all(calls), Array(8).fill('refused'));
    });
  });

  // A suite of its own: mocha runs a suite's own tests before its nested suites, and this one runs last.
  describe('the ledger', () => {
    it('records who approved each call in a ledger audit verify accepts, and exports it', async () => {
      await proxy.stop();
      const exported = await runTollgate(['audit', 'export', '--format', 'jsonl', '--data-dir', proxy.dataDir]);
      assert.equal(exported.code, 0, exported.stderr);
      const records = exported.stdout.trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
      const decisions = records.filter((r): r is DecisionRecord => r.kind === 'decision' && r.provider === 'mcp');
      const approvals = (user: string): unknown[] => decisions.filter((d) => d.identity.user === user).map((d) => d.approval);
      assert.deepEqual(approvals('alice@acme.dev').filter((a) => a !== null && (a as { via: string | null }).via === 'person'), [
        { outcome: 'allowed', by: 'alice@acme.dev', via: 'person' },
        { outcome: 'denied', by: 'bob@acme.dev', via: 'person' },
      ]);
      assert.ok(approvals('alice@acme.dev').some((a) => JSON.stringify(a) === JSON.stringify({ outcome: 'denied', by: null, via: null })), 'the refusal with no approver');
      assert.ok(approvals('alice@acme.dev').some((a) => (a as { via?: string } | null)?.via === 'token' && (a as { outcome: string }).outcome === 'allowed'));
      assert.deepEqual(approvals('ops@acme.dev'), [{ outcome: 'allowed', by: 'rule:ops-sum', via: 'rule' }]);
      assert.deepEqual(approvals('erin@acme.dev'), [
        { outcome: 'allowed', by: 'erin@acme.dev', via: 'person' },
        { outcome: 'allowed', by: 'session', via: 'session' },
        { outcome: 'denied', by: 'erin@acme.dev', via: 'person' },
      ]);
      assert.deepEqual(approvals('frank@acme.dev'), [{ outcome: 'abandoned', by: null, via: null }]);
      assert.deepEqual(approvals('gina@acme.dev'), [{ outcome: 'timeout', by: null, via: null }]);
      const allowed = decisions.find((d) => d.identity.user === 'ops@acme.dev')!;
      assert.equal(allowed.outcome, 'allow');
      // A decision whose tool needs no approval carries approval: null, as every other record.
      assert.ok(records.filter((r) => r.kind === 'decision').every((r) => 'approval' in r));

      const verified = await runTollgate(['audit', 'verify', '--data-dir', proxy.dataDir]);
      assert.equal(verified.code, 0, verified.stderr + verified.stdout);
      const csv = await runTollgate(['audit', 'export', '--format', 'csv', '--data-dir', proxy.dataDir]);
      assert.equal(csv.code, 0, csv.stderr);
      const lines = csv.stdout.split('\r\n');
      assert.match(lines[0]!, /,tools_stripped,tool_calls,tool_names,approval\.outcome,approval\.by,approval\.via$/);
      assert.ok(lines.some((l) => l.endsWith(',allowed,rule:ops-sum,rule')));
    });
  });
});
