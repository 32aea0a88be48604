import * as assert from 'node:assert/strict';
import { Redactor } from '../../../src/scan/redactor';
import { makeKey } from '../scan/keys';

describe('log redaction (Redactor)', () => {
  it('masks registered secrets wherever they appear', () => {
    const r = new Redactor();
    const admin = `admin-${'q'.repeat(10)}-token-value`;
    r.add(admin);
    assert.equal(r.redact(`token=${admin} and again ${admin}`), 'token=[redacted] and again [redacted]');
  });

  it('masks bearer credentials and JWT-shaped strings it was never told about', () => {
    const r = new Redactor();
    const jwt = ['eyJhbGciOiJFZERTQSJ9', 'eyJzdWIiOiJhbGljZSJ9', 'c2lnbmF0dXJlLXZhbHVl'].join('.');
    const out = r.redact(`Authorization: Bearer abcdefghijklmnop; saw ${jwt}`);
    assert.ok(!out.includes('abcdefghijklmnop') && !out.includes('c2lnbmF0dXJlLXZhbHVl'), out);
  });

  it('replaces provider keys with the scanner’s redacted form', () => {
    const key = makeKey.openAiProject();
    const out = new Redactor().redact(`upstream said: bad key "${key}"`);
    assert.ok(!out.includes(key));
    assert.match(out, /sk-proj-.{0,4}…/);
  });

  it('ignores values too short to be secrets (they would mask ordinary words)', () => {
    const r = new Redactor();
    r.add('abc');
    assert.equal(r.redact('abc def'), 'abc def');
  });
});
