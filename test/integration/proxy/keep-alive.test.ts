import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import { MockUpstream } from '../../helpers/mock-upstream';
import { startTestProxy } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';

// A client keeps an idle connection to reuse it, and must never send on one the proxy is closing
// at that moment (the request fails with "other side closed"). Clients and load balancers close
// idle connections after their own timeout (Node's fetch after 4 s, the usual load balancers after
// 60 s): the proxy keeps an idle connection open longer than they do, and says so.

function get(url: string, agent: http.Agent): Promise<{ status: number; keepAlive: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}/_tollgate/health`, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, keepAlive: String(res.headers['keep-alive'] ?? ''), reused: req.reusedSocket }));
    });
    req.on('error', reject);
  });
}

describe('proxy: idle keep-alive connections', function () {
  this.timeout(60_000);
  let mock: MockUpstream;
  let proxy: TestProxy;

  before(async () => {
    mock = new MockUpstream();
    proxy = await startTestProxy(await mock.start());
  });

  after(async () => {
    await proxy?.stop();
    await mock?.stop();
  });

  it('keeps an idle connection open past a minute\'s advertised timeout, so a client reusing it after a pause is answered on it', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await get(proxy.url, agent);
      assert.equal(first.status, 401, 'the admin API answers without a token');
      const advertised = Number(/timeout=(\d+)/.exec(first.keepAlive)?.[1]);
      assert.ok(advertised > 60, `the proxy advertises an idle timeout longer than a load balancer's 60 s: ${first.keepAlive}`);
      // Longer than the 5 s Node servers keep an idle connection by default.
      await new Promise((r) => setTimeout(r, 6_000));
      const second = await get(proxy.url, agent);
      assert.equal(second.status, 401);
      assert.equal(second.reused, true, 'the second request went over the idle connection');
    } finally {
      agent.destroy();
    }
  });
});
