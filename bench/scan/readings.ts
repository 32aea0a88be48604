// What the scanner's second readings cost: a notebook's cells and a YAML file's block scalars,
// against scanning the same text as plain text (the baseline, measured in the same run).
// Usage: node bench/run.js bench/scan/readings.ts [runs]
import { scanText } from '../../src/scan/scanner';
import { notebookText } from '../../src/scan/notebook';
import { blockScalarText } from '../../src/scan/yaml-block-scalars';
import { randomChars } from '../../test/unit/scan/keys';

const runs = Number(process.argv[2] ?? 5);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timed(run: () => unknown): number {
  const started = performance.now();
  run();
  return performance.now() - started;
}

// 40 cells, two of them showing a 1 MB plot: 2 MB of JSON that is mostly base64.
function notebookWithPlots(): string {
  const image = randomChars(1000, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/').repeat(1000);
  const cells = Array.from({ length: 40 }, (_, i) => ({
    cell_type: 'code', execution_count: i + 1, metadata: {},
    source: [`x${i} = load(${i})\n`, `plot(x${i})`],
    outputs: [{ data: { 'image/png': i % 20 === 0 ? image : 'iVBORw0KGgo=', 'text/plain': ['<Figure size 640x480 with 1 Axes>'] }, metadata: {}, output_type: 'display_data' }],
  }));
  return JSON.stringify({ cells, metadata: {}, nbformat: 4, nbformat_minor: 5 }, null, 1);
}

// A CI workflow of 3,000 jobs, each with a `run: |` script and a folded `>-` note.
function largeWorkflow(): string {
  const job = (i: number): string => `  job${i}:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          npm ci\n          npm test -- --shard=${i}\n      - name: note\n        with:\n          body: >-\n            shard ${i} of the\n            suite finished\n`;
  return `jobs:\n${Array.from({ length: 3000 }, (_, i) => job(i)).join('')}`;
}

function measure(name: string, text: string, path: string, read: () => unknown): void {
  const reading: number[] = [];
  const asText: number[] = [];
  const asItself: number[] = [];
  read();
  scanText(text, { path });
  for (let i = 0; i < runs; i++) {
    reading.push(timed(read));
    asText.push(timed(() => scanText(text, { path: 'plain.txt' })));
    asItself.push(timed(() => scanText(text, { path })));
  }
  console.log(`${name} (${(text.length / 2 ** 20).toFixed(2)} MB): reading ${median(reading).toFixed(1)} ms; scan as ${path} ${median(asItself).toFixed(1)} ms, as plain text ${median(asText).toFixed(1)} ms (ratio ${(median(asItself) / median(asText)).toFixed(2)})`);
}

const notebook = notebookWithPlots();
const workflow = largeWorkflow();
measure('notebook with plots', notebook, 'plots.ipynb', () => notebookText(notebook));
measure('workflow with 6,000 block scalars', workflow, 'ci.yml', () => blockScalarText(workflow));
