import assert from 'node:assert/strict';
import { refusalAnswer } from '../../../src/contracts/refusal';
import type { ErrorKind, RefusalKind } from '../../../src/contracts/refusal';
import { ProxyError } from '../../../src/pipeline/errors';
import type { ProxyFailure } from '../../../src/pipeline/errors';

describe('refusal answers', () => {
  const refusals: readonly [RefusalKind, number, ErrorKind][] = [
    ['rate-limit', 429, 'rate-limit'],
    ['budget', 429, 'budget'],
    ['trace', 429, 'trace'],
    ['entitlement', 403, 'entitlement'],
    ['context', 400, 'context'],
    ['identity', 401, 'identity'],
  ];
  for (const [kind, status, error] of refusals) {
    it(`answers a ${kind} refusal ${status} in the provider's ${error} shape`, () => {
      assert.deepEqual(refusalAnswer(kind), { status, error });
    });
  }

  const failures: readonly [ProxyFailure, number, ErrorKind][] = [
    ['malformed-request', 400, 'bad-request'],
    ['body-too-large', 413, 'too-large'],
    ['unknown-route', 404, 'not-found'],
    ['upstream-timeout', 504, 'timeout'],
    ['forbidden-caller', 403, 'forbidden'],
    ['ledger-unavailable', 503, 'unavailable'],
    ['store-unavailable', 503, 'unavailable'],
    ['draining', 503, 'unavailable'],
  ];
  for (const [reason, status, error] of failures) {
    it(`answers the proxy's ${reason} failure ${status} in the ${error} shape`, () => {
      const err = new ProxyError(reason, 'x');
      assert.equal(err.status, status);
      assert.equal(err.kind, error);
    });
  }
});
