// Runs inside VS Code after the main suite: the quota preview's CodeLens for a person whose role
// comes from the bundle (identity.roles in test/editor/workspace.ts gives the developer the role
// `developers`, entitled to gpt-4o; the default entitlement is gpt-4o-mini only) says what the
// proxy answers when the same person makes the same call from an integrated terminal.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { TollgateApi } from '../../../src/extension/extension';
import { EDITOR_USER } from '../workspace';
import { eventually } from '../../helpers/poll';

const until = <T>(what: string, ms: number, probe: () => T | Promise<T>): ReturnType<typeof eventually<T>> => eventually(probe, what, ms, 150);

const workspace = (): string => {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('the editor suite needs a workspace folder');
  return folder.uri.fsPath;
};

/** The CodeLens titles over the one call in a new file that asks for `model`. */
async function lensesFor(model: string): Promise<string[]> {
  const file = path.join(workspace(), `preview-roles-${model}.js`);
  fs.writeFileSync(
    file,
    [
      "const OpenAI = require('openai');",
      'const client = new OpenAI();',
      `exports.ask = (text) => client.chat.completions.create({ model: '${model}', max_tokens: 5, messages: [{ role: 'user', content: 'Summarise: ' + text }] });`,
      '',
    ].join('\n'),
  );
  const document = await vscode.workspace.openTextDocument(file);
  await vscode.window.showTextDocument(document);
  return until(`the quota preview CodeLens over ${model}`, 60_000, async () => {
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', document.uri, 10);
    const titles = (lenses ?? []).map((l) => l.command?.title ?? '').filter((t) => t.includes(`Tollgate: ${model} ·`));
    return titles.length > 0 ? titles : undefined;
  });
}

/** Posts the same chat completion from an integrated terminal, with only the environment Tollgate gave it. */
async function statusFromTerminal(name: string, model: string): Promise<{ status: string; text: string }> {
  const out = path.join(workspace(), `${name}.json`);
  fs.rmSync(out, { force: true });
  const terminal = vscode.window.createTerminal({ name, cwd: workspace() });
  const body = JSON.stringify({ model, max_tokens: 5, messages: [{ role: 'user', content: 'Summarise: the quarter' }] });
  terminal.sendText(
    `curl -s -w '\\n%{http_code}' "$OPENAI_BASE_URL/chat/completions" -H "Authorization: Bearer $OPENAI_API_KEY" -H 'content-type: application/json' -d '${body}' > ${name}.part; mv ${name}.part ${name}.json`,
  );
  try {
    const text = await until(`${name}.json`, 60_000, () => fs.existsSync(out) && fs.readFileSync(out, 'utf8'));
    const lines = text.trim().split('\n');
    const status = lines.pop() ?? '';
    return { status, text: lines.join('\n') };
  } finally {
    terminal.dispose();
  }
}

describe('Quota preview for a person whose role comes from the bundle', function () {
  before(async function () {
    this.timeout(180_000);
    const ext = vscode.extensions.getExtension<TollgateApi>('tollgate.tollgate');
    assert.ok(ext, 'the Tollgate extension is installed');
    const api = await ext.activate();
    await api.whenRunning(150_000);
  });

  it('agrees with the proxy: gpt-4o, granted by the role, is entitled in the CodeLens and admitted by the proxy', async function () {
    this.timeout(180_000);
    const titles = await lensesFor('gpt-4o');
    assert.match(titles[0]!, /^Tollgate: gpt-4o · entitled · /, titles.join(' | '));
    assert.ok(!titles.some((t) => t.includes('not entitled')), titles.join(' | '));
    const answer = await statusFromTerminal('preview-roles-allowed', 'gpt-4o');
    assert.equal(answer.status, '200', `the proxy answered ${answer.status}: ${answer.text.slice(0, 500)}`);
  });

  it('agrees with the proxy: gpt-4.1, outside the role, is not entitled in the CodeLens and refused by the proxy', async function () {
    this.timeout(180_000);
    const titles = await lensesFor('gpt-4.1');
    assert.equal(titles[0], `Tollgate: gpt-4.1 · not entitled for ${EDITOR_USER} (use gpt-4o)`, titles.join(' | '));
    const answer = await statusFromTerminal('preview-roles-refused', 'gpt-4.1');
    assert.equal(answer.status, '403', answer.text.slice(0, 500));
    assert.match(answer.text, new RegExp(`${EDITOR_USER.replace(/\./g, '\\.')} is not entitled to model 'gpt-4\\.1'`));
  });
});
