import assert from 'node:assert/strict';
import { parseRedisSpec, reconnectDelay, redactSpec } from '../../../src/store/redis/connection';
import { StoreError } from '../../../src/store/redis/errors';
import { createStore } from '../../../src/store/store-factory';
import { MemoryStore } from '../../../src/store/memory-store';
import { referencePolicy } from '../../helpers/policy';

describe('team mode store specs', () => {
  it('parses redis://, rediss:// (TLS), passwords, databases and cluster seed lists', () => {
    assert.deepEqual(parseRedisSpec('redis://127.0.0.1:6379'), { cluster: false, urls: ['redis://127.0.0.1:6379'], namespace: undefined, display: 'redis://127.0.0.1:6379' });
    const tls = parseRedisSpec('rediss://:s3cret@cache.internal:6380/2');
    assert.deepEqual(tls.urls, ['rediss://:s3cret@cache.internal:6380/2']);
    assert.equal(tls.display, 'rediss://:***@cache.internal:6380/2', 'the password never reaches a log');
    const acl = parseRedisSpec('redis://tollgate:pw@h:1?namespace=team-a');
    assert.equal(acl.namespace, 'team-a');
    assert.equal(acl.display, 'redis://tollgate:***@h:1?namespace=team-a');
    const cluster = parseRedisSpec('rediss+cluster://u:pw@n1:7000,n2:7001');
    assert.equal(cluster.cluster, true);
    assert.deepEqual(cluster.urls, ['rediss://u:pw@n1:7000', 'rediss://u:pw@n2:7001']);
  });

  it('refuses specs it cannot honour, with a config error that hides the password', () => {
    for (const bad of ['http://h:1', 'redis://', 'redis://a:1,b:2', 'redis://h:1/x', 'redis+cluster://h:1/3', 'redis://h:1?db=2', 'redis://:topsecret@h:1/zz']) {
      assert.throws(() => parseRedisSpec(bad), (err: unknown) => StoreError.is(err, 'config') && !err.message.includes('topsecret'), bad);
    }
  });

  it('backs off exponentially to about 2 s between reconnect attempts', () => {
    assert.ok(reconnectDelay(0) >= 50 && reconnectDelay(0) < 100);
    assert.ok(reconnectDelay(3) >= 400 && reconnectDelay(3) < 450);
    assert.ok(reconnectDelay(50) >= 2000 && reconnectDelay(50) < 2050);
    assert.equal(redactSpec('redis://h:1'), 'redis://h:1');
  });

  it('builds the memory store by default and refuses unknown stores', async () => {
    const policy = referencePolicy();
    for (const spec of [undefined, '', 'memory']) {
      const s = await createStore(spec, policy);
      assert.ok(s instanceof MemoryStore);
      await s.close();
    }
    await assert.rejects(createStore('postgres://u:pw@h/db', policy), (err: unknown) => StoreError.is(err, 'config') && !err.message.includes('pw@'));
  });
});
