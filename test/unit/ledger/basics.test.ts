import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalJson } from '../../../src/store/ledger/canonical';
import { LedgerError } from '../../../src/store/ledger/errors';
import { IdGenerator, idTime } from '../../../src/store/ledger/ids';

describe('ledger canonical JSON', () => {
  it('sorts keys at every depth and writes no whitespace', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, 'x'], c: null } }), '{"a":{"c":null,"d":[1,"x"]},"b":1}');
  });
  it('leaves out undefined properties exactly as JSON.stringify does', () => {
    assert.equal(canonicalJson({ a: undefined, b: 2 }), '{"b":2}');
  });
  it('refuses numbers JSON cannot carry', () => {
    assert.throws(() => canonicalJson({ usd: Number.NaN }), (e: unknown) => LedgerError.is(e, 'invalid'));
    assert.throws(() => canonicalJson({ usd: Infinity }), (e: unknown) => LedgerError.is(e, 'invalid'));
  });
  it('is the same for any key order, and survives a JSON round trip', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean())), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        assert.equal(canonicalJson(obj), canonicalJson(reversed));
        assert.equal(canonicalJson(JSON.parse(JSON.stringify(obj))), canonicalJson(obj));
      }),
    );
  });
});

describe('ledger ids', () => {
  it('are 26 characters that sort in time order and carry their time', () => {
    const gen = new IdGenerator();
    const a = gen.next(1_700_000_000_000);
    const b = gen.next(1_700_000_000_001);
    assert.equal(a.length, 26);
    assert.ok(a < b);
    assert.equal(idTime(a), 1_700_000_000_000);
  });
  it('strictly increase within one millisecond and when the clock goes back', () => {
    const gen = new IdGenerator();
    const ids = [gen.next(5000), gen.next(5000), gen.next(4000), gen.next(5000)];
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1] < ids[i], `${ids[i - 1]} < ${ids[i]}`);
  });
  it('continue after the last id of a previous run', () => {
    const first = new IdGenerator();
    const last = first.next(9000);
    const next = new IdGenerator(last).next(9000);
    assert.ok(last < next);
  });
});
