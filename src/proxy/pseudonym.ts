import { createHmac, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { readOrCreateSecret } from '../store/data-dir';

export const PSEUDONYM_KEY_FILE = 'pseudonym-key';

/**
 * The provider's end-user field carries a keyed pseudonym of the person: stable per person, so a
 * provider's abuse reports can be traced back through the ledger, but no address leaves the proxy.
 */
export class Pseudonyms {
  private readonly cache = new LRUCache<string, string>({ max: 50_000 });
  private constructor(private readonly key: Buffer) {}

  static fromDataDir(dir: string): Pseudonyms {
    return new Pseudonyms(Buffer.from(readOrCreateSecret(dir, PSEUDONYM_KEY_FILE, () => randomBytes(32).toString('hex')).trim(), 'hex'));
  }

  of(user: string): string {
    let p = this.cache.get(user);
    if (!p) {
      p = `tg-${createHmac('sha256', this.key).update(user).digest('hex').slice(0, 32)}`;
      this.cache.set(user, p);
    }
    return p;
  }
}
