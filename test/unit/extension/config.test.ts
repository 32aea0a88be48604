import * as assert from 'node:assert/strict';
import { parseConfiguration } from '../../../src/extension/core/config';

describe('extension settings (parseConfiguration)', () => {
  it('gives documented defaults when nothing is set', () => {
    const c = parseConfiguration(() => undefined);
    assert.equal(c.policyPath, '');
    assert.equal(c.agent, 'vscode');
    assert.equal(c.tokenTtlHours, 8);
    assert.deepEqual(c.proxy, { autoStart: true, port: 0, dataDir: '', upstreams: {} });
    assert.equal(c.terminal.injectEnvironment, true);
    assert.deepEqual(c.scan, { enabled: true, debounceMs: 300, maxFileBytes: 1_000_000 });
    assert.equal(c.statusBar.warnAt, 0.8);
  });

  it('falls back per setting on wrong types and out-of-range numbers', () => {
    const values: Record<string, unknown> = { 'proxy.port': 70000, 'scan.debounceMs': 'fast', 'statusBar.warnAt': 3, 'proxy.autoStart': 'yes', agent: '  ', tokenTtlHours: -1 };
    const c = parseConfiguration((k) => values[k]);
    assert.equal(c.proxy.port, 0);
    assert.equal(c.scan.debounceMs, 300);
    assert.equal(c.statusBar.warnAt, 0.8);
    assert.equal(c.proxy.autoStart, true);
    assert.equal(c.agent, 'vscode');
    assert.equal(c.tokenTtlHours, 8);
  });

  it('keeps only http(s) upstream URLs with provider-like names', () => {
    const values: Record<string, unknown> = { 'proxy.upstreams': { openai: 'http://127.0.0.1:9000', anthropic: 'ftp://x', 'Bad Name': 'http://a', mistral: 42, groq: 'not a url' } };
    assert.deepEqual(parseConfiguration((k) => values[k]).proxy.upstreams, { openai: 'http://127.0.0.1:9000' });
  });
});
