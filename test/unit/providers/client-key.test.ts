import assert from 'node:assert/strict';
import type { KeyPlace } from '../../../src/providers/adapter';
import { clientKeyOf, upstreamQuery } from '../../../src/providers/client-key';

const inQuery: KeyPlace[] = [{ query: 'key' }, { header: 'x-goog-api-key' }];
const inHeaders: KeyPlace[] = [{ header: 'authorization', scheme: 'Bearer' }, { header: 'x-api-key' }];

describe('client keys where a style puts them', () => {
  it('reads the first place the client filled', () => {
    assert.equal(clientKeyOf(inQuery, {}, '?alt=sse&key=tok%2B1'), 'tok+1');
    assert.equal(clientKeyOf(inQuery, { 'x-goog-api-key': 'tok-2' }, '?alt=sse'), 'tok-2');
    assert.equal(clientKeyOf(inHeaders, { authorization: ['Bearer tok-3', 'Bearer other'] }, ''), 'tok-3');
    assert.equal(clientKeyOf(inHeaders, { authorization: 'bearer   tok-4  ' }, ''), 'tok-4', 'the scheme in any case, spaces around the key');
    assert.equal(clientKeyOf(inHeaders, {}, ''), undefined);
  });

  it('keeps a key read from the query out of the query sent upstream, and every other parameter as written', () => {
    assert.equal(upstreamQuery(inQuery, '?alt=sse&key=tok&x=%41'), '?alt=sse&x=%41');
    assert.equal(upstreamQuery(inQuery, '?key=tok'), '');
    assert.equal(upstreamQuery(inQuery, '?k%65y=tok&a=1'), '?a=1', 'an encoded spelling of the name is the same parameter');
    assert.equal(upstreamQuery(inQuery, ''), '');
  });

  it('sends the query byte for byte when the style reads no key from it', () => {
    assert.equal(upstreamQuery(inHeaders, '?key=kept&b=%2F'), '?key=kept&b=%2F');
  });
});
