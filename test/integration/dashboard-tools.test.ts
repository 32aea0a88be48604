// The dashboard's Tools section in a browser, driven in Debian's chromium with playwright-core:
// `tollgate serve` fronting the reference MCP server, real tools/calls through the gateway with
// the official MCP SDK client (allowed ones, one refused by the tools entitlement, one by a
// tool_calls limit), and the page showing them per agent, per server and tool, the refusals by
// tool, person and rule, and no approvals waiting; no argument of a call reaches the page, and every
// table stays inside its column in a narrow pane. Needs `npm run build` (it runs dist/cli.js).

import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_TOKEN_FILE } from '../../src/contracts/admin';
import { agentKey } from '../../src/engine/divergence/suspension';
import { FileSuspensionRegistry } from '../../src/store/suspensions/file-registry';
import { dashboardPage, launchBrowser } from '../e2e/workbench';
import { EVERYTHING_BIN, httpClient, mcpBundle } from '../helpers/mcp';
import { CLI, startServe } from '../helpers/serve-process';
import type { ServeProcess } from '../helpers/serve-process';
import { makeKey } from '../unit/scan/keys';

const repo = path.resolve(__dirname, '..', '..');
// Screenshots go to docs/images only when asked, so a test run never dirties the tree.
const screenshotDir = process.env.TOLLGATE_UPDATE_SCREENSHOTS === '1' ? path.join(repo, 'docs', 'images') : undefined;

/** A long person and agent name, as a team's real ones can be: the tables must wrap them, not overflow. */
const ALICE = 'alice.longname-for-the-dashboard@platform-engineering.acme.dev';
const AGENT = 'claude-code-on-the-build-machine';
/** A key-shaped string built at run time, sent as a tool call's argument: it must never reach the page. */
const SECRET = makeKey.openAiProject();

function tokenFor(dataDir: string, user: string, agent: string): string {
  return execFileSync(process.execPath, [CLI, 'token', '--user', user, '--agent', agent, '--data-dir', dataDir], { encoding: 'utf8' }).trim();
}

async function refusalOf(p: Promise<unknown>): Promise<McpError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof McpError, `expected the call to be refused, got ${String(err)}`);
  return err;
}

describe('the dashboard in a browser: tools (tollgate serve + MCP SDK + chromium)', function () {
  this.timeout(180_000);
  let dataDir: string;
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;
  let alice: Client;
  const violations: string[] = [];

  before(async function () {
    this.timeout(15 * 60_000); // the first run on a machine installs chromium
    if (!process.env.TOLLGATE_CHROMIUM) execFileSync('bash', [path.join(repo, 'scripts', 'install-editor-deps.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-tools-browser-'));
    const policy = path.join(dataDir, 'tollgate.yaml');
    fs.writeFileSync(policy, mcpBundle({
      // Two tool calls per agent, and one more an hour: the third call is refused whatever the machine's pace.
      limits: ['  - id: tool-burst', '    per: agent', '    algorithm: token-bucket', '    rate: 1/h', '    burst: 2', '    cost: tool_calls', '    when: { tool: "mcp__everything__*" }'].join('\n'),
      tools: ['  default:', '    allow: [mcp__everything__echo, mcp__everything__get-sum]', '  roles:', '    ml-engineers: { allow: ["*"] }'].join('\n'),
      mcp: ['  servers:', `    everything: { command: [${JSON.stringify(EVERYTHING_BIN)}, stdio] }`].join('\n'),
    }));
    // alice's runaway agent, suspended by guards.divergence before this proxy started (a proxy reads
    // the suspensions it did not make itself when it starts, or through the team's Redis).
    await FileSuspensionRegistry.inDataDir(dataDir).suspend({
      key: agentKey(ALICE, 'runner'), per: 'agent', user: ALICE, agent: 'runner',
      guard: 'divergence', measure: 'calls', recent: 400, baseline: 4, threshold: 40, ratio: 100, since: new Date().toISOString(),
    });
    serve = await startServe(['--data-dir', dataDir, '--policy', policy]);
    alice = await httpClient(serve.url, 'everything', tokenFor(dataDir, ALICE, AGENT), AGENT);
    browser = await launchBrowser();
    page = await dashboardPage(browser, violations);
  });

  after(async function () {
    this.timeout(30_000);
    await alice?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    if (serve) {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows no tool calls and no approvals waiting before any call', async () => {
    await page.goto(`${serve.url}/_tollgate/`);
    await page.fill('#token', fs.readFileSync(path.join(dataDir, ADMIN_TOKEN_FILE), 'utf8').trim());
    await page.click('button[type="submit"]');
    const tools = page.locator('[data-testid="tools"]');
    await tools.waitFor({ timeout: 15_000 });
    assert.match((await page.locator('[data-testid="tools-agent"]').textContent()) ?? '', /No tool calls yet/);
    assert.match((await page.locator('[data-testid="tool-refusals"]').textContent()) ?? '', /No refused tool calls/);
    assert.match((await page.locator('[data-testid="approvals"]').textContent()) ?? '', /No approvals waiting/);
  });

  it('counts the calls made through the gateway per agent, server and tool, and names each refusal, live', async () => {
    await page.evaluate(() => ((window as unknown as { sameLoad: boolean }).sameLoad = true));
    await alice.callTool({ name: 'echo', arguments: { message: `deploy with ${SECRET}` } });
    await alice.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } });
    const burst = await refusalOf(alice.callTool({ name: 'echo', arguments: { message: 'once more' } }));
    const entitlement = await refusalOf(alice.callTool({ name: 'get-env', arguments: {} }));
    const burstId = (burst.data as { decision: string }).decision;
    const entitlementId = (entitlement.data as { decision: string }).decision;
    assert.deepEqual([(burst.data as { rule: string }).rule, (entitlement.data as { rule: string }).rule], ['tool-burst', 'tools']);

    const refusals = page.locator('[data-testid="tool-refusals"]');
    await refusals.locator(`tr.tool-refusal[data-decision-id="${entitlementId}"]`).waitFor({ timeout: 15_000 });
    const cells = async (row: string): Promise<string[]> => (await page.locator(row).first().locator('td').allTextContents()).map((t) => t.trim());
    assert.deepEqual((await cells(`tr.tool-refusal[data-decision-id="${entitlementId}"]`)).slice(1), [`${ALICE} / ${AGENT}`, 'mcp__everything__get-env', 'tools', '403']);
    assert.deepEqual((await cells(`tr.tool-refusal[data-decision-id="${burstId}"]`)).slice(1, 4), [`${ALICE} / ${AGENT}`, 'mcp__everything__echo', 'tool-burst']);

    // Four calls today and in the window, two of them refused; no model asked for a tool.
    assert.deepEqual(await cells('[data-testid="tools-agent"] tr.tool-agent'), [`${ALICE}/${AGENT}`, '4', '2', '4', '2', '0']);
    assert.deepEqual(await cells('[data-testid="tools-server"] tr.tool-server[data-server="everything"]'), ['everything', '4', '2', '4', '2']);
    const perTool = await page.locator('[data-testid="tools-server"] tr.tool-of-server').evaluateAll((rows) => rows.map((r) => Array.from(r.querySelectorAll('td'), (td) => td.textContent?.trim())));
    assert.deepEqual(perTool, [['echo', '2', '1', '2', '1'], ['get-env', '1', '1', '1', '1'], ['get-sum', '1', '', '1', '']]);
    assert.match((await page.locator('[data-testid="approvals"]').textContent()) ?? '', /No approvals waiting/);
    assert.equal(await page.evaluate(() => (window as unknown as { sameLoad?: boolean }).sameLoad), true, 'the page was not reloaded');
    assert.ok(!((await page.content()).includes(SECRET)), "no call's arguments reach the page");
    if (screenshotDir) await page.locator('[data-testid="tools"]').screenshot({ path: path.join(screenshotDir, 'browser-tools.png') });
  });

  it('keeps every table inside its column in a narrow pane (an editor with its side bar open)', async () => {
    for (const width of [700, 420]) {
      await page.setViewportSize({ width, height: 1000 });
      await page.locator('[data-testid="spend-agent"] td', { hasText: ALICE }).first().waitFor({ timeout: 15_000 });
      const overflowing = await page.locator('.columns > section').evaluateAll((sections) =>
        sections
          .map((s) => {
            const table = s.querySelector('table');
            const box = s.getBoundingClientRect();
            const main = s.closest('main')!.getBoundingClientRect();
            return { id: s.getAttribute('data-testid'), table: table ? table.getBoundingClientRect().right - box.right : 0, section: box.right - main.right };
          })
          .filter((o) => o.table > 1 || o.section > 1),
      );
      assert.deepEqual(overflowing, [], `at ${width}px`);
    }
  });

  it('lists a suspended agent, whose tool calls are refused, and lifts it with Resume', async () => {
    const runner = await httpClient(serve.url, 'everything', tokenFor(dataDir, ALICE, 'runner'), 'runner');
    try {
      const refused = await refusalOf(runner.callTool({ name: 'echo', arguments: { message: 'still looping' } }));
      assert.equal((refused.data as { rule?: string }).rule, 'divergence');
      const row = page.locator(`[data-testid="suspensions"] tr.suspension[data-key="${agentKey(ALICE, 'runner')}"]`);
      await row.waitFor({ timeout: 15_000 });
      assert.match((await row.textContent()) ?? '', /divergence.*400 calls in the window \(100\.0x its usual 4\); threshold 40/);
      if (screenshotDir) await page.locator('[data-testid="suspensions"]').screenshot({ path: path.join(screenshotDir, 'dashboard-suspended.png') });
      await row.locator('[data-testid="resume"]').click();
      const answer = page.locator('[data-testid="suspensions"] [data-testid="resume-answer"]');
      await answer.waitFor({ timeout: 15_000 });
      assert.match((await answer.textContent()) ?? '', /resumed agent:/);
      await page.locator('[data-testid="suspensions"]', { hasText: 'Nobody is suspended.' }).waitFor({ timeout: 15_000 });
      const echoed = await runner.callTool({ name: 'echo', arguments: { message: 'back' } });
      assert.match(JSON.stringify(echoed.content), /Echo: back/);
    } finally {
      await runner.close().catch(() => undefined);
    }
  });

  it('raised no CSP violation', async () => {
    const inPage = await page.evaluate(() => (window as unknown as { cspViolations?: string[] }).cspViolations ?? []);
    assert.deepEqual([...violations, ...inPage], []);
    assert.ok(!serve.stderr().includes(SECRET), 'no argument is logged');
  });
});
