import assert from 'node:assert/strict';
import type { AccumulatorView } from '../../../src/contracts/admin';
import { DEFAULT_TELEMETRY } from '../../../src/engine/policy/model';
import { fillSeries } from '../../../src/telemetry/accumulator-fill';
import { MAX_NAME_LENGTH } from '../../../src/telemetry/genai-names';
import { BoundedValues, OTHER_VALUE, personLabel, personOfKey } from '../../../src/telemetry/metric-labels';

const budget = (key: string, used: number, limit = 10, rule = 'user-daily'): AccumulatorView => ({ rule, kind: 'budget', key, unit: 'usd', used, limit });

describe('metric labels', () => {
  it('passes the first values of a caller-chosen label and folds the rest into _OTHER', () => {
    const models = new BoundedValues(2);
    assert.equal(models.of('gpt-4o-mini'), 'gpt-4o-mini');
    assert.equal(models.of('claude-haiku-4-5'), 'claude-haiku-4-5');
    assert.equal(models.of('model-3'), OTHER_VALUE);
    assert.equal(models.of('gpt-4o-mini'), 'gpt-4o-mini', 'a series once started keeps its name');
    assert.equal(models.of('model-4'), OTHER_VALUE);
  });

  it('cuts a caller-chosen value to a length a name needs, so a series never holds a body-sized label', () => {
    const models = new BoundedValues(2);
    const long = `gpt-4o-${'x'.repeat(1_000_000)}`;
    assert.equal(models.of(long).length, MAX_NAME_LENGTH);
    assert.equal(models.of(`${long}y`), models.of(long), 'values alike in their first characters share a series');
  });

  it('names a person only with per_person_metrics, and as the bundle names people in traces', () => {
    const pseudonymOf = (u: string): string => `tg-${u.length}`;
    assert.equal(personLabel(DEFAULT_TELEMETRY, 'bob@acme.dev', pseudonymOf), undefined);
    const on = { ...DEFAULT_TELEMETRY, perPersonMetrics: true };
    assert.equal(personLabel(on, 'bob@acme.dev', pseudonymOf), 'tg-12');
    assert.equal(personLabel({ ...on, identity: 'user' }, 'bob@acme.dev', pseudonymOf), 'bob@acme.dev');
    assert.equal(personLabel({ ...on, identity: 'none' }, 'bob@acme.dev', pseudonymOf), undefined);
  });

  it('finds the person in an accumulator key, and none in keys without one', () => {
    assert.equal(personOfKey('user:bob@acme.dev'), 'bob@acme.dev');
    assert.equal(personOfKey('agent:bob@acme.dev/ci/nightly'), 'bob@acme.dev');
    assert.equal(personOfKey('classification:pii,user:alice@acme.dev'), 'alice@acme.dev');
    assert.equal(personOfKey('role:ml-engineers'), undefined);
    assert.equal(personOfKey('session:abc'), undefined);
    assert.equal(personOfKey(''), undefined);
  });
});

describe('accumulator fill series', () => {
  const views = [budget('user:alice@acme.dev', 2), budget('user:bob@acme.dev', 8), budget('user:carol@acme.dev', 5), budget('role:ml', 1, 10, 'team-monthly'), budget('user:bob@acme.dev', 3, 10, 'not-exported')];

  it('collapses a per-person rule into one series, its fullest accumulator, when no person is labelled', () => {
    const series = fillSeries(views, new Set(['user-daily', 'team-monthly']), () => undefined);
    assert.deepEqual(series, [
      { rule: 'user-daily', kind: 'budget', unit: 'usd', person: undefined, used: 8, limit: 10, fill: 0.8 },
      { rule: 'team-monthly', kind: 'budget', unit: 'usd', person: undefined, used: 1, limit: 10, fill: 0.1 },
    ]);
  });

  it('keeps one series per person when the person is labelled, and leaves out rules not exported', () => {
    const series = fillSeries(views, new Set(['user-daily']), (key) => personOfKey(key));
    assert.deepEqual(series.map((s) => [s.person, s.fill]), [['alice@acme.dev', 0.2], ['bob@acme.dev', 0.8], ['carol@acme.dev', 0.5]]);
  });

  it('reports a zero limit as empty rather than dividing by it', () => {
    assert.equal(fillSeries([budget('user:a', 3, 0)], new Set(['user-daily']), () => undefined)[0]!.fill, 0);
  });
});
