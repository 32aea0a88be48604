// Approval gates in a real editor: the packaged extension in a fresh code-server, the workbench in
// Debian's chromium, and a bundle that serves server-everything (stdio) through the editor's proxy
// with its `echo` tool under tools.approval. The test is the agent: the official MCP SDK client over
// Streamable HTTP to the proxy's /mcp/everything with a session token minted from the proxy's data
// dir. Each tools/call waits for the person; the test answers in the modal as they would. Installs
// code-server and chromium on first use (minutes). Needs `npm run build`.

import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Locator, Page } from 'playwright-core';
import { ADMIN_PREFIX, ADMIN_TOKEN_FILE } from '../../src/contracts/admin';
import type { AuditRecord, DecisionRecord } from '../../src/contracts/audit-records';
import type { HealthResponse } from '../../src/contracts/admin';
import type { ApprovalRecord, PendingApprovalsResponse } from '../../src/contracts/approvals';
import { APPROVALS_PATH } from '../../src/contracts/approvals';
import { prepareEditorRun, stopEditorRun } from '../e2e/code-server';
import type { PreparedEditorRun } from '../e2e/code-server';
import { EDITOR_USER, editorPolicy } from '../editor/workspace';
import { CLI, EVERYTHING_BIN, httpClient, mcpRefusal } from '../helpers/mcp';
import { eventually } from '../helpers/poll';
import { makeKey } from '../unit/scan/keys';

const repo = path.resolve(__dirname, '..', '..');
// Screenshots go to docs/images only when asked, so a test run never dirties the tree.
const screenshotDir = process.env.TOLLGATE_UPDATE_SCREENSHOTS === '1' ? path.join(repo, 'docs', 'images') : undefined;
const AGENT = 'claude-code';
/** A key-shaped string built at run time: the agent passes it to the tool; the person must never see it. */
const FAKE_KEY = makeKey.openAiProject();
/** A tools/call waits for the person as long as the test needs; the proxy's wait decides, not the client's. */
const CALL_WAIT_MS = 15 * 60_000;
/** The bundle that waits briefly, for the case nobody answers. */
const SHORT_WAIT = { name: 'editor-approval-short-wait', timeout: '10s' };

/**
 * The editor tests' bundle, plus server-everything over stdio with `echo` under tools.approval. The
 * person gets the longest wait the bundle allows, so a slow machine never answers too late.
 */
function approvalBundle(upstream: string, o: { name?: string; timeout?: string } = {}): string {
  const base = editorPolicy(upstream).replace(/^name: .*$/m, `name: ${o.name ?? 'editor-approval'}`);
  return `${base}tools:
  default:
    allow: ["mcp__everything__*"]
  approval: [mcp__everything__echo]
  approval_timeout: ${o.timeout ?? '10m'}
mcp:
  servers:
    everything: { command: [${JSON.stringify(EVERYTHING_BIN)}, stdio] }
`;
}

describe('approval gates in a real editor: the modal (code-server + chromium)', function () {
  const run: PreparedEditorRun = {};
  let page: Page;
  let agent: Client;
  let token: string;

  async function admin<T>(route: string): Promise<T | undefined> {
    const file = path.join(run.dataDir!, ADMIN_TOKEN_FILE);
    if (!fs.existsSync(file)) return undefined;
    const res = await fetch(`${run.proxyUrl}${ADMIN_PREFIX}${route}`, { headers: { authorization: `Bearer ${fs.readFileSync(file, 'utf8').trim()}` } }).catch(() => undefined);
    return res?.ok ? ((await res.json()) as T) : undefined;
  }

  /** The editor registers as the person's approver once its proxy runs: until then a call is refused at once. */
  async function approverListening(): Promise<void> {
    await eventually(async () => ((await admin<PendingApprovalsResponse>(APPROVALS_PATH))?.approvers ?? 0) >= 1, 'the editor to approve for its person', 240_000, 500);
  }

  /** The modal once it asks about this call (by the argument the agent sent). */
  async function modalAsking(marker: string): Promise<Locator> {
    const dialog = page.locator('.monaco-dialog-box', { hasText: marker });
    await dialog.waitFor({ timeout: 120_000 });
    return dialog;
  }

  function echo(message: string): Promise<unknown> {
    return agent.callTool({ name: 'echo', arguments: { message } }, undefined, { timeout: CALL_WAIT_MS });
  }

  before(async function () {
    this.timeout(15 * 60_000); // the first run on a machine installs chromium and code-server
    const prepared = await prepareEditorRun(run, {
      name: 'editor-approval',
      workspace: (dir, upstream) => {
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, 'tollgate.yaml'), approvalBundle(upstream));
      },
    });
    page = prepared.page;
    await page.waitForFunction(() => Array.from(document.querySelectorAll('.statusbar-item')).some((e) => /Tollgate \$\d/.test(e.textContent ?? '')), undefined, { timeout: 240_000 });
    await approverListening();
    token = execFileSync(process.execPath, [CLI, 'token', '--user', EDITOR_USER, '--agent', AGENT, '--data-dir', prepared.dataDir], { encoding: 'utf8' }).trim();
    agent = await httpClient(prepared.proxyUrl, 'everything', token);
  });

  after(async function () {
    this.timeout(60_000);
    await agent?.close().catch(() => undefined);
    await stopEditorRun(run);
  });

  it('asks in a modal naming who asks, the tool and its redacted arguments; Allow Once lets the call through', async function () {
    this.timeout(300_000);
    const call = echo(`ship it with ${FAKE_KEY}`);
    const dialog = await modalAsking('ship it with');
    const text = await dialog.innerText();
    for (const shown of [`${AGENT} (${EDITOR_USER}) wants to call echo on the MCP server everything`, `Who asks: ${EDITOR_USER}, agent ${AGENT}, session `, 'Tool: mcp__everything__echo', 'Arguments (redacted): {"message":"ship it with ', 'Unanswered, the call is refused in ']) {
      assert.ok(text.includes(shown), `the modal shows ${JSON.stringify(shown)}:\n${text}`);
    }
    assert.ok(!text.includes(FAKE_KEY), `the modal never shows the key:\n${text}`);
    for (const button of ['Allow Once', 'Allow for This Session', 'Deny']) await dialog.getByRole('button', { name: button, exact: true }).waitFor({ timeout: 5_000 });
    if (screenshotDir) await page.screenshot({ path: path.join(screenshotDir, 'approval-modal.png') });

    await dialog.getByRole('button', { name: 'Allow Once', exact: true }).click();
    const result = (await call) as { content: { type: string; text: string }[]; isError?: boolean };
    assert.notEqual(result.isError, true);
    assert.equal(result.content[0]?.type, 'text');
    assert.ok(result.content[0]?.text.startsWith('Echo: ship it with '), 'the tool’s own result reaches the agent');
    await dialog.waitFor({ state: 'hidden', timeout: 30_000 });
  });

  it('Deny refuses the call with the JSON-RPC error naming tools.approval', async function () {
    this.timeout(300_000);
    const call = mcpRefusal(echo('please delete everything'));
    const dialog = await modalAsking('please delete everything');
    await dialog.getByRole('button', { name: 'Deny', exact: true }).click();
    const err = await call;
    assert.equal((err.data as { rule?: string }).rule, 'tools.approval');
    assert.match(err.message, new RegExp(`${EDITOR_USER.replace(/\./g, '\\.')} denied this call of tool 'mcp__everything__echo'`));
    await dialog.waitFor({ state: 'hidden', timeout: 30_000 });
  });

  it('Allow for This Session lets that MCP session call the tool again unasked; another session is asked again', async function () {
    this.timeout(300_000);
    const session = await httpClient(run.proxyUrl!, 'everything', token);
    const other = await httpClient(run.proxyUrl!, 'everything', token);
    try {
      const first = session.callTool({ name: 'echo', arguments: { message: 'first of the session' } }, undefined, { timeout: CALL_WAIT_MS });
      const dialog = await modalAsking('first of the session');
      await dialog.getByRole('button', { name: 'Allow for This Session', exact: true }).click();
      await first;
      await dialog.waitFor({ state: 'hidden', timeout: 30_000 });
      // Admitted without a question: the call returns though nobody clicks anything.
      const again = (await session.callTool({ name: 'echo', arguments: { message: 'second of the session' } }, undefined, { timeout: CALL_WAIT_MS })) as { content: { text: string }[] };
      assert.equal(again.content[0]?.text, 'Echo: second of the session');
      const elsewhere = mcpRefusal(other.callTool({ name: 'echo', arguments: { message: 'from another session' } }, undefined, { timeout: CALL_WAIT_MS }));
      await (await modalAsking('from another session')).getByRole('button', { name: 'Deny', exact: true }).click();
      assert.equal(((await elsewhere).data as { rule?: string }).rule, 'tools.approval');
    } finally {
      await session.close().catch(() => undefined);
      await other.close().catch(() => undefined);
    }
  });

  it('refuses the call once nobody answers in time, and tells a person who answers late that it was refused', async function () {
    this.timeout(600_000);
    // The bundle edited on disk, as a person would: the editor puts it in force, the proxy waits 10 s from now on.
    fs.writeFileSync(path.join(run.workspace!, 'tollgate.yaml'), approvalBundle(run.mock!.url, SHORT_WAIT));
    await eventually(async () => (await admin<HealthResponse>('/health'))?.policy.name === SHORT_WAIT.name, 'the bundle with the short wait to be in force', 180_000, 500);
    await approverListening();
    // A new MCP session, in case the proxy was restarted to take the bundle.
    await agent.close().catch(() => undefined);
    agent = await httpClient(run.proxyUrl!, 'everything', token);

    const call = mcpRefusal(echo('nobody is looking'));
    const dialog = await modalAsking('nobody is looking');
    const err = await call;
    assert.equal((err.data as { rule?: string }).rule, 'tools.approval');
    assert.match(err.message, /no one approved tool 'mcp__everything__echo' within 10s \(tools\.approval_timeout\)/);
    assert.deepEqual((await admin<PendingApprovalsResponse>(APPROVALS_PATH))?.pending, [], 'nothing waits any more');

    // The modal cannot be taken back; answered now, it changes nothing, and the person is told.
    await dialog.getByRole('button', { name: 'Allow Once', exact: true }).click();
    const told = page.locator('.notification-toast', { hasText: 'nobody answered in time' });
    await told.waitFor({ timeout: 60_000 });
    assert.match(await told.innerText(), /too late, the call of echo on everything by claude-code \(dev@example\.test\) was already refused/);
  });

  it('leaves in the ledger who answered each call: the person for each click, the session for its unasked call, none for the timeout', async function () {
    this.timeout(120_000);
    const expected: ApprovalRecord[] = [
      { outcome: 'allowed', by: EDITOR_USER, via: 'person' }, // Allow Once
      { outcome: 'denied', by: EDITOR_USER, via: 'person' }, // Deny
      { outcome: 'allowed', by: EDITOR_USER, via: 'person' }, // Allow for This Session
      { outcome: 'allowed', by: 'session', via: 'session' }, // that session's next call
      { outcome: 'denied', by: EDITOR_USER, via: 'person' }, // another session, denied
      { outcome: 'timeout', by: null, via: null }, // nobody answered
    ];
    // The proxy keeps running: read its ledger until the last record is on disk.
    const approvals = (): (ApprovalRecord | null | undefined)[] => {
      const out = execFileSync(process.execPath, [CLI, 'audit', 'export', '--format', 'jsonl', '--data-dir', run.dataDir!], { encoding: 'utf8' });
      const records = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditRecord);
      return records.filter((r): r is DecisionRecord => r.kind === 'decision' && r.provider === 'mcp' && r.approval != null).map((d) => d.approval);
    };
    await eventually(() => approvals().length >= expected.length, 'every approval in the ledger', 60_000, 500);
    assert.deepEqual(approvals(), expected);
  });
});
