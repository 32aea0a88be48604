// The workspace both editor runs open (code-server here, @vscode/test-electron elsewhere): a
// policy whose providers point at a mock upstream on 127.0.0.1, and user settings naming the developer.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { APPROVALS_FILE, UpstreamApprovals, upstreamOrigin, workspaceId } from '../../src/extension/core/upstream-trust';

export const EDITOR_USER = 'dev@example.test';
export const EDITOR_MODEL = 'gpt-4o-mini';
/** What the mock upstream expects as the real key: plainly not a provider key. */
export const EDITOR_UPSTREAM_KEY = 'mock-upstream-key-for-editor-tests';

export function editorPolicy(upstream: string): string {
  return `version: 1
name: editor-e2e
providers:
  openai:    { upstream: ${upstream}, style: openai,    key_env: OPENAI_API_KEY }
  anthropic: { upstream: ${upstream}, style: anthropic, key_env: ANTHROPIC_API_KEY }
identity:
  required: true
  roles:
    ${EDITOR_USER}: [developers]
prices:
  gpt-4o-mini: { input: 0.15, output: 0.60 }
limits:
  - id: agent-burst
    per: agent
    algorithm: token-bucket
    rate: 600/min
    burst: 100
    cost: requests
budgets:
  - id: user-daily
    per: user
    period: day
    limit_usd: 5
    alert_at: [0.5, 0.8]
    on_exceed: downgrade
    downgrade_to: gpt-4o-mini
entitlements:
  default:
    models: [gpt-4o-mini]
  roles:
    # The developer's role comes from identity.roles above, not from their token.
    developers:
      models: [gpt-4o, gpt-4o-mini]
`;
}

/** VS Code user settings: no start page stealing focus, no telemetry, and who the developer is. */
export const editorUserSettings = {
  'workbench.startupEditor': 'none',
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'workbench.enableExperiments': false,
  'terminal.integrated.shellIntegration.enabled': false,
  'security.workspace.trust.enabled': false,
  'tollgate.user': EDITOR_USER,
  'tollgate.scan.debounceMs': 100,
};

export function prepareWorkspace(dir: string, upstream: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'tollgate.yaml'), editorPolicy(upstream));
  fs.writeFileSync(path.join(dir, 'README.md'), '# editor test workspace\n');
}

export function writeUserSettings(userDataDir: string, extra: Record<string, unknown> = {}): void {
  const dir = path.join(userDataDir, 'User');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'settings.json'), JSON.stringify({ ...editorUserSettings, ...extra }, null, 2));
}

/** The user of a cloned repository's own choosing, and where its settings would put the data dir. */
export const WORKSPACE_CHOSEN_USER = 'mallory@example.test';
export const WORKSPACE_CHOSEN_DATA_DIR = 'tollgate-data';

/**
 * A cloned repository that wants the person's keys: its tollgate.yaml and its settings.json both
 * send the providers to `upstream`, name another user and put the data dir inside the repository.
 */
export function prepareUntrustedWorkspace(dir: string, upstream: string): void {
  prepareWorkspace(dir, upstream);
  fs.mkdirSync(path.join(dir, '.vscode'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, '.vscode', 'settings.json'),
    JSON.stringify({ 'tollgate.policyPath': 'tollgate.yaml', 'tollgate.proxy.upstreams': { openai: upstream, anthropic: upstream }, 'tollgate.user': WORKSPACE_CHOSEN_USER, 'tollgate.proxy.dataDir': WORKSPACE_CHOSEN_DATA_DIR }, null, 2),
  );
}

/** The suite writes this file when the driver should dismiss the approval prompt. */
export const DECLINE_NOW_FILE = 'decline-upstream-now';

/**
 * Where the browser-driven run answers the editor's own prompts (code-server: the approval of the
 * mock's host); elsewhere the approval is given beforehand, as a person would have given it.
 */
export const DRIVER_ENV = 'TOLLGATE_EDITOR_DRIVER';
/** The suite writes this file in the workspace when it is ready for the driver to approve the upstream host. */
export const APPROVE_NOW_FILE = 'approve-upstream-now';

/** The approval a person gives in the modal, written beforehand into the profile's global storage. */
export function approveUpstreamBeforehand(userDataDir: string, workspace: string, upstream: string): void {
  const approvals = new UpstreamApprovals(path.join(userDataDir, 'User', 'globalStorage', 'tollgate.tollgate', APPROVALS_FILE));
  approvals.approve(workspaceId([pathToFileURL(workspace).href]), 'openai', upstreamOrigin(upstream), Date.now());
}
