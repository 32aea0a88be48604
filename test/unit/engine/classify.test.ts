import assert from 'node:assert/strict';
import { classify, detectors, luhnValid } from '../../../src/engine/classify';
import { referencePolicy } from '../../helpers/policy';

describe('classification detectors', () => {
  it('finds e-mail addresses', () => {
    assert.ok(detectors.email('write to jane.doe+x@example.co.uk today'));
    assert.ok(!detectors.email('the @decorator and user@localhost'));
  });

  it('finds card numbers only when the Luhn check holds', () => {
    assert.ok(luhnValid('4111111111111111'));
    assert.ok(!luhnValid('4111111111111112'));
    assert.ok(detectors['credit-card']('card 4111 1111 1111 1111 exp 12/29'));
    assert.ok(detectors['credit-card']('amex 3782-822463-10005'));
    assert.ok(!detectors['credit-card']('order 4111 1111 1111 1112'));
    assert.ok(!detectors['credit-card']('id 0000000000000000'), 'a run of one digit is not a card');
    assert.ok(!detectors['credit-card']('timestamp 1732363200000'), 'a 13-digit timestamp failing Luhn is not a card');
  });

  it('finds US social security numbers, not impossible ones', () => {
    assert.ok(detectors['us-ssn']('SSN 123-45-6789'));
    for (const bad of ['000-12-3456', '666-12-3456', '912-12-3456', '123-00-4567', '123-45-0000', '2024-01-15']) {
      assert.ok(!detectors['us-ssn'](`x ${bad} y`), bad);
    }
  });

  it('finds formatted phone numbers, not bare ids or dates', () => {
    for (const p of ['(415) 555-2671', '415-555-2671', '+1 415 555 2671', '+44 20 7946 0958', '415.555.2671']) assert.ok(detectors.phone(`call ${p}`), p);
    for (const n of ['order 4155552671', 'on 2026-11-23', 'version 1.2.3', 'port 8080']) assert.ok(!detectors.phone(n), n);
  });
});

describe('classify()', () => {
  const policy = referencePolicy();

  it('labels a prompt carrying PII with the bundle label and its weight', () => {
    const c = classify(policy, ['please email bob@acme.dev the report']);
    assert.deepEqual(c.labels, ['pii']);
    assert.equal(c.weight, 5);
  });

  it('leaves a clean prompt unlabelled at weight 1', () => {
    assert.deepEqual(classify(policy, ['summarise the quarterly plan']), { labels: [], weight: 1 });
  });

  it('lets a caller add a declared label, never remove a detected one', () => {
    assert.deepEqual(classify(policy, ['clean text'], ['pii']).labels, ['pii']);
    assert.deepEqual(classify(policy, ['ssn 123-45-6789'], []).labels, ['pii']);
    assert.deepEqual(classify(policy, ['clean'], ['unknown-label']).labels, []);
  });
});
