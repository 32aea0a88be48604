// Cuts upstream keys out of what the proxy relays. A client can read a key back from any spelling
// its decoder undoes, so every character of a key is matched in each of them, in any mix: literally,
// as a JSON `\uXXXX` escape (hex digits in either case; a surrogate pair for a character outside the
// BMP), as a JSON short escape where the character has one (`\"`, `\\`, `\/`, ...), and
// percent-encoded (`%73`, `%E2%82%AC`), as a URL in a `location` header or an error message carries it.
//
// Matching is a small nondeterministic automaton run byte by byte: a partial match lives only while
// the bytes seen could still complete a key, so a stream holds back at most the partial match at the
// end of a chunk, never a whole event, and a body without a key costs one table lookup per byte.

import { LRUCache } from 'lru-cache';

const REPLACEMENT = Buffer.from('[redacted]');
const EMPTY = Buffer.alloc(0);

/** Values shorter than this are not keys anyone issues, and cutting them out would mangle ordinary text. */
export const MIN_KEY_BYTES = 8;

// One spelling of one character: per byte position, the two bytes it accepts (the same byte twice
// where case matters).
type Spelling = ReadonlyArray<readonly [number, number]>;

const jsonShortEscapes: ReadonlyMap<number, number> = new Map([
  [0x22, 0x22], [0x5c, 0x5c], [0x2f, 0x2f], [0x08, 0x62], [0x0c, 0x66], [0x0a, 0x6e], [0x0d, 0x72], [0x09, 0x74],
]);

function exact(b: number): readonly [number, number] {
  return [b, b];
}

function anyCase(b: number): readonly [number, number] {
  if (b >= 0x41 && b <= 0x5a) return [b, b + 0x20];
  if (b >= 0x61 && b <= 0x7a) return [b - 0x20, b];
  return [b, b];
}

function hexDigits(value: number, width: number): Array<readonly [number, number]> {
  return [...value.toString(16).padStart(width, '0')].map((d) => anyCase(d.charCodeAt(0)));
}

function spellingsOf(codePoint: number, foldCase: boolean): Spelling[] {
  const utf8 = [...Buffer.from(String.fromCodePoint(codePoint), 'utf8')];
  const utf16 = codePoint > 0xffff ? [0xd800 + ((codePoint - 0x10000) >> 10), 0xdc00 + ((codePoint - 0x10000) & 0x3ff)] : [codePoint];
  const spellings: Spelling[] = [
    utf8.map((b) => (foldCase ? anyCase(b) : exact(b))),
    utf16.flatMap((unit) => [exact(0x5c), exact(0x75), ...hexDigits(unit, 4)]),
    utf8.flatMap((b) => [exact(0x25), ...hexDigits(b, 2)]),
  ];
  const short = jsonShortEscapes.get(codePoint);
  if (short !== undefined) spellings.push([exact(0x5c), exact(short)]);
  return spellings;
}

/**
 * The automaton for a set of keys, built once per set and shared by every response that relays it.
 * States are numbered; a state's edges are `edgeFirst[s]` to `edgeFirst[s + 1]`, each accepting the
 * bytes `edgeA[e]` and `edgeB[e]` and leading to `edgeTo[e]`.
 */
export class KeyPattern {
  // Keys change when a person rotates one; a handful of sets is all a proxy ever sees.
  private static readonly cache = new LRUCache<string, KeyPattern>({ max: 16 });

  /** The pattern for these keys (`foldCase` for header names, which arrive lower-cased), or undefined when none is long enough to be a key. */
  static of(secrets: readonly string[], foldCase = false): KeyPattern | undefined {
    // Every relayed response asks for its call's one key: looked up without building a set of one.
    if (secrets.length === 1) return Buffer.byteLength(secrets[0]!) >= MIN_KEY_BYTES ? KeyPattern.cached(secrets, foldCase) : undefined;
    const keys = [...new Set(secrets.filter((s) => Buffer.byteLength(s) >= MIN_KEY_BYTES))].sort();
    if (keys.length === 0) return undefined;
    return KeyPattern.cached(keys, foldCase);
  }

  /** The pattern for keys already checked, deduplicated and sorted. */
  private static cached(keys: readonly string[], foldCase: boolean): KeyPattern {
    const id = `${foldCase ? 'i' : 's'}\0${keys.join('\0')}`;
    let pattern = KeyPattern.cache.get(id);
    if (!pattern) {
      pattern = new KeyPattern([...keys], foldCase);
      KeyPattern.cache.set(id, pattern);
    }
    return pattern;
  }

  readonly stateCount: number;
  readonly edgeFirst: Int32Array;
  readonly edgeA: Uint8Array;
  readonly edgeB: Uint8Array;
  readonly edgeTo: Int32Array;
  readonly final: Uint8Array;
  /** The edges out of every key's first state, and which bytes can start a match at all. */
  readonly startA: Uint8Array;
  readonly startB: Uint8Array;
  readonly startTo: Int32Array;
  readonly startMask = new Uint8Array(256);
  /**
   * For each byte that can begin a key, the bytes that can follow it in one: in ordinary text most
   * bytes that could begin a key are not followed by one that continues it (an `s` is common, `sk`
   * is not), so the scan skips them without starting a partial match.
   */
  readonly second: ReadonlyArray<Uint8Array | undefined>;
  // Scratch for KeyRedactor.push: which (state, start) pairs the current byte has reached.
  readonly markByte: Int32Array;
  readonly markStart: Int32Array;
  private serial = 0;
  /** Partial matches while a push runs: current and next states and starts, grown as needed. */
  scratch: [Int32Array, Int32Array, Int32Array, Int32Array] = [new Int32Array(64), new Int32Array(64), new Int32Array(64), new Int32Array(64)];

  private constructor(keys: readonly string[], foldCase: boolean) {
    const edges: Array<{ from: number; a: number; b: number; to: number }> = [];
    const finals: number[] = [];
    const firsts: number[] = [];
    let states = 0;
    for (const key of keys) {
      const codePoints = [...key].map((c) => c.codePointAt(0)!);
      const boundary = Array.from({ length: codePoints.length + 1 }, () => states++);
      firsts.push(boundary[0]!);
      finals.push(boundary[codePoints.length]!);
      codePoints.forEach((cp, i) => {
        for (const spelling of spellingsOf(cp, foldCase)) {
          let from = boundary[i]!;
          spelling.forEach(([a, b], pos) => {
            const to = pos === spelling.length - 1 ? boundary[i + 1]! : states++;
            edges.push({ from, a, b, to });
            from = to;
          });
        }
      });
    }
    this.stateCount = states;
    edges.sort((x, y) => x.from - y.from);
    this.edgeFirst = new Int32Array(states + 1);
    this.edgeA = Uint8Array.from(edges, (e) => e.a);
    this.edgeB = Uint8Array.from(edges, (e) => e.b);
    this.edgeTo = Int32Array.from(edges, (e) => e.to);
    for (const e of edges) this.edgeFirst[e.from + 1]!++;
    for (let s = 0; s < states; s++) this.edgeFirst[s + 1]! += this.edgeFirst[s]!;
    this.final = new Uint8Array(states);
    for (const f of finals) this.final[f] = 1;
    const starts = edges.filter((e) => firsts.includes(e.from));
    this.startA = Uint8Array.from(starts, (e) => e.a);
    this.startB = Uint8Array.from(starts, (e) => e.b);
    this.startTo = Int32Array.from(starts, (e) => e.to);
    for (const e of starts) this.startMask[e.a] = this.startMask[e.b] = 1;
    const second: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(256).fill(undefined);
    for (const e of starts) {
      for (const first of [e.a, e.b]) {
        const follows = (second[first] ??= new Uint8Array(256));
        for (const next of edges) if (next.from === e.to) follows[next.a] = follows[next.b] = 1;
      }
    }
    this.second = second;
    this.markByte = new Int32Array(states);
    this.markStart = new Int32Array(states);
  }

  /** A number for the byte being matched, never one a stale mark holds. */
  nextSerial(): number {
    if (this.serial === 0x3fffffff) {
      this.markByte.fill(0);
      this.serial = 0;
    }
    return ++this.serial;
  }
}

/**
 * One stream's redactor: `push` each chunk and send what it returns, then send what `end` returns.
 * Every key occurrence is replaced with `[redacted]`; only the bytes from the start of a partial
 * match at the end of a chunk wait for the next one.
 */
export class KeyRedactor {
  /** Bytes of partial matches carried from the last chunk. */
  private held: Buffer = EMPTY;
  // Partial matches: automaton state and where (in held + chunk) each began, ordered by start.
  private states: number[] = [];
  private starts: number[] = [];
  /** How many key occurrences were cut out so far. */
  redactions = 0;

  constructor(private readonly pattern: KeyPattern) {}

  /** Bytes waiting for the next chunk: those from the start of the earliest partial match on. */
  get heldBytes(): number {
    return this.held.length;
  }

  /** The bytes of `chunk` (and of earlier held bytes) that can be sent now, keys cut out. */
  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return EMPTY;
    const p = this.pattern;
    const { edgeFirst, edgeA, edgeB, edgeTo, final, startA, startB, startTo, startMask, second, markByte, markStart } = p;
    const data = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
    const length = data.length;
    // Partial matches live in the pattern's scratch arrays while this push runs (it runs to its end
    // without yielding, so concurrent streams never share them); only survivors are kept after it.
    const scratch = p.scratch;
    let curStates = scratch[0];
    let curStarts = scratch[1];
    let nextStates = scratch[2];
    let nextStarts = scratch[3];
    let cur = this.states.length;
    if (cur > curStates.length) [curStates, curStarts] = [new Int32Array(cur * 2), new Int32Array(cur * 2)];
    for (let k = 0; k < cur; k++) {
      curStates[k] = this.states[k]!;
      curStarts[k] = this.starts[k]!;
    }
    let spans: number[] | undefined;
    let i = this.held.length;
    while (i < length) {
      if (cur === 0) {
        // Nothing in progress: skip to the next pair of bytes that can begin a key (the common
        // case). A candidate in the chunk's last byte is kept for the next chunk.
        for (; i < length; i++) {
          const follows = second[data[i]!];
          if (follows !== undefined && (i + 1 === length || follows[data[i + 1]!] === 1)) break;
        }
        if (i === length) break;
      }
      const byte = data[i]!;
      const serial = p.nextSerial();
      let n = 0;
      let matchStart = -1;
      for (let k = 0; k < cur; k++) {
        const state = curStates[k]!;
        const start = curStarts[k]!;
        for (let e = edgeFirst[state]!, last = edgeFirst[state + 1]!; e < last; e++) {
          if (byte !== edgeA[e] && byte !== edgeB[e]) continue;
          const to = edgeTo[e]!;
          if (final[to] === 1) {
            if (matchStart < 0 || start < matchStart) matchStart = start;
          } else if (markByte[to] !== serial || markStart[to] !== start) {
            // Alternative spellings that meet again in one state from one start are one partial match.
            markByte[to] = serial;
            markStart[to] = start;
            if (n === nextStates.length) [nextStates, nextStarts] = [grow(nextStates, n), grow(nextStarts, n)];
            nextStates[n] = to;
            nextStarts[n++] = start;
          }
        }
      }
      if (matchStart < 0 && startMask[byte] === 1) {
        for (let e = 0; e < startTo.length; e++) {
          if (byte !== startA[e] && byte !== startB[e]) continue;
          const to = startTo[e]!;
          if (final[to] === 1) {
            matchStart = i;
            break;
          }
          if (markByte[to] === serial && markStart[to] === i) continue;
          markByte[to] = serial;
          markStart[to] = i;
          if (n === nextStates.length) [nextStates, nextStarts] = [grow(nextStates, n), grow(nextStarts, n)];
          nextStates[n] = to;
          nextStarts[n++] = i;
        }
      }
      if (matchStart >= 0) {
        // Every partial match still open overlaps this one, so none of them can leave a whole key
        // behind: drop them and look for the next key after this one.
        (spans ??= []).push(matchStart, i + 1);
        this.redactions++;
        n = 0;
      }
      const states = curStates;
      curStates = nextStates;
      nextStates = states;
      const starts = curStarts;
      curStarts = nextStarts;
      nextStarts = starts;
      cur = n;
      i++;
    }
    p.scratch = [curStates, curStarts, nextStates, nextStarts];
    // Partial matches are ordered by start: everything before the first one can go out.
    const keepFrom = cur > 0 ? curStarts[0]! : length;
    this.states = cur > 0 ? Array.from(curStates.subarray(0, cur)) : [];
    this.starts = cur > 0 ? Array.from(curStarts.subarray(0, cur), (start) => start - keepFrom) : [];
    this.held = keepFrom < length ? Buffer.from(data.subarray(keepFrom)) : EMPTY;
    if (!spans) return keepFrom === length ? data : data.subarray(0, keepFrom);
    const pieces: Buffer[] = [];
    let at = 0;
    for (let s = 0; s < spans.length; s += 2) {
      pieces.push(data.subarray(at, spans[s]), REPLACEMENT);
      at = spans[s + 1]!;
    }
    pieces.push(data.subarray(at, keepFrom));
    return Buffer.concat(pieces);
  }

  /** The stream ended: what was held back completes no key and goes out as it is. */
  end(): Buffer {
    const rest = this.held;
    this.held = EMPTY;
    this.states = [];
    this.starts = [];
    return rest;
  }
}

function grow(a: Int32Array, used: number): Int32Array {
  const b = new Int32Array(used * 2);
  b.set(a.subarray(0, used));
  return b;
}

/** A whole buffer with every key cut out (the same buffer when it holds none). */
export function redactBytes(pattern: KeyPattern, bytes: Buffer): Buffer {
  const redactor = new KeyRedactor(pattern);
  const head = redactor.push(bytes);
  const tail = redactor.end();
  if (redactor.redactions === 0) return bytes;
  return tail.length > 0 ? Buffer.concat([head, tail]) : head;
}

/** A header name or value (Latin-1, as Node hands them over) with every key cut out, or undefined when it holds none. */
export function redactHeaderText(pattern: KeyPattern, text: string): string | undefined {
  if (!mayHoldKey(pattern, text)) return undefined;
  const bytes = Buffer.from(text, 'latin1');
  const out = redactBytes(pattern, bytes);
  return out === bytes ? undefined : out.toString('latin1');
}

/** Whether a whole Latin-1 string has a pair of characters that could begin a key; most header texts have none. */
function mayHoldKey(pattern: KeyPattern, text: string): boolean {
  const second = pattern.second;
  // A key is at least MIN_KEY_BYTES long, so a pair must begin that far from the end.
  for (let i = 0, last = text.length - MIN_KEY_BYTES; i <= last; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) return true;
    const follows = second[code];
    if (follows === undefined) continue;
    const next = text.charCodeAt(i + 1);
    if (next > 0xff || follows[next] === 1) return true;
  }
  return false;
}
