import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { scanText } from '../../../src/scan/scanner';
import { blockScalarText } from '../../../src/scan/yaml-block-scalars';
import { runTollgate } from '../../helpers/cli';
import { TempRepo } from './repo';
import { makeKey, randomChars } from './keys';

const range = (f: { line: number; column: number; endLine: number; endColumn: number } | undefined): number[] => (f ? [f.line, f.column, f.endLine, f.endColumn] : []);

// Every assignment rule, with a key name it knows and a value of its shape.
const assignments: Array<{ rule: string; name: string; value: () => string; context?: string }> = [
  { rule: 'generic-api-key', name: 'WEATHER_API_KEY', value: makeKey.genericSecret },
  { rule: 'azure-openai-key', name: 'AZURE_OPENAI_API_KEY', value: makeKey.azureHex },
  { rule: 'together-api-key-legacy', name: 'together_api_key', value: makeKey.togetherHex },
  { rule: 'mistral-api-key', name: 'mistral_api_key', value: makeKey.mistral },
  { rule: 'cohere-api-key', name: 'COHERE_API_KEY', value: makeKey.cohere },
  { rule: 'deepseek-api-key', name: 'deepseek_api_key', value: makeKey.deepseek },
  { rule: 'aws-secret-access-key', name: 'aws_secret_access_key', value: makeKey.awsSecret },
  { rule: 'jwt-signing-secret', name: 'JWT_SECRET', value: () => randomChars(24) },
];

const headers = ['|', '|-', '|+', '>', '>-', '|2', '>-  # rotated monthly', '!!str |'];

describe('YAML block scalars', () => {
  describe('a key name assigned a block scalar is an assignment', () => {
    for (const a of assignments) {
      it(`${a.rule}: ${a.name}: | (and the other block styles)`, () => {
        for (const header of headers) {
          const value = a.value();
          const text = `# service settings\n${a.name}: ${header}\n  ${value}\nlog_level: info\n`;
          const findings = scanText(text, { path: 'deploy/values.yaml' });
          assert.deepEqual(findings.map((f) => f.ruleId), [a.rule], header);
          assert.deepEqual(range(findings[0]), [3, 3, 3, 3 + value.length], header);
          assert.ok(!JSON.stringify(findings).includes(value));
        }
      });
    }
  });

  it('finds the value under nested mappings, in a sequence of mappings, with a quoted key and CRLF line ends', () => {
    const [a, b, c] = [makeKey.genericSecret(), makeKey.genericSecret(), makeKey.genericSecret()];
    const text = [
      'services:', '  api:', '    env:', '      weather_api_key: >-', `        ${a}`, '      region: eu',
      'clients:', '  - name: billing', '    client_secret: |', `      ${b}`,
      '"ACCESS_TOKEN": |-', '', `    ${c}`, 'done: true', '',
    ].join('\r\n');
    const findings = scanText(text, { path: 'config.yml' });
    assert.deepEqual(findings.map((f) => [f.ruleId, f.line, f.column]), [['generic-api-key', 5, 9], ['generic-api-key', 10, 7], ['generic-api-key', 13, 5]]);
  });

  it('finds a key folded over lines of a > or >- scalar, which YAML would read with a space where the line broke', () => {
    for (const header of ['>', '>-']) {
      for (const make of [makeKey.openAiProject, makeKey.google, makeKey.huggingFace]) {
        const key = make();
        const cut = Math.floor(key.length / 3);
        const text = `openai:\n  api_key: ${header}\n    ${key.slice(0, cut)}\n    ${key.slice(cut)}\nmodel: gpt-4o\n`;
        // What a YAML loader hands the application: the key with a space in it.
        assert.equal((parse(text) as { openai: { api_key: string } }).openai.api_key.trimEnd(), `${key.slice(0, cut)} ${key.slice(cut)}`);
        const findings = scanText(text, { path: 'settings.yaml' });
        assert.equal(findings.length, 1, `${header} ${key.slice(0, 4)}`);
        assert.deepEqual(range(findings[0]), [3, 5, 4, 5 + key.length - cut], `${header} ${key.slice(0, 4)}`);
        assert.match(findings[0]?.redacted ?? '', new RegExp(`…\\(${key.length} chars\\)$`));
      }
    }
  });

  it('keeps placeholders, secret references, prose and block scalars under other names quiet', () => {
    const text = [
      'api_key: |', '  YOUR_API_KEY_HERE_1234',
      'token: >-', '  ${{ secrets.DEPLOY_TOKEN }}',
      'description: >', '  Call the API with the token', '  from the vault, never a literal.',
      'script: |', `  echo ${randomChars(32)}`,
      'notes: >-', `  build ${randomChars(20)}`, `  ${randomChars(20)} done`,
    ].join('\n');
    assert.deepEqual(scanText(text, { path: 'ci.yaml' }).map((f) => `${f.ruleId} ${f.line}`), []);
  });

  it('honours an ignore comment on the line that opens the block', () => {
    const text = `api_key: |  # tollgate-ignore: revoked key kept for the loader test\n  ${makeKey.genericSecret()}\n`;
    assert.deepEqual(scanText(text, { path: 'a.yaml' }), []);
  });

  it('reads only the block scalars that can hold a key: scripts under `run: |` stay in the file\'s lines, folded notes are read joined', () => {
    // How fast a large file is read is measured by bench/scan/readings.ts, not asserted here.
    const job = (i: number): string => `  job${i}:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          npm ci\n          npm test -- --shard=${i}\n      - name: note\n        with:\n          body: >-\n            shard ${i} of the\n            suite finished\n`;
    const text = `jobs:\n${Array.from({ length: 300 }, (_, i) => job(i)).join('')}`;
    const pieces = (blockScalarText(text)?.text ?? '').split('\n\n');
    assert.equal(pieces.length, 300);
    assert.deepEqual(pieces.slice(0, 2), ['body: shard 0 of thesuite finished', 'body: shard 1 of thesuite finished']);
  });

  describe('tollgate scan', () => {
    let repo: TempRepo;
    beforeEach(() => (repo = new TempRepo()));
    afterEach(() => repo.remove());

    it('reports a block scalar key at its line and column in the YAML file, in the tree and staged', async () => {
      const generic = makeKey.genericSecret();
      const folded = makeKey.anthropic();
      repo.write('k8s/secret.yaml', `apiVersion: v1\nkind: ConfigMap\ndata:\n  PAYMENTS_API_KEY: |\n    ${generic}\n  ANTHROPIC_API_KEY: >-\n    ${folded.slice(0, 40)}\n    ${folded.slice(40)}\n`);
      repo.git('add', '.');
      for (const mode of [[], ['--staged']]) {
        const r = await runTollgate(['scan', '--format', 'json', ...mode], { cwd: repo.dir });
        assert.equal(r.code, 1, mode.join(' '));
        const findings = (JSON.parse(r.stdout) as { findings: Array<{ rule: string; line: number; column: number; end: { line: number; column: number } }> }).findings;
        assert.deepEqual(findings.map((f) => [f.rule, f.line, f.column, f.end.line, f.end.column]), [
          ['generic-api-key', 5, 5, 5, 5 + generic.length],
          ['anthropic-api-key', 7, 5, 8, 5 + folded.length - 40],
        ], mode.join(' '));
      }
    });
  });
});
