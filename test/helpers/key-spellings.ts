// Every way a client could read a key back, written independently of the proxy's redactor so the
// tests do not check it against itself: each character literally, as a JSON \u escape (hex in
// either case), percent-encoded, or as its JSON short escape, in any mix.

const shortEscape: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', '\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't' };
const reEscape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
const hexClass = (value: number, width: number): string => [...value.toString(16).padStart(width, '0')].map((d) => (/[a-f]/.test(d) ? `[${d}${d.toUpperCase()}]` : d)).join('');
const utf16 = (cp: number): number[] => (cp > 0xffff ? [0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff)] : [cp]);

/** A regular expression matching any spelling of `key`, over the Latin-1 view of bytes. */
export function keySpellings(key: string): RegExp {
  return new RegExp(
    [...key]
      .map((ch) => {
        const utf8 = [...Buffer.from(ch, 'utf8')];
        const options = [
          reEscape(Buffer.from(utf8).toString('latin1')),
          utf16(ch.codePointAt(0)!).map((u) => `\\\\u${hexClass(u, 4)}`).join(''),
          utf8.map((b) => `%${hexClass(b, 2)}`).join(''),
        ];
        if (shortEscape[ch] !== undefined) options.push(`\\\\${reEscape(shortEscape[ch])}`);
        return `(?:${options.join('|')})`;
      })
      .join(''),
  );
}

/** Whether any spelling of `key` is in `bytes` (or a string's UTF-8 bytes). */
export function holdsKey(key: string, bytes: Buffer | string): boolean {
  return keySpellings(key).test((typeof bytes === 'string' ? Buffer.from(bytes) : bytes).toString('latin1'));
}

export type Spelling = 'literal' | 'json' | 'percent' | 'short';

/** One character as a client could receive it; `upper` says, digit by digit, which hex digits are upper-case. */
export function spellChar(ch: string, how: Spelling, upper: readonly boolean[] = [false]): string {
  let k = 0;
  const hex = (value: number, width: number): string => [...value.toString(16).padStart(width, '0')].map((d) => (upper[k++ % upper.length] ? d.toUpperCase() : d)).join('');
  if (how === 'json') return utf16(ch.codePointAt(0)!).map((u) => `\\u${hex(u, 4)}`).join('');
  if (how === 'percent') return [...Buffer.from(ch, 'utf8')].map((b) => `%${hex(b, 2)}`).join('');
  if (how === 'short' && shortEscape[ch] !== undefined) return `\\${shortEscape[ch]}`;
  return ch;
}

/** The key with its characters spelled in turn as `how` lists them (cycling), hex case as `upper` says. */
export function spellKey(key: string, how: readonly Spelling[], upper: readonly boolean[] = [false, true]): string {
  return [...key].map((ch, i) => spellChar(ch, how[i % how.length]!, upper.slice(i % upper.length).concat(upper.slice(0, i % upper.length)))).join('');
}
