import assert from 'node:assert/strict';
import { ruleSummaries } from '../../../src/views/policy-summary';
import { policyFrom, referencePolicy, referenceText } from '../../helpers/policy';

describe('the policy in force, as the dashboard lists it', () => {
  it('gives every limit and budget of the bundle one line, in the bundle\'s order', () => {
    const rules = ruleSummaries(referencePolicy());
    assert.deepEqual(rules.map((r) => r.id), ['user-rate', 'agent-burst', 'user-tokens', 'pii-flow', 'marketing-cohort', 'tool-burst', 'user-daily', 'team-monthly']);
    const byId = new Map(rules.map((r) => [r.id, r]));
    assert.deepEqual(byId.get('user-rate'), { id: 'user-rate', kind: 'limit', per: 'user', text: '120/min requests, burst 60' });
    assert.equal(byId.get('user-tokens')!.text, '200000 tokens per 1h (sliding)');
    assert.equal(byId.get('pii-flow')!.text, '5 requests per 1min (sliding)');
    assert.deepEqual(byId.get('user-daily'), { id: 'user-daily', kind: 'budget', per: 'user', text: '$5 per day, then downgrade to gpt-4o-mini, alerts at 50% / 80%' });
    assert.equal(byId.get('team-monthly')!.text, '$500 per month, then refuse');
  });

  it('follows an edit of the bundle', () => {
    const edited = policyFrom(referenceText.replace('limit_usd: 5\n', 'limit_usd: 7.5\n'));
    assert.match(ruleSummaries(edited).find((r) => r.id === 'user-daily')!.text, /^\$7\.5 per day/);
  });
});
