import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { skipReasonFor } from '../../../src/scan/content';
import { runTollgate } from '../../helpers/cli';
import { TempRepo } from './repo';
import { makeKey } from './keys';

interface JsonReport {
  findings: Array<{ rule: string; file: string; line: number; column: number; end: { line: number; column: number } }>;
  summary: { filesScanned: number; skipped: Record<string, number> };
}

// Bytes that look like compressed data: deterministic, so no run can pass by luck.
function noise(length: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; parts.length * 64 < length; i++) parts.push(createHash('sha512').update(String(i)).digest());
  return Buffer.concat(parts).subarray(0, length);
}

/** Genuinely binary files, each carrying a key-shaped string that must not be reported. */
function binaries(key: string): Record<string, Buffer> {
  const k = Buffer.from(key);
  return {
    'logo.png': Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n\0\0\0\rIHDR', 'latin1'), noise(40), k]),
    'photo.jpg': Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('JFIF text comment '), k]),
    'bundle.zip': Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.from(' notes '), k]),
    'data.gz': Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), noise(200), k]),
    'tool': Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01', 'latin1'), Buffer.alloc(9), Buffer.from(`const k = "${key}";`)]),
    'app.db': Buffer.concat([Buffer.from('SQLite format 3\0', 'latin1'), Buffer.from(`INSERT INTO keys VALUES ('${key}');`)]),
    'mod.wasm': Buffer.concat([Buffer.from('\0asm\x01\0\0\0', 'latin1'), Buffer.from(`key=${key}`)]),
    'blob.bin': Buffer.concat([noise(300), k, noise(300)]),
  };
}

describe('file content: text or binary', () => {
  it('scans a text file that holds a few NUL bytes', () => {
    const text = `# settings\nOPENAI_API_KEY=${makeKey.openAiProject()}\n`;
    const bytes = Buffer.concat([Buffer.from(text), Buffer.from([0, 0]), Buffer.from('LOG_LEVEL=info\n\0')]);
    const decided = skipReasonFor('.env', bytes, 1 << 20);
    assert.ok(typeof decided === 'object', `skipped as ${String(decided)}`);
    assert.ok(decided.text.startsWith(text));
  });

  it('still skips images, archives, executables, databases, wasm and noise', () => {
    for (const [name, bytes] of Object.entries(binaries(makeKey.github()))) {
      assert.equal(skipReasonFor(name, bytes, 1 << 20), 'binary', name);
    }
  });

  describe('tollgate scan', () => {
    let repo: TempRepo;
    beforeEach(() => (repo = new TempRepo()));
    afterEach(() => repo.remove());

    const scan = async (...extra: string[]): Promise<{ code: number; report: JsonReport }> => {
      const r = await runTollgate(['scan', '--format', 'json', ...extra], { cwd: repo.dir });
      return { code: r.code, report: JSON.parse(r.stdout) as JsonReport };
    };

    it('reports a key in a text file with stray NULs at its line and column, in the tree and staged', async () => {
      const key = makeKey.groq();
      repo.write('config/.env', Buffer.concat([Buffer.from('A=1\0\nB=2\n'), Buffer.from(`GROQ_API_KEY="${key}"\n`), Buffer.from([0])]));
      repo.git('add', '.');
      for (const mode of [[], ['--staged']]) {
        const { code, report } = await scan(...mode);
        assert.equal(code, 1, mode.join(' '));
        assert.deepEqual(report.findings.map((f) => [f.rule, f.file, f.line, f.column, f.end.column]), [['groq-api-key', 'config/.env', 3, 15, 15 + key.length]]);
      }
    });

    it('skips genuinely binary files in the tree and staged', async () => {
      const files = binaries(makeKey.github());
      for (const [name, bytes] of Object.entries(files)) repo.write(name, bytes);
      repo.git('add', '.');
      for (const mode of [[], ['--staged']]) {
        const { code, report } = await scan(...mode);
        assert.equal(code, 0, `${mode.join(' ')}: ${JSON.stringify(report.findings)}`);
        assert.equal(report.summary.skipped.binary, Object.keys(files).length);
      }
    });
  });
});
