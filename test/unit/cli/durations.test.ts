import assert from 'node:assert/strict';
import { parseDurationArg } from '../../../src/cli/args';
import { parseTimeArg } from '../../../src/cli/audit';
import { UsageError } from '../../../src/cli/io';
import { parseDuration } from '../../../src/engine/units';

describe('durations on the command line', () => {
  it('read the bundle notation, one parser for every flag', () => {
    for (const text of ['500ms', '90s', '30m', '8h', '7d', '1w']) {
      assert.equal(parseDurationArg(text, '--ttl'), parseDuration(text));
    }
    const now = Date.parse('2026-03-01T00:00:00Z');
    assert.equal(parseTimeArg('12h', '--since', now), '2026-02-28T12:00:00.000Z');
    assert.equal(parseTimeArg('2026-01-31', '--since', now).slice(0, 10), '2026-01-31');
  });

  it('refuse a duration without a unit and name the flag', () => {
    assert.throws(() => parseDurationArg('8', '--ttl'), (err: unknown) => err instanceof UsageError && /--ttl '8'/.test(err.message));
    assert.throws(() => parseDurationArg('1 hour', '--ttl'), UsageError);
  });
});
