import assert from 'node:assert/strict';
import { scanText } from '../../../src/scan/scanner';
import { isMinified, skipReasonFor } from '../../../src/scan/content';
import { makeKey, randomChars } from './keys';

describe('scanner precision and ranges', () => {
  it('reports 1-based line and column ranges that cover exactly the key', () => {
    const key = makeKey.groq();
    const text = `line one\n  const groq = "${key}";\n`;
    const [f] = scanText(text, { path: 'a.ts' });
    assert.ok(f);
    assert.deepEqual([f.line, f.column, f.endLine, f.endColumn], [2, 17, 2, 17 + key.length]);
    assert.equal(text.slice(f.offset, f.endOffset), key);
  });

  it('gives a multi-line private key an end line below its start line', () => {
    const [f] = scanText(`x\n${makeKey.pemPrivateKey('EC ')}\n`, { path: 'k.pem' });
    assert.ok(f);
    assert.deepEqual([f.line, f.endLine], [2, 11]);
  });

  it('keeps the fingerprint when the line moves and changes it for another file', () => {
    const key = makeKey.anthropic();
    const a = scanText(`const k = "${key}";`, { path: 'src/a.ts' })[0];
    const moved = scanText(`\n\n// moved\nconst k = "${key}";`, { path: 'src/a.ts' })[0];
    const other = scanText(`const k = "${key}";`, { path: 'src/b.ts' })[0];
    assert.ok(a && moved && other);
    assert.equal(moved.fingerprint, a.fingerprint);
    assert.notEqual(other.fingerprint, a.fingerprint);
    assert.ok(!a.fingerprint.includes(key.slice(14, 30)));
  });

  it('names an overlapping key by its specific rule, not the generic one', () => {
    const findings = scanText(`OPENAI_API_KEY = "${makeKey.openAiProject()}"`, { path: 'a.py' });
    assert.deepEqual(findings.map((f) => f.ruleId), ['openai-project-key']);
  });

  it('never shows more than a quarter of a key in its redacted form', () => {
    for (const make of Object.values(makeKey)) {
      const key = make();
      for (const f of scanText(`API_KEY = "${key}"\n`, { path: '.env' })) {
        const visible = f.redacted.replace(/…\(\d+ chars\)$/, '');
        assert.ok(visible.length <= Math.floor(key.length / 4), `${f.ruleId} shows ${visible.length} of ${key.length}`);
      }
    }
  });

  it('finds the one key in a normal 2,000-line file and nothing else', () => {
    // How fast is bench/scan's to measure: a shared machine's speed is no behaviour of the scanner.
    const lines = Array.from({ length: 2000 }, (_, i) => `export function handler${i}(req: Request): string { const token = req.headers.get('x-token-${i}'); return token ?? 'none'; }`);
    lines[1000] = `const key = "${makeKey.openAiProject()}";`;
    const findings = scanText(lines.join('\n'), { path: 'big.ts' });
    assert.equal(findings.length, 1);
    assert.equal(findings[0]!.line, 1001);
  });

  describe('inline tollgate-ignore', () => {
    it('suppresses the finding on its line when it gives a reason', () => {
      assert.deepEqual(scanText(`k = "${makeKey.github()}" # tollgate-ignore: revoked token kept as a parser fixture`, { path: 'a.py' }), []);
    });
    it('suppresses the finding on the next line', () => {
      assert.deepEqual(scanText(`// tollgate-ignore github-token: revoked, used by the redaction test\nconst k = "${makeKey.github()}";`, { path: 'a.ts' }), []);
    });
    it('does not suppress without a reason, and says why', () => {
      const findings = scanText(`const k = "${makeKey.github()}"; // tollgate-ignore`, { path: 'a.ts' });
      assert.equal(findings.length, 1);
      assert.match(findings[0]?.note ?? '', /needs a reason/);
    });
    it('does not suppress a different rule than the one it names', () => {
      const findings = scanText(`// tollgate-ignore slack-token: wrong rule\nconst k = "${makeKey.github()}";`, { path: 'a.ts' });
      assert.deepEqual(findings.map((f) => f.ruleId), ['github-token']);
    });
    it('suppresses one finding only, not the next one below', () => {
      const text = `// tollgate-ignore: fixture\nconst a = "${makeKey.github()}";\nconst b = "${makeKey.github()}";`;
      assert.deepEqual(scanText(text, { path: 'a.ts' }).map((f) => f.line), [3]);
    });
  });

  describe('file content', () => {
    it('skips binary files', () => {
      assert.equal(skipReasonFor('a.png', Buffer.from([0x89, 0x50, 0, 0x47]), 1000), 'binary');
    });
    it('skips files over the size limit', () => {
      assert.equal(skipReasonFor('a.txt', Buffer.alloc(2000, 0x61), 1000), 'too-large');
    });
    it('skips minified bundles by name and by shape, and scans ordinary sources', () => {
      const bundle = Array.from({ length: 40 }, () => `var a=function(e){return e.${randomChars(8)}};`).join('').repeat(10);
      assert.equal(isMinified('dist/app.min.js', 'x'), true);
      assert.equal(isMinified('dist/app.js', bundle), true);
      assert.equal(isMinified('src/app.js', 'const a = 1;\n'.repeat(1000)), false);
    });
  });
});
