import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import * as path from 'node:path';
import { runTollgate } from '../../helpers/cli';
import { TempRepo } from '../scan/repo';
import { makeKey } from '../scan/keys';

interface JsonReport {
  findings: Array<{ rule: string; file: string; line: number; column: number }>;
  summary: { filesScanned: number };
}

describe('tollgate scan PATH outside the working directory', () => {
  let here: TempRepo;
  let elsewhere: TempRepo;
  beforeEach(() => {
    here = new TempRepo();
    elsewhere = new TempRepo();
  });
  afterEach(() => {
    here.remove();
    elsewhere.remove();
  });

  it('finds a key planted in a folder outside the working directory, given absolute or relative', async () => {
    here.write('src/clean.ts', 'export const key = process.env.OPENAI_API_KEY;\n');
    elsewhere.write('config/app.py', `client = OpenAI(api_key="${makeKey.openAiProject()}")\n`);
    const folder = path.join(elsewhere.dir, 'config');
    for (const given of [folder, path.relative(here.dir, folder)]) {
      const r = await runTollgate(['scan', given, '--format', 'json', '--workers', '0'], { cwd: here.dir });
      assert.equal(r.code, 1, r.stderr);
      const report = JSON.parse(r.stdout) as JsonReport;
      assert.equal(report.findings.length, 1);
      assert.equal(report.findings[0]!.line, 1);
      // Named from where the command ran, so the path leads to the file.
      assert.equal(path.resolve(here.dir, report.findings[0]!.file), path.join(folder, 'app.py'));
      assert.equal(report.summary.filesScanned, 1);
    }
  });

  it('scans a folder outside any repository, and a file outside the working directory', async () => {
    const outside = new TempRepo(false);
    try {
      const file = outside.write('notes/keys.env', `ANTHROPIC_API_KEY=${makeKey.anthropic()}\n`);
      for (const given of [outside.dir, file]) {
        const r = await runTollgate(['scan', given], { cwd: here.dir });
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stdout, /notes\/keys\.env:1:\d+: error anthropic-api-key/);
      }
    } finally {
      outside.remove();
    }
  });

  it("honours the other repository's .gitignore", async () => {
    elsewhere.write('.gitignore', 'secrets/\n');
    elsewhere.write('secrets/app.py', `client = OpenAI(api_key="${makeKey.openAiProject()}")\n`);
    elsewhere.write('src/ok.ts', 'export {};\n');
    const r = await runTollgate(['scan', elsewhere.dir, '--format', 'json'], { cwd: here.dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((JSON.parse(r.stdout) as JsonReport).summary.filesScanned, 2);
  });

  it('does not follow a symbolic link inside the folder it was given out of it', async () => {
    elsewhere.write('secret/app.py', `client = OpenAI(api_key="${makeKey.openAiProject()}")\n`);
    here.write('docs/readme.md', 'nothing here\n');
    symlinkSync(path.join(elsewhere.dir, 'secret'), path.join(here.dir, 'docs', 'linked'));
    const r = await runTollgate(['scan', path.join(here.dir, 'docs')], { cwd: elsewhere.dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, '');
  });

  it('--staged with a path outside the repository says so, exit 2', async () => {
    const r = await runTollgate(['scan', '--staged', elsewhere.dir], { cwd: here.dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is outside it/);
  });

  it('a path that does not exist is an error, exit 2', async () => {
    const r = await runTollgate(['scan', path.join(elsewhere.dir, 'missing')], { cwd: here.dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no such file or directory/);
  });
});
