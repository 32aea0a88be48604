// The workspace both editor runs open (code-server here, @vscode/test-electron elsewhere): a
// policy whose providers point at a mock upstream on 127.0.0.1, and user settings naming the developer.

import * as fs from 'node:fs';
import * as path from 'node:path';

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

export function writeUserSettings(userDataDir: string): void {
  const dir = path.join(userDataDir, 'User');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'settings.json'), JSON.stringify(editorUserSettings, null, 2));
}
