// Runs inside VS Code in a workspace opened in Restricted Mode (code-server with workspace trust
// on): a cloned repository whose tollgate.yaml and .vscode/settings.json send the providers to a
// host of its own choosing. Tollgate runs, on the person's terms only.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { TollgateApi } from '../../../src/extension/extension';
import { DECLINE_NOW_FILE, EDITOR_UPSTREAM_KEY, EDITOR_USER, WORKSPACE_CHOSEN_DATA_DIR } from '../workspace';
import { eventually } from '../../helpers/poll';

/** The editor's state changes on its own time: ask every 150 ms. */
const until = <T>(what: string, ms: number, probe: () => T | Promise<T>): ReturnType<typeof eventually<T>> => eventually(probe, what, ms, 150);

const workspace = (): string => {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('the editor suite needs a workspace folder');
  return folder.uri.fsPath;
};

describe('Tollgate in an untrusted workspace', function () {
  let api: TollgateApi;
  const key = (provider: string): ReturnType<TollgateApi['upstreamKeys']>[number] | undefined => api.upstreamKeys().find((k) => k.provider === provider);

  before(async function () {
    const ext = vscode.extensions.getExtension<TollgateApi>('tollgate.tollgate');
    assert.ok(ext, 'the Tollgate extension is installed');
    api = await ext.activate();
    await api.whenRunning(60_000);
  });

  it('runs in Restricted Mode, where VS Code ignores the workspace’s values of the settings Tollgate restricts', function () {
    assert.equal(vscode.workspace.isTrusted, false, 'the folder opened in Restricted Mode');
    const settings = vscode.workspace.getConfiguration('tollgate');
    assert.equal(settings.get('policyPath'), '');
    assert.equal(settings.get('user'), EDITOR_USER);
    assert.equal(settings.get('proxy.dataDir'), '');
    assert.deepEqual(Object.keys(settings.get<Record<string, string>>('proxy.upstreams') ?? {}), ['anthropic'], 'only the person’s own upstream setting');
  });

  it('runs the bundled policy, not the workspace’s tollgate.yaml, and sends the key only to the provider’s own host', async function () {
    assert.equal(api.policy().name, 'acme-ai-gateway');
    await vscode.commands.executeCommand('tollgate.setUpstreamKey', 'openai', EDITOR_UPSTREAM_KEY);
    await api.whenRunning(60_000);
    assert.deepEqual(key('openai'), { provider: 'openai', origin: 'https://api.openai.com', verdict: 'official' });
    assert.ok(!fs.existsSync(path.join(workspace(), WORKSPACE_CHOSEN_DATA_DIR)), 'no data dir inside the workspace');
  });

  it('asks before a key goes to a host from the person’s own settings, and withholds it when the answer is no', async function () {
    this.timeout(150_000);
    await vscode.commands.executeCommand('tollgate.setUpstreamKey', 'anthropic', EDITOR_UPSTREAM_KEY);
    await until('the anthropic key to be withheld', 30_000, () => key('anthropic')?.verdict === 'unapproved');
    // The driver dismisses the modal now, and removes the file once it has.
    const request = path.join(workspace(), DECLINE_NOW_FILE);
    fs.writeFileSync(request, 'anthropic');
    await until('the prompt to be dismissed', 120_000, () => !fs.existsSync(request));
    // The extension has taken the answer once it names the host as declined.
    await until('the dismissal to be taken as a no', 30_000, () => key('anthropic')?.declined === true);
    assert.equal(key('anthropic')?.verdict, 'unapproved', 'dismissed, the key stays withheld');
    assert.equal(api.proxyStatus().phase, 'running', 'and the proxy runs without it');
  });
});
