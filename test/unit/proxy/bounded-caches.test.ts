import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KeyPattern } from '../../../src/proxy/key-redactor';
import { Pseudonyms } from '../../../src/proxy/pseudonym';

// A full cache lets the entry used longest ago go, not every entry at once and not the one just used.
describe('bounded caches', () => {
  it('keeps a key set that is in use when a seventeenth arrives', () => {
    const sets = Array.from({ length: 17 }, (_, i) => [`sk-cache-test-${String(i).padStart(4, '0')}-${'x'.repeat(24)}`]);
    const first = KeyPattern.of(sets[0]!)!;
    for (const keys of sets.slice(1, 16)) KeyPattern.of(keys);
    assert.equal(KeyPattern.of(sets[0]!), first, 'still cached while the cache is not full');
    KeyPattern.of(sets[16]!);
    assert.equal(KeyPattern.of(sets[0]!), first, 'the set used last stays when another comes');
  });

  it('keeps the pseudonyms of people seen lately when the cache fills', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-pseudonym-'));
    try {
      const pseudonyms = Pseudonyms.fromDataDir(dir);
      const cache = Reflect.get(pseudonyms, 'cache') as { size: number; has(key: string): boolean };
      const limit = 50_000;
      for (let i = 0; i < limit; i++) pseudonyms.of(`person-${i}@acme.dev`);
      pseudonyms.of('person-0@acme.dev');
      pseudonyms.of('newcomer@acme.dev');
      pseudonyms.of('another@acme.dev');
      assert.ok(cache.has('person-0@acme.dev'), 'the person seen last is still cached');
      assert.ok(cache.size >= limit - 1, `the cache was emptied: ${cache.size} entries left`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
