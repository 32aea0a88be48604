import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { codexOnPath, codexPresence, NOT_NOW, offerCodexSetup, SET_UP_CODEX, shouldOfferCodex } from '../../../src/extension/core/codex-offer';
import type { CodexOfferAnswer, CodexOfferPorts } from '../../../src/extension/core/codex-offer';
import { codexProviderState } from '../../../src/agents/codex-config';

interface Recorded {
  asked: { message: string; buttons: string[] }[];
  remembered: CodexOfferAnswer[];
  info: string[];
  error: string[];
}

function ports(env: NodeJS.ProcessEnv, press: string | undefined, answered?: CodexOfferAnswer): CodexOfferPorts & { seen: Recorded } {
  const seen: Recorded = { asked: [], remembered: [], info: [], error: [] };
  let stored: CodexOfferAnswer | undefined = answered;
  return {
    env, seen,
    answered: () => stored,
    remember: async (a) => {
      stored = a;
      seen.remembered.push(a);
    },
    ask: async (message, ...buttons) => {
      seen.asked.push({ message, buttons });
      return press;
    },
    info: (m) => seen.info.push(m),
    error: (m) => seen.error.push(m),
  };
}

describe('the offer to set Codex up', () => {
  let root: string;
  let bin: string;
  let codexHome: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-codex-offer-'));
    bin = path.join(root, 'bin');
    codexHome = path.join(root, 'home', '.codex');
    fs.mkdirSync(bin, { recursive: true });
    fs.mkdirSync(path.join(root, 'home'), { recursive: true });
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const installCodex = (): void => fs.writeFileSync(path.join(bin, 'codex'), '#!/bin/sh\n', { mode: 0o755 });
  const env = (): NodeJS.ProcessEnv => ({ PATH: bin, HOME: path.join(root, 'home') });
  const config = (): string => path.join(codexHome, 'config.toml');

  it('finds codex on PATH only as an executable file', function () {
    if (process.platform === 'win32') this.skip();
    assert.equal(codexOnPath(env()), false);
    fs.writeFileSync(path.join(bin, 'codex'), 'not executable', { mode: 0o644 });
    assert.equal(codexOnPath(env()), false);
    fs.chmodSync(path.join(bin, 'codex'), 0o755);
    assert.equal(codexOnPath(env()), true);
    assert.equal(codexOnPath({ PATH: path.join(root, 'nowhere') }), false);
  });

  it('is made when codex is on PATH or ~/.codex exists, the provider is absent, and nobody answered', () => {
    const none = { onPath: false, home: false, configured: false };
    assert.equal(shouldOfferCodex(none, undefined), false);
    assert.equal(shouldOfferCodex({ ...none, onPath: true }, undefined), true);
    assert.equal(shouldOfferCodex({ ...none, home: true }, undefined), true);
    assert.equal(shouldOfferCodex({ ...none, home: true, configured: true }, undefined), false);
    assert.equal(shouldOfferCodex({ ...none, onPath: true }, 'not-now'), false);
    assert.equal(shouldOfferCodex({ ...none, onPath: true }, 'set-up'), false);
  });

  it('reads presence from the machine: ~/.codex, and a config.toml that already has the provider', () => {
    assert.deepEqual(codexPresence(env()), { onPath: false, home: false, configured: false });
    fs.mkdirSync(codexHome);
    assert.deepEqual(codexPresence(env()), { onPath: false, home: true, configured: false });
    fs.writeFileSync(config(), '[model_providers.tollgate]\nname = "mine"\nbase_url = "http://127.0.0.1:1/openai/v1"\n');
    assert.equal(codexPresence(env()).configured, true);
    assert.equal(codexPresence({ ...env(), CODEX_HOME: path.join(root, 'elsewhere') }).home, false);
  });

  it('asks nothing when Codex is absent', async () => {
    const p = ports(env(), SET_UP_CODEX);
    assert.equal(await offerCodexSetup(p, 'http://127.0.0.1:8787'), 'not-offered');
    assert.deepEqual(p.seen.asked, []);
    assert.equal(fs.existsSync(config()), false);
  });

  it('on "Set Up Codex" writes what `tollgate agents setup codex` writes, keeping the rest of the file, and remembers it', async () => {
    installCodex();
    fs.mkdirSync(codexHome);
    const own = '# mine\nmodel = "gpt-5"\n';
    fs.writeFileSync(config(), own);
    const p = ports(env(), SET_UP_CODEX);
    assert.equal(await offerCodexSetup(p, 'http://127.0.0.1:4100/'), 'set-up');
    assert.deepEqual(p.seen.asked.map((a) => a.buttons), [[SET_UP_CODEX, NOT_NOW]]);
    assert.match(p.seen.asked[0]!.message, /config\.toml/);
    assert.deepEqual(p.seen.remembered, ['set-up']);
    const text = fs.readFileSync(config(), 'utf8');
    assert.ok(text.startsWith('# mine\nmodel = "gpt-5"\n'), text);
    assert.deepEqual(codexProviderState(text), { defined: true, baseUrl: 'http://127.0.0.1:4100/openai/v1', selected: true });
    assert.equal(p.seen.info.length, 1);
    // Once: answered, and set up besides.
    assert.equal(await offerCodexSetup(p, 'http://127.0.0.1:4100'), 'not-offered');
    assert.equal(p.seen.asked.length, 1);
  });

  it('on "Not Now", or a closed notification, writes nothing and does not ask again', async () => {
    installCodex();
    for (const press of [NOT_NOW, undefined]) {
      const p = ports(env(), press);
      assert.equal(await offerCodexSetup(p, 'http://127.0.0.1:8787'), 'declined');
      assert.deepEqual(p.seen.remembered, ['not-now']);
      assert.equal(fs.existsSync(config()), false);
      assert.equal(await offerCodexSetup(p, 'http://127.0.0.1:8787'), 'not-offered');
      assert.equal(p.seen.asked.length, 1);
    }
  });

  it('counts a config.toml it cannot follow as set up: that file is left to the person', () => {
    fs.mkdirSync(codexHome);
    installCodex();
    fs.writeFileSync(config(), '[[model_providers.tollgate]]\nname = "x"\n');
    assert.equal(codexPresence(env()).configured, true);
  });

  it('says why when the setup fails, and does not ask again', async () => {
    installCodex();
    const p = { ...ports(env(), SET_UP_CODEX), setUp: (): never => { throw new Error('EACCES: permission denied'); } };
    assert.equal(await offerCodexSetup(p, 'http://127.0.0.1:8787'), 'failed');
    assert.equal(p.seen.error.length, 1);
    assert.match(p.seen.error[0]!, /permission denied.*tollgate agents setup codex/);
    assert.deepEqual(p.seen.remembered, ['set-up']);
    assert.equal(p.seen.info.length, 0);
  });
});
