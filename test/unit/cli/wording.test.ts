import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { APPROVE_UPSTREAM_HOSTS_COMMAND, SET_UPSTREAM_KEY_COMMAND } from '../../../src/contracts/command-titles';
import { counted, dollars, plural, wholeUp } from '../../../src/contracts/wording';
import { amount, usage } from '../../../src/engine/rules/wording';
import { missingKeyMessage, WITHHELD_KEYS_ENV } from '../../../src/pipeline/missing-key';
import { openaiErrorBody } from '../../../src/providers/openai/adapter';
import { summaryLine } from '../../../src/scan/report';
import { runTollgate } from '../../helpers/cli';
import { referenceText } from '../../helpers/policy';

describe('numbers people read', () => {
  it('a count agrees with its noun', () => {
    assert.equal(counted(0, 'file'), '0 files');
    assert.equal(counted(1, 'file'), '1 file');
    assert.equal(counted(2, 'file'), '2 files');
    assert.equal(counted(1, 'staged file'), '1 staged file');
    assert.equal(plural(1, 'entry', 'entries'), 'entry');
    assert.equal(plural(3, 'entry', 'entries'), 'entries');
  });

  it('requests and tokens are whole, rounded up (a part in use leaves less than one free), float noise ignored', () => {
    assert.equal(wholeUp(19.52), 20);
    assert.equal(wholeUp(19), 19);
    assert.equal(wholeUp(20.000000000000004), 20);
    assert.equal(wholeUp(-0.2), 0);
    assert.equal(amount(1, 'requests'), '1 request');
    assert.equal(amount(19.52, 'requests'), '20 requests');
    assert.equal(amount(4095.3, 'tokens'), '4096 tokens');
  });

  it('a refusal states where the limit stands and what the call needs in one sentence', () => {
    assert.equal(usage(19, 20, 1, 'requests'), '19 of 20 requests used; this request needs 1 request');
    assert.equal(usage(19.52, 20, 1, 'requests'), '20 of 20 requests used; this request needs 1 request');
    assert.equal(usage(900.4, 1000, 250, 'tokens'), '901 of 1000 tokens used; this request needs 250 tokens');
    assert.equal(usage(4.99, 5, 0.002, 'usd'), '$4.99 of $5.00 used; this request needs $0.0020');
  });

  it('money has sensible precision and no float noise', () => {
    assert.equal(dollars(12.5), '$12.50');
    assert.equal(dollars(0.0015485999999999998), '$0.0015');
    assert.equal(dollars(0.1 + 0.2), '$0.3000');
    assert.equal(dollars(0.000031), '$0.000031');
    assert.equal(dollars(0.0000001234), '$0.00000012');
    assert.equal(dollars(0), '$0.0000');
    assert.doesNotMatch(dollars(1e-12), /e/);
  });

  it('the scan summary agrees in number', () => {
    const report = { findings: [], filesScanned: 1, bytesScanned: 10, skipped: { binary: 0, 'too-large': 0, minified: 0 }, suppressed: 0, errors: ['x'], root: '/', staged: false };
    assert.equal(summaryLine(report), 'tollgate scan: 0 findings; scanned 1 file (10 B); 1 error');
    assert.match(summaryLine({ ...report, filesScanned: 2, staged: true, errors: [] }), /scanned 2 staged files/);
  });

  it('policy check counts one error as "1 error" and its summary agrees in number', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-wording-'));
    fs.writeFileSync(path.join(dir, 'one.yaml'), referenceText.replace('rate: 60/min', 'rate: 60/fortnight'));
    const bad = await runTollgate(['policy', 'check', 'one.yaml'], { cwd: dir });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^1 error in one\.yaml$/m);
  });
});

describe('the words refusals use', () => {
  it('an entitlement refusal names what it denies in its code; unnamed, a model', () => {
    const code = (details?: Parameters<typeof openaiErrorBody>[2]): unknown => (openaiErrorBody('entitlement', 'no', details) as { error: { code: unknown } }).error.code;
    assert.equal(code({ notEntitled: 'route' }), 'route_not_entitled');
    assert.equal(code({ notEntitled: 'provider' }), 'provider_not_entitled');
    assert.equal(code({ notEntitled: 'model' }), 'model_not_entitled');
    assert.equal(code(), 'model_not_entitled');
  });

  it("the missing-key messages name the editor's commands exactly as the command palette shows them", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '../../../package.json'), 'utf8')) as { contributes: { commands: { command: string; title: string; category?: string }[] } };
    const palette = (id: string): string => {
      const c = pkg.contributes.commands.find((x) => x.command === id);
      assert.ok(c, `package.json contributes ${id}`);
      return c.category ? `${c.category}: ${c.title}` : c.title;
    };
    assert.equal(SET_UPSTREAM_KEY_COMMAND.title, palette(SET_UPSTREAM_KEY_COMMAND.id));
    assert.equal(APPROVE_UPSTREAM_HOSTS_COMMAND.title, palette(APPROVE_UPSTREAM_HOSTS_COMMAND.id));
    const provider = { name: 'openai', keyEnv: 'OPENAI_API_KEY' };
    assert.ok(missingKeyMessage(provider, {}).includes(`"${palette('tollgate.setUpstreamKey')}"`));
    const withheld = missingKeyMessage(provider, { [WITHHELD_KEYS_ENV]: JSON.stringify({ openai: 'https://gateway.example' }) });
    assert.ok(withheld.includes(`"${palette('tollgate.approveUpstreamHosts')}"`), withheld);
  });
});
