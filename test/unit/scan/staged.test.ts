import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { runTollgate } from '../../helpers/cli';
import { TempRepo } from './repo';
import { makeKey } from './keys';

interface JsonReport {
  findings: Array<{ rule: string; file: string; line: number }>;
  summary: { filesScanned: number; bytesScanned: number };
}

async function scanStaged(repo: TempRepo, ...extra: string[]): Promise<{ code: number; report: JsonReport; stderr: string }> {
  const r = await runTollgate(['scan', '--staged', '--format', 'json', ...extra], { cwd: repo.dir });
  return { code: r.code, report: JSON.parse(r.stdout || '{"findings":[],"summary":{}}') as JsonReport, stderr: r.stderr };
}

describe('tollgate scan --staged', () => {
  let repo: TempRepo;
  beforeEach(() => (repo = new TempRepo()));
  afterEach(() => repo.remove());

  it('scans staged files in a repository with no commit yet', async () => {
    repo.write('a.ts', `const k = "${makeKey.github()}";\n`);
    repo.git('add', 'a.ts');
    const { code, report } = await scanStaged(repo);
    assert.equal(code, 1);
    assert.deepEqual(report.findings.map((f) => f.file), ['a.ts']);
  });

  it('reads the staged version of a partially staged file, not the working tree', async () => {
    repo.write('config.ts', 'export const model = "gpt-4o";\n');
    repo.git('add', 'config.ts');
    repo.git('commit', '-q', '-m', 'init');
    // Stage a key, then remove it from the working tree only: the commit would still carry it.
    repo.write('config.ts', `export const model = "gpt-4o";\nexport const key = "${makeKey.anthropic()}";\n`);
    repo.git('add', 'config.ts');
    repo.write('config.ts', 'export const model = "gpt-4o";\nexport const key = process.env.ANTHROPIC_API_KEY;\n');
    const staged = await scanStaged(repo);
    assert.equal(staged.code, 1);
    assert.deepEqual(staged.report.findings.map((f) => [f.file, f.line]), [['config.ts', 2]]);
    assert.equal((await runTollgate(['scan'], { cwd: repo.dir })).code, 0, 'the working tree is clean');
  });

  it('does not report a key that exists only in the working tree', async () => {
    repo.write('a.ts', 'export const a = 1;\n');
    repo.git('add', 'a.ts');
    repo.write('a.ts', `export const a = 1;\nconst k = "${makeKey.github()}";\n`);
    repo.write('untracked.ts', `const k = "${makeKey.github()}";\n`);
    const { code, report } = await scanStaged(repo);
    assert.equal(code, 0);
    assert.equal(report.summary.filesScanned, 1);
  });

  it('scans a renamed file under its new name and skips deleted files', async () => {
    repo.write('old/name.ts', `const k = "${makeKey.groq()}";\n`);
    repo.write('gone.ts', 'export {};\n');
    repo.git('add', '.');
    repo.git('commit', '-q', '-m', 'init', '--no-verify');
    mkdirSync(path.join(repo.dir, 'new'));
    repo.git('mv', 'old/name.ts', 'new/name.ts');
    repo.git('rm', '-q', 'gone.ts');
    const { code, report } = await scanStaged(repo);
    assert.equal(code, 1);
    assert.deepEqual(report.findings.map((f) => f.file), ['new/name.ts']);
  });

  it('runs from a subdirectory and reports paths from the repository root', async () => {
    repo.write('pkg/sub/a.ts', `const k = "${makeKey.stripeLive()}";\n`);
    repo.git('add', '.');
    const r = await runTollgate(['scan', '--staged'], { cwd: `${repo.dir}/pkg/sub` });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^pkg\/sub\/a\.ts:1:12: error stripe-secret-key/);
    assert.match(r.stderr, /commit blocked/);
  });

  it('says it scanned nothing when nothing is staged', async () => {
    const r = await runTollgate(['scan', '--staged'], { cwd: repo.dir });
    assert.equal(r.code, 0);
    assert.match(r.stderr, /scanned 0 staged files \(0 B\)/);
  });

  it('exits 2 outside a git repository', async () => {
    const plain = new TempRepo(false);
    try {
      const r = await runTollgate(['scan', '--staged'], { cwd: plain.dir });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /not a git repository/i);
    } finally {
      plain.remove();
    }
  });

  it('uses the staged .tollgateignore and skips binaries and large blobs', async () => {
    repo.write('.tollgateignore', 'fixtures/\n');
    repo.write('fixtures/k.ts', `const k = "${makeKey.github()}";\n`);
    repo.write('img.png', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]), Buffer.from(makeKey.github())]));
    repo.write('big.txt', `${'b'.repeat(5000)}\n${makeKey.github()}\n`);
    repo.write('ok.ts', 'export {};\n');
    repo.git('add', '.');
    const r = await runTollgate(['scan', '--staged', '--max-file-size', '4k'], { cwd: repo.dir });
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stderr, /scanned 2 staged files .*skipped 1 binary, 1 too-large/);
  });

  it('scans many staged files through the worker pool', async () => {
    for (let i = 0; i < 250; i++) repo.write(`m/f${i}.ts`, i === 123 ? `const k = "${makeKey.perplexity()}";\n` : `export const v${i} = ${i};\n`);
    repo.git('add', '.');
    const { code, report } = await scanStaged(repo, '--workers', '2');
    assert.equal(code, 1);
    assert.equal(report.summary.filesScanned, 250);
    assert.deepEqual(report.findings.map((f) => f.file), ['m/f123.ts']);
  });
});
