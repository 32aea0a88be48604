import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { runTollgate } from '../../helpers/cli';
import { TempRepo } from './repo';
import { makeKey, randomChars } from './keys';

interface JsonReport {
  findings: Array<{ rule: string; file: string; line: number; column: number; end: { line: number; column: number }; match: string; fingerprint: string; severity: string }>;
  summary: { filesScanned: number; bytesScanned: number; skipped: Record<string, number>; suppressed: number };
}

describe('tollgate scan (working tree)', () => {
  let repo: TempRepo;
  beforeEach(() => {
    repo = new TempRepo();
  });
  afterEach(() => repo.remove());

  it('exits 0 on a clean tree and says how much it scanned', async () => {
    repo.write('src/a.ts', 'export const apiKey = process.env.OPENAI_API_KEY;\n');
    const r = await runTollgate(['scan'], { cwd: repo.dir });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /0 findings; scanned 1 file \(\d+ B\)/);
  });

  it('exits 1 with file:line:col, rule and a redacted match, never the key', async () => {
    const key = makeKey.anthropic();
    repo.write('src/client.ts', `import Anthropic from '@anthropic-ai/sdk';\nconst c = new Anthropic({ apiKey: "${key}" });\n`);
    const r = await runTollgate(['scan'], { cwd: repo.dir });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^src\/client\.ts:2:36: error anthropic-api-key sk-ant-api03-..…\(108 chars\)/);
    assert.ok(!r.stdout.includes(key) && !r.stderr.includes(key));
  });

  it('reports JSON with rule, file, line, column, end, redacted match, fingerprint and severity', async () => {
    const key = makeKey.openAiProject();
    repo.write('app.py', `client = OpenAI(api_key="${key}")\n`);
    const r = await runTollgate(['scan', '--format', 'json'], { cwd: repo.dir });
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout) as JsonReport;
    const [f] = report.findings;
    assert.ok(f);
    assert.deepEqual({ rule: f.rule, file: f.file, line: f.line, column: f.column, end: f.end, severity: f.severity }, {
      rule: 'openai-project-key', file: 'app.py', line: 1, column: 26, end: { line: 1, column: 26 + key.length }, severity: 'error',
    });
    assert.match(f.match, /^sk-proj-/);
    assert.match(f.fingerprint, /^openai-project-key:[0-9a-f]{20}$/);
    assert.ok(!r.stdout.includes(key));
  });

  it('skips gitignored paths (nested .gitignore too), .git, binaries and large files', async () => {
    repo.write('.gitignore', 'node_modules/\n*.log\n');
    repo.write('node_modules/pkg/index.js', `const k = "${makeKey.github()}";\n`);
    repo.write('debug.log', `token ${makeKey.github()}\n`);
    repo.write('packages/web/.gitignore', 'generated/\n');
    repo.write('packages/web/generated/keys.ts', `const k = "${makeKey.github()}";\n`);
    repo.write('logo.png', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0]), Buffer.from(makeKey.github())]));
    repo.write('big.txt', `${'a'.repeat(3000)}\n${makeKey.github()}\n`);
    repo.write('src/ok.ts', 'export {};\n');
    const r = await runTollgate(['scan', '--format', 'json', '--max-file-size', '2k'], { cwd: repo.dir });
    const report = JSON.parse(r.stdout) as JsonReport;
    assert.equal(r.code, 0, r.stdout);
    assert.equal(report.summary.skipped.binary, 1);
    assert.equal(report.summary.skipped['too-large'], 1);
    assert.equal(report.summary.filesScanned, 3);
  });

  it('honours .tollgateignore path patterns and fingerprint lines', async () => {
    repo.write('fixtures/leak.ts', `const k = "${makeKey.github()}";\n`);
    repo.write('src/a.ts', `const k = "${makeKey.slackBot()}";\nconst g = "${makeKey.groq()}";\n`);
    const first = JSON.parse((await runTollgate(['scan', '--format', 'json'], { cwd: repo.dir })).stdout) as JsonReport;
    const slack = first.findings.find((f) => f.rule === 'slack-token');
    assert.ok(slack);
    repo.write('.tollgateignore', `# test fixtures hold revoked tokens\nfixtures/\n${slack.fingerprint}  # revoked in the Slack admin, kept for the parser test\n`);
    const r = await runTollgate(['scan', '--format', 'json'], { cwd: repo.dir });
    const report = JSON.parse(r.stdout) as JsonReport;
    assert.deepEqual(report.findings.map((f) => f.rule), ['groq-api-key']);
    assert.equal(report.summary.suppressed, 1);
  });

  it('writes a baseline, then reports only new findings, even after the known one moves', async () => {
    const known = makeKey.github();
    repo.write('src/a.ts', `const k = "${known}";\n`);
    const written = await runTollgate(['scan', '--baseline', '.tollgate-baseline.json', '--write-baseline'], { cwd: repo.dir });
    assert.equal(written.code, 0);
    const baselineText = readFileSync(path.join(repo.dir, '.tollgate-baseline.json'), 'utf8');
    assert.ok(!baselineText.includes(known));
    assert.equal((await runTollgate(['scan', '--baseline', '.tollgate-baseline.json'], { cwd: repo.dir })).code, 0);
    repo.write('src/a.ts', `// a comment pushes it down\n\nconst k = "${known}";\n`);
    const moved = await runTollgate(['scan', '--baseline', '.tollgate-baseline.json'], { cwd: repo.dir });
    assert.equal(moved.code, 0, moved.stdout);
    assert.match(moved.stderr, /1 known/);
    repo.write('src/b.ts', `const k = "${makeKey.groq()}";\n`);
    const added = await runTollgate(['scan', '--baseline', '.tollgate-baseline.json', '--format', 'json'], { cwd: repo.dir });
    assert.equal(added.code, 1);
    assert.deepEqual((JSON.parse(added.stdout) as JsonReport).findings.map((f) => f.file), ['src/b.ts']);
  });

  it('honours the repository\'s own .tollgate-baseline.json (the one the editor writes) without --baseline', async () => {
    const accepted = makeKey.github();
    repo.write('src/a.ts', `const k = "${accepted}";\n`);
    assert.equal((await runTollgate(['scan'], { cwd: repo.dir })).code, 1);
    assert.equal((await runTollgate(['scan', '--baseline', '.tollgate-baseline.json', '--write-baseline'], { cwd: repo.dir })).code, 0);
    const r = await runTollgate(['scan'], { cwd: repo.dir });
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stderr, /1 known|suppressed/);
    // A pre-commit scan reads the baseline the commit will carry: an unstaged one does not count.
    repo.git('add', 'src/a.ts');
    assert.equal((await runTollgate(['scan', '--staged'], { cwd: repo.dir })).code, 1);
    repo.git('add', '.tollgate-baseline.json');
    assert.equal((await runTollgate(['scan', '--staged'], { cwd: repo.dir })).code, 0);
    repo.write('.tollgate-baseline.json', '{ not json');
    const broken = await runTollgate(['scan'], { cwd: repo.dir });
    assert.equal(broken.code, 2, 'a corrupt baseline is an error, never a silent pass');
  });

  it('exits 2 for a missing baseline, a missing path or a bad option', async () => {
    assert.equal((await runTollgate(['scan', '--baseline', 'nope.json'], { cwd: repo.dir })).code, 2);
    const missing = await runTollgate(['scan', 'does-not-exist'], { cwd: repo.dir });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no such file or directory: does-not-exist/);
    assert.equal((await runTollgate(['scan', '--format', 'xml'], { cwd: repo.dir })).code, 2);
    assert.equal((await runTollgate(['scan', '--write-baseline'], { cwd: repo.dir })).code, 2);
  });

  it('scans only the paths it is given', async () => {
    repo.write('a/one.ts', `const k = "${makeKey.github()}";\n`);
    repo.write('b/two.ts', `const k = "${makeKey.github()}";\n`);
    const r = await runTollgate(['scan', 'b', '--format', 'json'], { cwd: repo.dir });
    assert.deepEqual((JSON.parse(r.stdout) as JsonReport).findings.map((f) => f.file), ['b/two.ts']);
  });

  it('gives the same findings on worker threads as on one thread', async () => {
    for (let i = 0; i < 300; i++) repo.write(`src/m${i}.ts`, i % 50 === 7 ? `export const k${i} = "${makeKey.huggingFace()}";\n` : `export const v${i} = '${randomChars(12)}';\n`);
    const inline = await runTollgate(['scan', '--format', 'json', '--workers', '0'], { cwd: repo.dir });
    const pooled = await runTollgate(['scan', '--format', 'json', '--workers', '2'], { cwd: repo.dir });
    const a = JSON.parse(inline.stdout) as JsonReport;
    const b = JSON.parse(pooled.stdout) as JsonReport;
    assert.equal(a.findings.length, 6);
    assert.deepEqual(b.findings, a.findings);
    assert.equal(b.summary.filesScanned, 300);
  });

  it('runs its workers from the bundled dist/cli.js', function () {
    this.timeout(120000);
    const root = path.resolve(__dirname, '../../..');
    const cli = path.join(root, 'dist', 'cli.js');
    // Always rebuild: a stale bundle would prove nothing about the current worker entry.
    execFileSync(process.execPath, ['esbuild.js'], { cwd: root });
    assert.ok(existsSync(cli));
    for (let i = 0; i < 400; i++) repo.write(`src/m${i}.ts`, i === 399 ? `const k = "${makeKey.xai()}";\n` : `export const v${i} = ${i};\n`);
    const r = spawnSync(process.execPath, [cli, 'scan', '--workers', '2', '--format', 'json'], { cwd: repo.dir, encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    const report = JSON.parse(r.stdout) as JsonReport;
    assert.deepEqual(report.findings.map((f) => f.rule), ['xai-api-key']);
    assert.equal(report.summary.filesScanned, 400);
  });
});
