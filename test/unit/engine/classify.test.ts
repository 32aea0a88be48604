import assert from 'node:assert/strict';
import fc from 'fast-check';
import { classify, classifyDetected, detect, detectors, detectorsOf, luhnValid } from '../../../src/engine/classify';
import { referencePolicy } from '../../helpers/policy';
import { run } from '../../helpers/texts';

/** The detectors as they were written first, as unbounded patterns: the reference for what must still be found. */
const reference = {
  email: (t: string): boolean => /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/.test(t),
  card: (t: string): boolean => {
    const candidate = /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g;
    for (let m = candidate.exec(t); m; m = candidate.exec(t)) {
      const digits = m[0].replace(/[ -]/g, '');
      if (digits.length >= 13 && digits.length <= 19 && !/^(\d)\1+$/.test(digits) && luhnValid(digits)) return true;
    }
    return false;
  },
};

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

describe('classification detectors on any text', () => {
  it('find an e-mail address exactly where the unbounded pattern did, on texts up to the RFC lengths (fast-check)', () => {
    const text = fc.array(fc.constantFrom('a', 'Z', '0', '.', '-', '_', '%', '+', '@', ' ', 'é', '\n', 'co', 'x@y.com'), { maxLength: 60 }).map((cs) => cs.join(''));
    fc.assert(fc.property(text, (t) => assert.equal(detectors.email(t), reference.email(t), JSON.stringify(t))), { numRuns: 5_000 });
  });

  it('find a card number exactly where the first version did (fast-check)', () => {
    const digitRuns = fc.array(fc.oneof(fc.constantFrom(' ', '-', 'x', '4111 1111 1111 1111', '3782-822463-10005', '4111111111111112'), fc.integer({ min: 0, max: 9 }).map(String)), { maxLength: 60 });
    fc.assert(fc.property(digitRuns.map((cs) => cs.join('')), (t) => assert.equal(detectors['credit-card'](t), reference.card(t), JSON.stringify(t))), { numRuns: 5_000 });
  });

  it('still find an address after a local part longer than RFC 5321\'s 64 characters, and none in a domain over 255', () => {
    assert.ok(detectors.email(`${'a'.repeat(300)}@example.com`));
    assert.ok(!detectors.email(`x@${'a'.repeat(300)}.com`));
    assert.ok(detectors.email(`x@${'a'.repeat(250)}.com`));
  });

  // Linear patterns answer a 120 KB run at once; a backtracking one would not finish within the
  // test's time (what each costs against prose is measured in bench/engine/count.ts, not here).
  it('answer on the 120 KB runs each detector finds hardest, as on short texts', () => {
    const size = 120_000;
    const hardest: Record<keyof typeof detectors, [string, boolean][]> = {
      email: [[run('a.', size), false], [run('a', size), false], [run('a@', size), false], [run('a@b.', size), false], [run(`a@${'b.'.repeat(126)}b`, size), true]],
      'credit-card': [[run(' 1', size), false], [run('4111 1111 1111 1112 ', size), false], [run('1-', size), false]],
      'us-ssn': [[run('123-45-678 ', size), false], [run('1-', size), false]],
      phone: [[run(' ', size), false], [run(' -.', size), false], [run('+1 415 555 267', size), true], [run('(415) 555-267 ', size), false]],
    };
    for (const [name, cases] of Object.entries(hardest)) {
      for (const [t, found] of cases) assert.equal(detectors[name as keyof typeof detectors](t), found, `${name} on ${JSON.stringify(t.slice(0, 16))}`);
    }
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

  it('labels from detections made beforehand exactly as from the texts', () => {
    const texts = ['please email bob@acme.dev', 'card 4111 1111 1111 1111'];
    assert.deepEqual(detectorsOf(policy).sort(), ['credit-card', 'email', 'phone', 'us-ssn']);
    assert.deepEqual(detect(texts, detectorsOf(policy)).sort(), ['credit-card', 'email']);
    assert.deepEqual(classifyDetected(policy, detect(texts, detectorsOf(policy))), classify(policy, texts));
    assert.deepEqual(classifyDetected(policy, [], ['pii']).labels, ['pii']);
    assert.deepEqual(classifyDetected(policy, []), { labels: [], weight: 1 });
  });
});
