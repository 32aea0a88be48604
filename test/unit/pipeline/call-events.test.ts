import assert from 'node:assert/strict';
import { CallEvents } from '../../../src/pipeline/call-events';
import type { UnverifiedEvent } from '../../../src/pipeline/call-events';

const refusal = (): UnverifiedEvent => ({ provider: 'openai', status: 404, reason: 'unknown-route', countedIn: () => undefined });

describe('call events', () => {
  it('calls listeners in the order they subscribed, until they unsubscribe', () => {
    const events = new CallEvents();
    const heard: string[] = [];
    events.on('unverified', () => heard.push('first'));
    const off = events.on('unverified', () => heard.push('second'));
    events.emit('unverified', refusal());
    off();
    events.emit('unverified', refusal());
    assert.deepEqual(heard, ['first', 'second', 'first']);
  });

  it('reports a listener that throws and still runs the others', () => {
    const failures: string[] = [];
    const events = new CallEvents((err, name) => failures.push(`${name}: ${err.message}`));
    let after = false;
    events.on('unverified', () => {
      throw new Error('broken view');
    });
    events.on('unverified', () => (after = true));
    events.emit('unverified', refusal());
    assert.deepEqual(failures, ['unverified: broken view']);
    assert.equal(after, true);
  });
});
