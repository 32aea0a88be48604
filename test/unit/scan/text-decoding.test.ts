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

function utf16(text: string, order: 'le' | 'be', bom: boolean): Buffer {
  const le = Buffer.from(`${bom ? '\ufeff' : ''}${text}`, 'utf16le');
  return order === 'le' ? le : Buffer.from(le).swap16();
}

const utf16Forms = [
  { name: 'UTF-16 LE with BOM (PowerShell)', order: 'le', bom: true },
  { name: 'UTF-16 BE with BOM', order: 'be', bom: true },
  { name: 'UTF-16 LE without BOM', order: 'le', bom: false },
  { name: 'UTF-16 BE without BOM', order: 'be', bom: false },
] as const;

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

  it('reads UTF-16 text with or without a byte-order mark', () => {
    const text = `# written by PowerShell\r\nNOTE="café ☕"\r\nOPENAI_API_KEY=${makeKey.openAiProject()}\r\n`;
    for (const form of utf16Forms) {
      const decided = skipReasonFor('.env', utf16(text, form.order, form.bom), 1 << 20);
      assert.deepEqual(decided, { text }, form.name);
    }
  });

  it('does not take 16-bit binary data for UTF-16 text', () => {
    const samples = Buffer.alloc(4000);
    for (let i = 0; i < samples.length; i += 2) samples.writeUInt16LE(i % 64, i);
    assert.equal(skipReasonFor('audio.raw', samples, 1 << 20), 'binary');
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

    it('reports a key in a UTF-16 .env at the line and column of the decoded text, as for UTF-8, in the tree and staged', async () => {
      // A character outside the BMP before the key: columns count UTF-16 code units, as the editor and SARIF do.
      const text = (key: string): string => `# settings\r\nGREETING="héllo 🦊" OPENAI_API_KEY=${key}\r\n`;
      const key = makeKey.openAiProject();
      repo.write('utf8/.env', text(key));
      utf16Forms.forEach((form, i) => repo.write(`utf16-${i}/.env`, utf16(text(key), form.order, form.bom)));
      repo.git('add', '.');
      for (const mode of [[], ['--staged']]) {
        const { code, report } = await scan(...mode);
        assert.equal(code, 1, mode.join(' '));
        const at = report.findings.map((f) => [f.file, f.rule, f.line, f.column, f.end.line, f.end.column]);
        const expected = ['openai-project-key', 2, 36, 2, 36 + key.length];
        assert.deepEqual(at, [['utf16-0/.env', ...expected], ['utf16-1/.env', ...expected], ['utf16-2/.env', ...expected], ['utf16-3/.env', ...expected], ['utf8/.env', ...expected]], mode.join(' '));
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
