// How long the quota preview takes to find the model calls in a large file, against the
// TypeScript compiler's own parse of the same text (the baseline, measured in the same run), and
// what a cached lookup costs. Usage: node bench/run.js bench/preview/parse.ts [runs]
import ts from 'typescript';
import { PreviewCache } from '../../src/preview/document-preview';

const runs = Number(process.argv[2] ?? 5);
const lines = Array.from({ length: 10_000 }, (_, i) => `export function f${i}(x: number): number { return x * ${i}; }`);
lines.splice(5_000, 0, "await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });");
const text = lines.join('\n');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const cache = new PreviewCache();
  const doc = { uri: 'file:///big.ts', version: 1, languageId: 'typescript', fileName: 'big.ts', getText: (): string => text };
  await cache.calls(doc); // loads the compiler once
  const parse: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    ts.createSourceFile('big.ts', text, ts.ScriptTarget.Latest, true);
    baseline.push(performance.now() - t);
    cache.forget(doc.uri);
    t = performance.now();
    await cache.calls(doc);
    parse.push(performance.now() - t);
  }
  const t = performance.now();
  for (let i = 0; i < 1000; i++) await cache.calls(doc);
  const cached = (performance.now() - t) / 1000;
  console.log(`10,001-line file: preview ${median(parse).toFixed(1)} ms, compiler parse alone ${median(baseline).toFixed(1)} ms (ratio ${(median(parse) / median(baseline)).toFixed(2)}), cached lookup ${(cached * 1000).toFixed(1)} µs`);
}

void main();
