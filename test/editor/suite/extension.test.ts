// Runs inside VS Code (code-server here, @vscode/test-electron where VS Code can be downloaded)
// against the installed extension: its proxy, terminals, key diagnostics and policy guard.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { TollgateApi } from '../../../src/extension/extension';
import { facts } from '../index';
import { makeKey } from '../../unit/scan/keys';
import { APPROVE_NOW_FILE, DRIVER_ENV, EDITOR_MODEL, EDITOR_UPSTREAM_KEY } from '../workspace';
import { eventually } from '../../helpers/poll';

/** The editor's state changes on its own time: ask every 150 ms. */
const until = <T>(what: string, ms: number, probe: () => T | Promise<T>): ReturnType<typeof eventually<T>> => eventually(probe, what, ms, 150);

const workspace = (): string => {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('the editor suite needs a workspace folder');
  return folder.uri.fsPath;
};

// A key shaped like a real OpenAI project key, assembled at run time so no literal one is ever committed.
const plantedKey = (): string => makeKey.openAiProject();

/** Posts a chat completion from an integrated terminal, using only the environment Tollgate gave it. */
async function callFromTerminal(name: string): Promise<{ status: string; text: string }> {
  const out = path.join(workspace(), `${name}.json`);
  fs.rmSync(out, { force: true });
  const terminal = vscode.window.createTerminal({ name, cwd: workspace() });
  const body = JSON.stringify({ model: EDITOR_MODEL, messages: [{ role: 'user', content: 'hello from the terminal' }] });
  terminal.sendText(
    `curl -s -w '\\n%{http_code}' "$OPENAI_BASE_URL/chat/completions" -H "Authorization: Bearer $OPENAI_API_KEY" -H 'content-type: application/json' -d '${body}' > ${name}.part; mv ${name}.part ${name}.json`,
  );
  try {
    const text = await until(`${name}.json`, 30_000, () => fs.existsSync(out) && fs.readFileSync(out, 'utf8'));
    const lines = text.trim().split('\n');
    const status = lines.pop() ?? '';
    return { status, text: lines.join('\n') };
  } finally {
    terminal.dispose();
  }
}

/** Runs a chat completion from an integrated terminal and expects an answer. */
async function completionFromTerminal(name: string): Promise<Record<string, unknown>> {
  const { status, text } = await callFromTerminal(name);
  assert.equal(status, '200', `the proxy answered ${status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

describe('Tollgate in VS Code', function () {
  let api: TollgateApi;

  before(async function () {
    const ext = vscode.extensions.getExtension<TollgateApi>('tollgate.tollgate');
    assert.ok(ext, 'the Tollgate extension is installed');
    api = await ext.activate();
    facts.activationMs = Math.round(api.activationMs * 10) / 10;
    facts.loadAndActivateMs = Math.round(api.loadAndActivateMs * 10) / 10;
    await api.whenRunning(60_000);
    // The upstream key goes in the way a developer's does: the command, into SecretStorage.
    await vscode.commands.executeCommand('tollgate.setUpstreamKey', 'openai', EDITOR_UPSTREAM_KEY);
    await api.whenRunning(60_000);
  });

  it('asks before the stored key goes to the workspace’s own upstream host, and sends it only once allowed', async function () {
    this.timeout(180_000);
    const openai = (): ReturnType<TollgateApi['upstreamKeys']>[number] | undefined => api.upstreamKeys().find((k) => k.provider === 'openai');
    if (process.env[DRIVER_ENV] === 'code-server') {
      // The workspace's tollgate.yaml sends openai to the mock on 127.0.0.1: not api.openai.com.
      await until('the openai key to be withheld', 30_000, () => openai()?.verdict === 'unapproved');
      const withheld = await callFromTerminal('before-approval');
      assert.equal(withheld.status, '502', withheld.text);
      assert.match(withheld.text, /Approve Upstream Hosts/, 'the answer names what to do');
      // The modal is open; the driver answers it now.
      fs.writeFileSync(path.join(workspace(), APPROVE_NOW_FILE), 'openai');
    }
    await until('the host to be approved and the proxy to run with the key', 150_000, () => openai()?.verdict === 'approved' && api.proxyStatus().phase === 'running');
    await api.whenRunning(60_000);
  });

  it('registers its commands', async function () {
    const commands = await vscode.commands.getCommands(true);
    for (const id of ['tollgate.openDashboard', 'tollgate.scanWorkspace', 'tollgate.installHook', 'tollgate.setUpstreamKey', 'tollgate.restartProxy', 'tollgate.approveUpstreamHosts', 'tollgate.revokeUpstreamHosts']) {
      assert.ok(commands.includes(id), `${id} is registered`);
    }
  });

  it('answers through an integrated terminal’s environment and records the decision', async function () {
    const answer = await completionFromTerminal('terminal-answer');
    assert.ok(Array.isArray(answer.choices), `a chat completion came back: ${JSON.stringify(answer).slice(0, 300)}`);
    await api.whenDecisionSeen(EDITOR_MODEL, 15_000);
  });

  it('underlines a planted key and its quick fix moves it out of the file', async function () {
    const file = path.join(workspace(), 'planted.ts');
    const key = plantedKey();
    fs.writeFileSync(file, `// an accidental paste\nexport const client = { apiKey: "${key}" };\n`);
    const document = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(document);
    const diagnostic = await until('a key diagnostic', 15_000, () => vscode.languages.getDiagnostics(document.uri).find((d) => d.source === 'tollgate'));
    assert.equal(diagnostic.code, 'openai-project-key');
    assert.equal(diagnostic.range.start.line, 1);
    assert.ok(!diagnostic.message.includes(key), 'the diagnostic shows a redacted match only');

    // The editor's own code-action request for the new file can cancel ours: ask again until answered.
    const actions = await until('quick fixes', 15_000, () =>
      Promise.resolve(vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', document.uri, diagnostic.range, vscode.CodeActionKind.QuickFix.value)).then(
        (a) => a.length > 0 && a,
        () => undefined,
      ),
    );
    const titles = actions.map((a) => a.title);
    assert.ok(titles.some((t) => t.startsWith('Ignore this openai-project-key finding')), titles.join(' | '));
    assert.ok(titles.some((t) => t === 'Add this finding to the baseline'), titles.join(' | '));
    const move = actions.find((a) => a.isPreferred);
    assert.ok(move?.command, `a preferred fix that moves the key: ${titles.join(' | ')}`);
    await vscode.commands.executeCommand(move.command.command, ...(move.command.arguments ?? []));

    assert.ok(!document.getText().includes(key), 'the key is gone from the file');
    assert.match(document.getText(), /apiKey: process\.env\.OPENAI_API_KEY/);
    await until('the diagnostic to clear', 10_000, () => !vscode.languages.getDiagnostics(document.uri).some((d) => d.source === 'tollgate'));
    await document.save();
    // The proxy restarted with the key from SecretStorage, on the same port, and still answers.
    await api.whenRunning(60_000);
    await completionFromTerminal('after-move');
  });

  it('shows a bad policy edit at its line and keeps the old policy in force', async function () {
    const before = api.policy();
    assert.ok(before.hash && !before.rejected, 'a good policy is in force');
    const uri = vscode.Uri.file(path.join(workspace(), 'tollgate.yaml'));
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document);
    const original = document.getText();
    const line = original.split('\n').findIndex((l) => l.includes('downgrade_to: gpt-4o-mini'));
    assert.ok(line > 0);
    const edit = new vscode.WorkspaceEdit();
    const col = original.split('\n')[line]!.indexOf('gpt-4o-mini');
    edit.replace(uri, new vscode.Range(line, col, line, col + 'gpt-4o-mini'.length), 'gpt-9-turbo');
    assert.ok(await vscode.workspace.applyEdit(edit));

    const error = await until('a policy diagnostic', 15_000, () =>
      vscode.languages.getDiagnostics(uri).find((d) => d.source === 'tollgate policy' && d.severity === vscode.DiagnosticSeverity.Error),
    );
    assert.equal(error.range.start.line, line, 'the error is at the edited line');
    assert.match(error.message, /gpt-9-turbo.*no price/);

    await document.save();
    const rejected = await until('the edit to be refused', 15_000, () => api.policy().rejected);
    assert.ok(rejected.errors.some((e) => e.includes('gpt-9-turbo')));
    assert.equal(api.policy().hash, before.hash, 'the previous bundle stays in force');
    await until('the "stays in force" note', 10_000, () => vscode.languages.getDiagnostics(uri).find((d) => d.message.includes('stays in force')));
    // The proxy still serves with the old bundle.
    assert.equal(api.proxyStatus().phase, 'running');
    await completionFromTerminal('after-bad-edit');

    // Fixing the file brings the bundle back without a refusal.
    const fix = new vscode.WorkspaceEdit();
    fix.replace(uri, new vscode.Range(line, col, line, col + 'gpt-9-turbo'.length), 'gpt-4o-mini');
    assert.ok(await vscode.workspace.applyEdit(fix));
    await document.save();
    await until('the refusal to clear', 15_000, () => !api.policy().rejected);
    assert.equal(api.policy().hash, before.hash, 'the same text is the same bundle');
  });

  it('shows the quota preview above a model call, with what a loop does to the limits', async function () {
    const file = path.join(workspace(), 'preview.js');
    fs.writeFileSync(
      file,
      [
        "const OpenAI = require('openai');",
        'const client = new OpenAI();',
        'async function main(items) {',
        '  for (const item of items) {',
        "    await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'Summarise this in one line.' }] });",
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    const document = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(document);
    const titles = await until('quota preview CodeLenses', 30_000, async () => {
      const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', document.uri, 10);
      const t = (lenses ?? []).map((l) => l.command?.title ?? '').filter(Boolean);
      return t.some((x) => x.includes('gpt-4o-mini')) && t.length >= 2 ? t : undefined;
    });
    const call = titles.find((t) => t.includes('gpt-4o-mini'))!;
    assert.match(call, /entitled/);
    assert.match(call, /\$[0-9.]+/, 'the estimated cost of one call');
    assert.match(call, /fit/, 'how many such calls fit before a limit refuses');
    assert.ok(titles.some((t) => /loop|burst/i.test(t)), `a fan-out lens for the loop: ${titles.join(' | ')}`);
  });

  after(async function () {
    // Leave a planted key open for the screenshot of a diagnostic (the driver takes it).
    const demo = path.join(workspace(), 'demo.py');
    fs.writeFileSync(demo, `import openai\n\nclient = openai.OpenAI(api_key="${plantedKey()}")\n`);
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(demo));
  });
});
