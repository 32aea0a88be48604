// Counting and classifying throughput (MB/s) on ordinary text and on the inputs that cost each
// the most for their size, before and after both were made linear, in one run.
// Run from the repository root: node bench/run.js bench/engine/count.ts [--no-before]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { clearMergeCache, setMergeCacheSize } from 'gpt-tokenizer/encoding/o200k_base';
import { detect } from '../../src/engine/classify';
import type { DetectorName } from '../../src/engine/classify';
import { countText, MERGE_CACHE_PIECES } from '../../src/engine/tokens/count';
import { PIECE_LIMIT } from '../../src/engine/tokens/pieces';
import { base64Blob, letterPieces, minifiedJs, prose, run } from '../../test/helpers/texts';
import { countTextBefore, detectorsBefore } from './count-before';

const withBefore = !process.argv.includes('--no-before');
const all: DetectorName[] = ['email', 'credit-card', 'us-ssn', 'phone'];

/** This repository's TypeScript sources, as ordinary code. */
function sources(size: number): string {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.push(readFileSync(p, 'utf8'));
    }
  };
  walk(path.join(process.cwd(), 'src'));
  return run(files.join('\n'), size);
}

/** Inputs of about `bytes` UTF-8 bytes. */
const inputs: Record<string, (bytes: number) => string> = {
  'prose': (n) => prose(n),
  'code (this repository\'s src/)': (n) => sources(n),
  'one word (random letters, no break)': (n) => letterPieces(n + 1, n),
  "'é' run": (n) => run('é', n / 2),
  "'a.' run (e-mail's hardest before)": (n) => run('a.', n),
  'base64 blob': (n) => base64Blob(n),
  'minified JS': (n) => minifiedJs(n),
  [`letters in ${PIECE_LIMIT}-character pieces (the longest counted exactly)`]: (n) => letterPieces(PIECE_LIMIT, n),
  "'a@b.' run (e-mail's hardest after)": (n) => run('a@b.', n),
  "' 1' run (credit card's hardest)": (n) => run(' 1', n),
  "'123-45-678 ' run (SSN's hardest)": (n) => run('123-45-678 ', n),
  'spaces (phone\'s hardest)': (n) => run(' ', n),
  "'+1 415 555 267' run (phone)": (n) => run('+1 415 555 267', n),
};

/** Seconds of the fastest of a few runs (at least one, more while they are quick); counting starts each run with an empty merge cache. */
function seconds(f: () => void): number {
  let best = Infinity;
  let spent = 0;
  for (let i = 0; i < 5 && (i === 0 || spent < 1); i++) {
    clearMergeCache();
    const start = process.hrtime.bigint();
    f();
    const s = Number(process.hrtime.bigint() - start) / 1e9;
    best = Math.min(best, s);
    spent += s;
  }
  return best;
}

const mbps = (bytes: number, s: number): string => (bytes / 1e6 / s).toFixed(s > 0 ? 2 : 0);

/** Splits a text into `parts` texts, as a body of several messages. */
function split(text: string, parts: number): string[] {
  const size = Math.ceil(text.length / parts);
  return Array.from({ length: parts }, (_, i) => text.slice(i * size, (i + 1) * size));
}

function main(): void {
  console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}`);
  const small = 120_000;
  // Warm up: the first row would otherwise pay for compiling the tokenizer and the detectors.
  for (const make of [inputs.prose!, inputs['minified JS']!]) {
    const text = make(small);
    for (let i = 0; i < 5; i++) {
      countText(text);
      countTextBefore(text);
      detect([text], all);
    }
  }
  console.log(`\n${small / 1000} KB in one text (the issue's size), MB/s; classify runs all four detectors:\n`);
  console.log('| input | count before | count after | classify before | classify after |');
  console.log('|---|---|---|---|---|');
  for (const [name, make] of Object.entries(inputs)) {
    const text = make(small);
    const bytes = Buffer.byteLength(text);
    const countAfter = seconds(() => countText(text));
    const classifyAfter = seconds(() => detect([text], all));
    // The tokenizer's merge cache held 100,000 pieces before.
    setMergeCacheSize(100_000);
    const countBefore = withBefore ? seconds(() => countTextBefore(text)) : NaN;
    setMergeCacheSize(MERGE_CACHE_PIECES);
    const classifyBefore = withBefore ? seconds(() => all.forEach((d) => detectorsBefore[d](text))) : NaN;
    console.log(`| ${name} | ${mbps(bytes, countBefore)} | ${mbps(bytes, countAfter)} | ${mbps(bytes, classifyBefore)} | ${mbps(bytes, classifyAfter)} |`);
  }

  const large = 10_000_000;
  console.log(`\n${large / 1e6} MB as ten 1 MB texts (a body of ten messages; one text over 2 million characters counts as its bytes), after only, MB/s:\n`);
  console.log('| input | count | classify | count + classify, x prose |');
  console.log('|---|---|---|---|');
  let prose10 = 0;
  for (const [name, make] of Object.entries(inputs)) {
    const texts = split(make(large), 10);
    const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t), 0);
    const count = seconds(() => texts.forEach((t) => countText(t)));
    const classify = seconds(() => detect(texts, all));
    if (name === 'prose') prose10 = count + classify;
    console.log(`| ${name} | ${mbps(bytes, count)} | ${mbps(bytes, classify)} | ${((count + classify) / prose10).toFixed(2)} |`);
  }
}

main();
