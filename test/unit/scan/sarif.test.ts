import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { runTollgate } from '../../helpers/cli';
import { TempRepo } from './repo';
import { makeKey } from './keys';

// The official OASIS schema (sarif-2.1/schema/sarif-schema-2.1.0.json, oasis-tcs/sarif-spec@a560296).
const schema = JSON.parse(readFileSync(path.join(__dirname, 'fixtures', 'sarif-schema-2.1.0.json'), 'utf8')) as object;

interface SarifLog {
  version: string;
  runs: Array<{
    tool: { driver: { name: string; rules: Array<{ id: string; properties: Record<string, unknown> }> } };
    results: Array<{
      ruleId: string;
      ruleIndex: number;
      level: string;
      message: { text: string };
      locations: Array<{ physicalLocation: { artifactLocation: { uri: string; uriBaseId: string }; region: { startLine: number; startColumn: number; endLine: number; endColumn: number } } }>;
      partialFingerprints: Record<string, string>;
    }>;
  }>;
}

describe('SARIF output', () => {
  let repo: TempRepo;
  beforeEach(() => (repo = new TempRepo()));
  afterEach(() => repo.remove());

  it('validates against the official SARIF 2.1.0 schema and holds what code scanning needs', async () => {
    const keys = [makeKey.openAiProject(), makeKey.pemPrivateKey('RSA ')];
    repo.write('src/my app/client.ts', `const k = "${keys[0]}";\n`);
    repo.write('deploy/id_rsa', `${keys[1]}\n`);
    const r = await runTollgate(['scan', '--format', 'sarif'], { cwd: repo.dir });
    assert.equal(r.code, 1);
    for (const k of keys) assert.ok(!r.stdout.includes(k));
    const log = JSON.parse(r.stdout) as SarifLog;
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    const validate = ajv.compile(schema);
    assert.ok(validate(log), JSON.stringify(validate.errors, null, 2));

    const run = log.runs[0];
    assert.ok(run);
    assert.equal(log.version, '2.1.0');
    assert.equal(run.tool.driver.name, 'tollgate');
    assert.ok(run.tool.driver.rules.every((rule) => typeof rule.properties['security-severity'] === 'string'));
    const byUri = new Map(run.results.map((res) => [res.locations[0]?.physicalLocation.artifactLocation.uri, res]));
    const client = byUri.get('src/my%20app/client.ts');
    assert.ok(client, [...byUri.keys()].join(','));
    assert.equal(run.tool.driver.rules[client.ruleIndex]?.id, client.ruleId);
    assert.deepEqual(client.locations[0]?.physicalLocation.region, { startLine: 1, startColumn: 12, endLine: 1, endColumn: 12 + (keys[0]?.length ?? 0) });
    assert.equal(client.locations[0]?.physicalLocation.artifactLocation.uriBaseId, '%SRCROOT%');
    assert.match(client.partialFingerprints['tollgateFingerprint/v1'] ?? '', /^openai-project-key:/);
    const pem = byUri.get('deploy/id_rsa');
    assert.equal(pem?.locations[0]?.physicalLocation.region.endLine, 10);
  });

  it('is a valid log with no results on a clean tree', async () => {
    repo.write('a.ts', 'export {};\n');
    const r = await runTollgate(['scan', '--format', 'sarif'], { cwd: repo.dir });
    assert.equal(r.code, 0);
    const ajv = new Ajv({ strict: false });
    addFormats(ajv);
    assert.ok(ajv.validate(schema, JSON.parse(r.stdout)));
    // The schema really constrains: a run without a tool is refused.
    assert.equal(ajv.validate(schema, { version: '2.1.0', runs: [{ results: [] }] }), false);
  });
});
