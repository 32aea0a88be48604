// What the .vsix carries, read from the package itself: packaged as a release is (package.json's
// `package` script, from the build in dist/), its entries listed, its README parsed and its CLI run
// from an unpacked copy. The extension's page (and the Marketplace's) shows the packaged README, and
// the editor's proxy serves the browser dashboard from the packaged files, so both must be in it.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DASHBOARD_ASSET_FILES, DASHBOARD_PAGE } from '../../src/proxy/dashboard-site';
import { packageVsix } from '../e2e/code-server';
import { startServe } from '../helpers/serve-process';
import type { ServeProcess } from '../helpers/serve-process';
import { readZip } from '../helpers/zip';

const repo = path.resolve(__dirname, '..', '..');
/** Where the editor runs the proxy from (`<extension>/dist/cli.js`), inside the package. */
const PACKAGED_CLI = 'extension/dist/cli.js';

interface ReadmeLink {
  readonly image: boolean;
  readonly target: string;
}

/** Every link and image of a Markdown text: `[text](target "title")`, `![alt](target)` and `<img src>`. */
function readmeLinks(markdown: string): ReadmeLink[] {
  const links: ReadmeLink[] = [];
  for (const m of markdown.matchAll(/(!?)\[(?:[^\][]|!\[[^\][]*\]\([^)]*\))*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({ image: m[1] === '!', target: m[2]! });
  for (const m of markdown.matchAll(/<img\b[^>]*\bsrc=["']([^"']+)["']/gi)) links.push({ image: true, target: m[1]! });
  return links;
}

/** An absolute URL (any scheme) or a protocol-relative one: not a file of the package. */
function isAbsolute(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');
}

describe('the packaged .vsix', function () {
  this.timeout(120_000);
  let tmp: string;
  let vsix: string;
  let entries: Map<string, Buffer>;

  before(function () {
    if (!fs.existsSync(path.join(repo, 'dist', 'cli.js'))) throw new Error('no dist/cli.js: run `npm run build` first, the package is made from the build');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-vsix-'));
    vsix = path.join(tmp, 'tollgate.vsix');
    packageVsix(repo, path.join(tmp, 'stage'), vsix);
    entries = readZip(vsix);
  });

  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('carries every file the browser dashboard serves, in media/ beside the CLI the editor runs', () => {
    assert.ok(entries.has(PACKAGED_CLI), `the CLI is packaged: ${[...entries.keys()].join(', ')}`);
    assert.ok(DASHBOARD_ASSET_FILES.length > 0);
    for (const name of DASHBOARD_ASSET_FILES) {
      const entry = `${path.posix.dirname(PACKAGED_CLI)}/media/${name}`;
      assert.ok(entries.get(entry)?.length, `${entry} is in the package`);
    }
  });

  describe('its CLI, unpacked alone', () => {
    let serve: ServeProcess | undefined;
    let unpacked: string;

    before(async () => {
      unpacked = path.join(tmp, 'unpacked');
      for (const [name, bytes] of entries) {
        if (name.endsWith('/')) continue;
        const file = path.join(unpacked, name);
        assert.ok(file.startsWith(unpacked + path.sep), `an entry stays inside the folder: ${name}`);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, bytes);
      }
      const dataDir = path.join(tmp, 'data');
      serve = await startServe(['--data-dir', dataDir, '--policy', path.join(unpacked, 'extension', 'policies', 'reference.yaml')], {}, path.join(unpacked, PACKAGED_CLI));
    });

    after(async () => {
      if (serve) {
        serve.child.kill('SIGTERM');
        await serve.exited;
      }
    });

    it('serves the dashboard page and each file the page names, byte for byte from the package', async () => {
      const page = await fetch(`${serve!.url}${DASHBOARD_PAGE}`);
      const html = await page.text();
      assert.equal(page.status, 200, `the page is served, not "${html.trim()}"`);
      const named = [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      assert.ok(named.length >= 2, `the page names its script and stylesheet: ${JSON.stringify(named)}`);
      for (const ref of named) {
        const url = new URL(ref, `${serve!.url}${DASHBOARD_PAGE}`);
        const res = await fetch(url);
        const body = Buffer.from(await res.arrayBuffer());
        assert.equal(res.status, 200, `${url.pathname} is served`);
        const file = entries.get(`${path.posix.dirname(PACKAGED_CLI)}/media/${path.posix.basename(url.pathname)}`);
        assert.ok(file && body.equals(file), `${url.pathname} is the packaged file`);
      }
    });
  });

  it('keeps the README’s links relative, each naming a file in the package', () => {
    const readmeEntry = [...entries.keys()].find((n) => /^extension\/readme\.md$/i.test(n));
    assert.ok(readmeEntry, 'the README is packaged');
    const links = readmeLinks(entries.get(readmeEntry)!.toString('utf8'));
    const images = links.filter((l) => l.image);
    assert.ok(images.length >= 2, `the README shows its screenshots: ${JSON.stringify(images)}`);
    for (const image of images) assert.ok(!isAbsolute(image.target), `an image is shown from the package, not from ${image.target}`);
    for (const link of links.filter((l) => !isAbsolute(l.target) && !l.target.startsWith('#'))) {
      const file = path.posix.normalize(`extension/${decodeURI(link.target.split('#')[0]!)}`);
      assert.ok(file.startsWith('extension/') && entries.get(file)?.length, `${link.target} names a file in the package (${file})`);
    }
  });
});
