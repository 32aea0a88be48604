// Texts for the cost tests and bench/engine/count.ts: ordinary prose, and the inputs that cost
// token counting and the classification detectors the most for their size.

/** A deterministic generator, so every run measures the same text. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

const words = (
  'the of and to in is that it for as with was on be by this are from at or an which have not but they ' +
  'his her their we can all more one has been would will there when who what so if about out up into ' +
  'budget quarterly report team plan review release engineer customer model request policy limit cost ' +
  'should could because between through during before after under against without within across ' +
  'committee approved hiring travel expenses rose sharply noted figures summary decision proposal ' +
  'meeting schedule deadline project feature question answer problem solution example result value ' +
  'people years time way day work part place case point government company number group world ' +
  'important different following possible available particular information development research'
).split(' ');

/** English-like prose of `size` characters: sentences of common words, commas, numbers, paragraphs. */
export function prose(size: number, seed = 1): string {
  const rnd = random(seed);
  const out: string[] = [];
  let length = 0;
  while (length < size) {
    const n = 6 + Math.floor(rnd() * 14);
    const sentence: string[] = [];
    for (let i = 0; i < n; i++) {
      let w = words[Math.floor(rnd() * words.length)]!;
      if (i === 0) w = w[0]!.toUpperCase() + w.slice(1);
      if (rnd() < 0.03) w = String(Math.floor(rnd() * 10_000));
      sentence.push(i < n - 1 && rnd() < 0.08 ? `${w},` : w);
    }
    const text = `${sentence.join(' ')}.${rnd() < 0.15 ? '\n\n' : ' '}`;
    out.push(text);
    length += text.length;
  }
  return out.join('').slice(0, size);
}

/** `unit` repeated to exactly `size` characters. */
export function run(unit: string, size: number): string {
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}

/** Random bytes in base64, as a pasted image or archive arrives. */
export function base64Blob(size: number, seed = 2): string {
  const rnd = random(seed);
  const bytes = Buffer.alloc(Math.ceil((size * 3) / 4));
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rnd() * 256);
  return bytes.toString('base64').slice(0, size);
}

/** Minified JavaScript: short names and punctuation, no whitespace or line breaks. */
export function minifiedJs(size: number, seed = 3): string {
  const rnd = random(seed);
  const name = (): string => 'abcdefghijklmnopqrstuvwxyz$_'[Math.floor(rnd() * 28)]! + (rnd() < 0.5 ? 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[Math.floor(rnd() * 62)]! : '');
  const forms = [
    (): string => `function ${name()}(${name()},${name()}){return ${name()}.${name()}(${name()})}`,
    (): string => `var ${name()}=${name()}[${Math.floor(rnd() * 100)}]||{};`,
    (): string => `if(${name()}!==${name()}&&${name()}.length>${Math.floor(rnd() * 9)}){${name()}+=${name()}}`,
    (): string => `${name()}.${name()}("${name()}${name()}",function(${name()}){${name()}(${name()})});`,
    (): string => `for(${name()}=0;${name()}<${name()}.length;${name()}++)${name()}[${name()}]=!0;`,
  ];
  const out: string[] = [];
  let length = 0;
  while (length < size) {
    const s = forms[Math.floor(rnd() * forms.length)]!();
    out.push(s);
    length += s.length;
  }
  return out.join('').slice(0, size);
}

/** Random lowercase letters in pieces of `piece` characters, each ended by a digit. */
export function letterPieces(piece: number, size: number, seed = 4): string {
  const rnd = random(seed);
  let out = '';
  while (out.length < size) {
    for (let i = 0; i < piece; i++) out += String.fromCharCode(97 + Math.floor(rnd() * 26));
    out += '7';
  }
  return out.slice(0, size);
}

/** The least CPU time of `runs` calls of `f`, in ms: the least is the one least disturbed. */
export function leastMs(f: () => unknown, runs = 3): number {
  let least = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    f();
    least = Math.min(least, Number(process.hrtime.bigint() - start) / 1e6);
  }
  return least;
}
