import * as assert from 'node:assert/strict';
import { envLookup, envVarFor, ignoreComment, importFor, providerFor, replaceWithEnvLookup } from '../../../src/extension/core/key-fixes';
import type { TextReplacement } from '../../../src/extension/core/key-fixes';
import { scanText } from '../../../src/scan/scanner';
import { makeKey } from '../scan/keys';

const apply = (text: string, r: TextReplacement): string => text.slice(0, r.start) + r.text + text.slice(r.end);

function fixed(languageId: string, template: (key: string) => string, path: string): string {
  const key = makeKey.openAiProject();
  const text = template(key);
  const [finding] = scanText(text, { path });
  assert.ok(finding, `the key is found in ${path}`);
  const r = replaceWithEnvLookup(text, finding.offset, finding.endOffset, languageId, envVarFor(finding.ruleId));
  assert.ok(r);
  const out = apply(text, r);
  assert.ok(!out.includes(key));
  assert.deepEqual(scanText(out, { path }), [], 'nothing left to find');
  return out;
}

describe('key quick fixes (text edits)', () => {
  it('names the environment variable and provider for each rule', () => {
    assert.equal(envVarFor('openai-project-key'), 'OPENAI_API_KEY');
    assert.equal(envVarFor('anthropic-api-key'), 'ANTHROPIC_API_KEY');
    assert.equal(envVarFor('aws-secret-access-key'), 'AWS_SECRET_ACCESS_KEY');
    assert.equal(envVarFor('groq-api-key'), 'GROQ_API_KEY');
    assert.equal(providerFor('openai-project-key'), 'openai');
    assert.equal(providerFor('anthropic-api-key'), 'anthropic');
    assert.equal(providerFor('azure-openai-key'), 'azure-openai', 'the proxy holds an Azure OpenAI key for the azure-openai style');
    assert.equal(providerFor('openai-admin-key'), undefined, 'an admin key is not a key to proxy with');
    assert.equal(providerFor('github-token'), undefined);
  });

  it('replaces a quoted literal with the language’s environment lookup', () => {
    assert.equal(fixed('typescript', (k) => `const c = new OpenAI({ apiKey: "${k}" });\n`, 'a.ts'), 'const c = new OpenAI({ apiKey: process.env.OPENAI_API_KEY });\n');
    assert.equal(fixed('python', (k) => `client = OpenAI(api_key='${k}')\n`, 'a.py'), 'client = OpenAI(api_key=os.environ["OPENAI_API_KEY"])\n');
    assert.equal(fixed('go', (k) => `key := "${k}"\n`, 'a.go'), 'key := os.Getenv("OPENAI_API_KEY")\n');
    assert.equal(fixed('java', (k) => `String key = "${k}";\n`, 'A.java'), 'String key = System.getenv("OPENAI_API_KEY");\n');
    assert.equal(fixed('ruby', (k) => `key = "${k}"\n`, 'a.rb'), 'key = ENV["OPENAI_API_KEY"]\n');
  });

  it('keeps shell and YAML values strings', () => {
    assert.equal(fixed('shellscript', (k) => `export OPENAI_API_KEY="${k}"\n`, 'env.sh'), 'export OPENAI_API_KEY="${OPENAI_API_KEY}"\n');
    assert.equal(fixed('yaml', (k) => `openai:\n  key: ${k}\n`, 'c.yaml'), 'openai:\n  key: ${OPENAI_API_KEY}\n');
  });

  it('offers no lookup for a language it does not know', () => {
    assert.equal(envLookup('plaintext', 'X'), undefined);
    assert.equal(replaceWithEnvLookup('"abc"', 1, 4, 'plaintext', 'X'), undefined);
  });

  it('adds `import os` to Python files that lack it, and only then', () => {
    assert.deepEqual(importFor('x = 1\n', 'python'), { start: 0, end: 0, text: 'import os\n' });
    assert.equal(importFor('import os\nx = 1\n', 'python'), undefined);
    assert.equal(importFor('x = 1\n', 'typescript'), undefined);
  });

  it('writes an ignore comment with the reason that the scanner honours', () => {
    for (const [languageId, path, line] of [['typescript', 'a.ts', (k: string) => `  const k = "${k}";\n`], ['python', 'a.py', (k: string) => `    k = "${k}"\n`]] as const) {
      const key = makeKey.openAiProject();
      const text = `first\n${line(key)}`;
      const lineStart = text.indexOf('\n') + 1;
      const r = ignoreComment(text, lineStart, languageId, 'openai-project-key', 'revoked test key\nfrom the docs');
      const out = apply(text, r);
      assert.match(out, languageId === 'python' ? /\n {4}# tollgate-ignore openai-project-key: revoked test key from the docs\n/ : /\n {2}\/\/ tollgate-ignore openai-project-key: revoked test key from the docs\n/);
      assert.equal(scanText(text, { path }).length, 1);
      assert.deepEqual(scanText(out, { path }), [], `suppressed in ${languageId}`);
    }
  });
});
