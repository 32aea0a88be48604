import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { HealthResponse, StateSnapshot } from '../../../src/contracts/admin';
import { AdminApi } from '../../../src/proxy/admin';
import { DashboardSite } from '../../../src/proxy/dashboard-site';
import { rawRequest } from '../../helpers/raw-http';

const TOKEN = 'admin-token-for-the-site-test-0123456789';
const health: HealthResponse = { ok: true, version: '0', policy: { name: 'p', hash: 'h', source: 's' }, ledger: { ok: true }, shadow: false };
const snapshot: StateSnapshot = { time: '', health, accumulators: [], recent: [], spend: { byUser: [], byAgent: [], byModel: [], byDay: [] }, todayUsd: 0 };

async function serve(mediaDir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const admin = new AdminApi(TOKEN, { health: () => health, snapshot: async () => snapshot }, new DashboardSite(mediaDir));
  const server = http.createServer((req, res) => void admin.handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      admin.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('the browser dashboard site (page and assets under /_tollgate/)', () => {
  let dir: string;
  let site: { url: string; close: () => Promise<void> };
  const js = 'console.log("dashboard");\n';
  const css = 'body { color: red }\n';

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-site-'));
    const media = path.join(dir, 'media');
    fs.mkdirSync(media);
    fs.writeFileSync(path.join(media, 'dashboard-browser.js'), js);
    fs.writeFileSync(path.join(media, 'dashboard-browser.css'), css);
    fs.writeFileSync(path.join(media, 'dashboard.js.map'), '{"sources":["secret"]}');
    fs.writeFileSync(path.join(dir, 'admin-token'), TOKEN);
    site = await serve(media);
  });
  after(async () => {
    await site.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page without a token, with a strict CSP whose nonce is fresh on every load and no inline script', async () => {
    const a = await fetch(`${site.url}/_tollgate/`);
    const b = await fetch(`${site.url}/_tollgate/`);
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('content-type'), 'text/html; charset=utf-8');
    const csp = a.headers.get('content-security-policy') ?? '';
    const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values.join(' ')]));
    assert.equal(directives.get('default-src'), `'none'`);
    assert.match(directives.get('script-src') ?? '', /^'nonce-[A-Za-z0-9+/=]{20,}'$/);
    assert.equal(directives.get('style-src'), `'self'`);
    assert.equal(directives.get('connect-src'), `'self'`);
    assert.equal(directives.get('img-src'), `'self' data:`);
    assert.equal(directives.get('frame-ancestors'), `'none'`);
    assert.equal(directives.get('base-uri'), `'none'`);
    assert.equal(directives.get('form-action'), `'none'`);
    assert.ok(!csp.includes('unsafe'), csp);
    for (const [h, v] of [['x-content-type-options', 'nosniff'], ['referrer-policy', 'no-referrer'], ['cache-control', 'no-store'], ['x-frame-options', 'DENY']]) {
      assert.equal(a.headers.get(h!), v, h);
    }
    const html = await a.text();
    const nonce = /'nonce-([^']+)'/.exec(csp)![1]!;
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.equal(scripts.length, 1);
    assert.match(scripts[0]![1]!, new RegExp(`nonce="${nonce.replace(/[+/=]/g, '\\$&')}"`));
    assert.match(scripts[0]![1]!, /src="assets\/dashboard-browser\.js"/);
    assert.equal(scripts[0]![2], '', 'the one script is the bundle, nothing inline');
    assert.doesNotMatch(html, /\sstyle=|<style|\son\w+=/i, 'no inline style or handler');
    assert.ok(!html.includes(TOKEN));
    assert.notEqual(b.headers.get('content-security-policy'), csp, 'a fresh nonce per response');
    await b.text();
  });

  it('redirects /_tollgate to the page and drops any query on the way', async () => {
    for (const target of ['/_tollgate', '/_tollgate?token=abc']) {
      const r = await rawRequest(site.url, { method: 'GET', target });
      assert.equal(r.status, 308, target);
      assert.equal(new URL(r.headers.location!, `${site.url}${target}`).pathname, '/_tollgate/', target);
      assert.equal(new URL(r.headers.location!, 'https://ops.acme.dev/tollgate/_tollgate').pathname, '/tollgate/_tollgate/', 'relative, for a gateway mounted under a path');
    }
  });

  it('serves exactly the two bundles with their content types, and answers HEAD without a body', async () => {
    const script = await fetch(`${site.url}/_tollgate/assets/dashboard-browser.js`);
    assert.equal(script.status, 200);
    assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(script.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(await script.text(), js);
    const style = await fetch(`${site.url}/_tollgate/assets/dashboard-browser.css?v=1`);
    assert.equal(style.headers.get('content-type'), 'text/css; charset=utf-8');
    assert.equal(await style.text(), css);
    const head = await rawRequest(site.url, { method: 'HEAD', target: '/_tollgate/assets/dashboard-browser.js' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(Buffer.byteLength(js)));
    assert.equal(head.body, '');
  });

  it('refuses other methods on the page and the assets with 405', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      for (const target of ['/_tollgate/', '/_tollgate/assets/dashboard-browser.js']) {
        const r = await rawRequest(site.url, { method, target, body: method === 'OPTIONS' ? '' : 'x' });
        assert.equal(r.status, 405, `${method} ${target}`);
        assert.equal(r.headers.allow, 'GET, HEAD');
      }
    }
  });

  it('serves no other file: unknown names, source maps, traversal and prototype names are 404', async () => {
    const targets = [
      '/_tollgate/assets/dashboard.js.map', '/_tollgate/assets/unknown.js', '/_tollgate/assets/',
      '/_tollgate/assets/../admin-token', '/_tollgate/assets/../../admin-token', '/_tollgate/assets/%2e%2e/admin-token',
      '/_tollgate/assets/..%2fadmin-token', '/_tollgate/assets/..%5cadmin-token', '/_tollgate/assets/dashboard-browser.js/../../admin-token',
      '/_tollgate/assets/%2fetc%2fpasswd', '/_tollgate/assets/constructor', '/_tollgate/assets/__proto__', '/_tollgate/assets/toString',
      '/_tollgate/assets/dashboard-browser.js%00', '/_tollgate/assets/DASHBOARD-BROWSER.JS',
    ];
    for (const target of targets) {
      const r = await rawRequest(site.url, { method: 'GET', target });
      assert.equal(r.status, 404, target);
      assert.ok(!r.body.includes(TOKEN) && !r.body.includes('secret'), target);
    }
  });

  it('keeps the admin token on every data route', async () => {
    for (const route of ['/_tollgate/state', '/_tollgate/health', '/_tollgate/events', '/_tollgate/decisions', '/_tollgate/assets', '/_tollgate/index.html']) {
      const r = await fetch(`${site.url}${route}`);
      assert.equal(r.status, 401, route);
      await r.text();
    }
    const ok = await fetch(`${site.url}/_tollgate/state`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), snapshot);
  });

  it('says so when the bundles are not built, instead of a page that cannot load', async () => {
    const bare = await serve(path.join(dir, 'missing'));
    try {
      const page = await fetch(`${bare.url}/_tollgate/`);
      assert.equal(page.status, 503);
      assert.match(await page.text(), /not built/);
      const asset = await fetch(`${bare.url}/_tollgate/assets/dashboard-browser.js`);
      assert.equal(asset.status, 404);
      await asset.text();
    } finally {
      await bare.close();
    }
  });
});
