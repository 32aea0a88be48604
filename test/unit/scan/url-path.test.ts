import assert from 'node:assert/strict';
import { scanText } from '../../../src/scan/scanner';
import { secretRules } from '../../../src/scan/rules';
import { makeKey, randomChars } from './keys';

// Every rule that recognises a key by its own shape, with a builder for that shape.
const selfEvidentKeys: Array<{ rule: string; make: () => string }> = [
  { rule: 'openai-project-key', make: makeKey.openAiProject },
  { rule: 'openai-service-account-key', make: makeKey.openAiServiceAccount },
  { rule: 'openai-admin-key', make: makeKey.openAiAdmin },
  { rule: 'openai-user-key', make: makeKey.openAiLegacy },
  { rule: 'anthropic-api-key', make: makeKey.anthropic },
  { rule: 'anthropic-admin-key', make: makeKey.anthropicAdmin },
  { rule: 'google-api-key', make: makeKey.google },
  { rule: 'huggingface-token', make: makeKey.huggingFace },
  { rule: 'groq-api-key', make: makeKey.groq },
  { rule: 'replicate-api-token', make: makeKey.replicate },
  { rule: 'openrouter-api-key', make: makeKey.openRouter },
  { rule: 'perplexity-api-key', make: makeKey.perplexity },
  { rule: 'xai-api-key', make: makeKey.xai },
  { rule: 'fireworks-api-key', make: makeKey.fireworks },
  { rule: 'together-api-key', make: makeKey.together },
  { rule: 'aws-access-key-id', make: makeKey.awsAccessKeyId },
  { rule: 'github-token', make: makeKey.github },
  { rule: 'github-token', make: makeKey.githubFineGrained },
  { rule: 'gitlab-token', make: makeKey.gitlab },
  { rule: 'slack-token', make: makeKey.slackBot },
  { rule: 'stripe-secret-key', make: makeKey.stripeLive },
  { rule: 'jwt', make: makeKey.jwt },
];

const urls: Array<{ name: string; line: (key: string) => string }> = [
  { name: 'a path segment followed by more path', line: (k) => `const url = "https://api.example.com/v1/${k}/x";` },
  { name: 'the last path segment', line: (k) => `const url = 'https://host/path/${k}';` },
  { name: 'a path segment before a query', line: (k) => `curl -s https://host/hooks/${k}?verbose=1` },
  { name: 'a webhook path in a template literal', line: (k) => 'await fetch(`https://hooks.example.com/services/' + k + '#x`);' },
  { name: 'a URL with escaped slashes in JSON', line: (k) => `{"endpoint": "https:\\/\\/host\\/v1\\/${k}\\/run"}` },
];

describe('keys in URL paths', () => {
  it('every rule bounded like a token has a URL case here', () => {
    const tokenBounded = secretRules.filter((r) => r.pattern.source.startsWith('(?<![A-Za-z0-9_+')).map((r) => r.id);
    assert.deepEqual(tokenBounded.filter((id) => !selfEvidentKeys.some((k) => k.rule === id)), []);
  });

  for (const { rule, make } of selfEvidentKeys) {
    it(`${rule}: found as a URL path segment, at its own range`, () => {
      for (const url of urls) {
        const key = make();
        const text = `// ${url.name}\n${url.line(key)}\n`;
        const findings = scanText(text, { path: 'src/client.ts' });
        assert.deepEqual(findings.map((f) => f.ruleId), [rule], url.name);
        const [f] = findings;
        assert.equal(text.slice(f?.offset, f?.endOffset), key, url.name);
        assert.deepEqual([f?.line, f?.column], [2, text.split('\n')[1]!.indexOf(key) + 1], url.name);
      }
    });
  }

  it('does not read a slash inside base64 or a file path as a boundary', () => {
    const base64 = (k: string): string => `const blob = "${randomChars(40, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123456789+')}/${k}/${randomChars(40)}==";`;
    const filePath = (k: string): string => `const cache = "/home/dev/.cache/${k}/index";`;
    for (const { rule, make } of selfEvidentKeys) {
      for (const line of [base64, filePath]) {
        assert.deepEqual(scanText(line(make()), { path: 'src/a.ts' }).map((f) => f.ruleId), [], `${rule}: ${line.name}`);
      }
    }
  });
});
