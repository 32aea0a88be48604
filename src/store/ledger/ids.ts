import { randomFillSync } from 'node:crypto';

// Crockford base32, as ULID uses: ids sort as strings in time order and read unambiguously.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * ULID-style ids: 48 bits of milliseconds then 80 random bits, 26 characters. Within one
 * millisecond the random part is incremented, so ids from one generator are strictly increasing
 * even when the clock repeats a millisecond (monotonic ULID).
 */
export class IdGenerator {
  private lastMs = -1;
  private readonly random = new Uint8Array(10);
  // Random bytes drawn 4 KiB at a time: one call into the system's generator per 409 milliseconds
  // that see a record, rather than one per millisecond (it showed in the proxy's profile).
  private readonly pool = Buffer.alloc(4096);
  private poolOffset = 4096;

  /** Continues after `lastId` (the journal's last record), so ids keep increasing across restarts. */
  constructor(lastId?: string) {
    if (lastId && /^[0-9A-HJKMNP-TV-Z]{26}$/.test(lastId)) {
      this.lastMs = idTime(lastId);
      this.random.set(decodeRandom(lastId.slice(10)));
    }
  }

  next(ms: number): string {
    if (ms <= this.lastMs) {
      ms = this.lastMs;
      this.increment();
    } else {
      this.lastMs = ms;
      if (this.poolOffset + 10 > this.pool.length) {
        randomFillSync(this.pool);
        this.poolOffset = 0;
      }
      this.random.set(this.pool.subarray(this.poolOffset, this.poolOffset + 10));
      this.poolOffset += 10;
    }
    return encodeTime(ms) + encodeRandom(this.random);
  }

  private increment(): void {
    for (let i = this.random.length - 1; i >= 0; i--) {
      if (this.random[i] !== 0xff) {
        this.random[i] += 1;
        return;
      }
      this.random[i] = 0;
    }
  }
}

function encodeTime(ms: number): string {
  let out = '';
  let t = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): string {
  // 80 bits = 16 characters of 5 bits, read most significant first.
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

/** The millisecond timestamp an id was made at. */
export function idTime(id: string): number {
  let t = 0;
  for (const ch of id.slice(0, 10)) t = t * 32 + ALPHABET.indexOf(ch);
  return t;
}

function decodeRandom(chars: string): Uint8Array {
  const out = new Uint8Array(10);
  let acc = 0;
  let bits = 0;
  let i = 0;
  for (const ch of chars) {
    acc = (acc << 5) | ALPHABET.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[i++] = (acc >> bits) & 0xff;
      acc &= (1 << bits) - 1;
    }
  }
  return out;
}
