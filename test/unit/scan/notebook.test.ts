import assert from 'node:assert/strict';
import { scanText } from '../../../src/scan/scanner';
import { notebookText } from '../../../src/scan/notebook';
import { runTollgate } from '../../helpers/cli';
import { TempRepo } from './repo';
import { makeKey, randomChars } from './keys';

interface Cell {
  cell_type: 'code' | 'markdown';
  source: string[] | string;
  outputs?: object[];
}

// As Jupyter writes it: one-space indent, each source line an item ending in a newline.
function notebook(cells: Cell[]): string {
  const full = cells.map((c) => ({ metadata: {}, ...(c.cell_type === 'code' ? { execution_count: 1, outputs: [] } : {}), ...c }));
  return `${JSON.stringify({ cells: full, metadata: { kernelspec: { name: 'python3' } }, nbformat: 4, nbformat_minor: 5 }, null, 1)}\n`;
}

/** 1-based line and column of an offset in a text. */
function positionOf(text: string, offset: number): [number, number] {
  const before = text.slice(0, offset).split('\n');
  return [before.length, (before.at(-1)?.length ?? 0) + 1];
}

/** Where a JSON-escaped fragment sits in the file, and where it ends. */
function spanOf(file: string, first: string, last = first): [number, number, number, number] {
  const start = file.indexOf(JSON.stringify(first).slice(1, -1));
  const lastAt = file.indexOf(JSON.stringify(last).slice(1, -1), start);
  assert.ok(start >= 0 && lastAt >= 0);
  return [...positionOf(file, start), ...positionOf(file, lastAt + JSON.stringify(last).length - 2)];
}

const range = (f: { line: number; column: number; endLine: number; endColumn: number } | undefined): number[] => (f ? [f.line, f.column, f.endLine, f.endColumn] : []);

describe('Jupyter notebooks', () => {
  it('reads a cell as the code it holds: an assignment with quotes escaped in the JSON is found at its place in the .ipynb', () => {
    const key = randomChars(32);
    const file = notebook([{ cell_type: 'code', source: ['import requests\n', `WEATHER_API_KEY = "${key}"\n`, 'requests.get(url, params={"key": WEATHER_API_KEY})'] }]);
    const findings = scanText(file, { path: 'analysis.ipynb' });
    assert.deepEqual(findings.map((f) => f.ruleId), ['generic-api-key']);
    assert.deepEqual(range(findings[0]), spanOf(file, key));
    assert.ok(!JSON.stringify(findings).includes(key));
  });

  it('finds a key split over two source items and reports the whole of it', () => {
    const key = makeKey.openAiProject();
    const cut = 50;
    const file = notebook([{ cell_type: 'code', source: ['from openai import OpenAI\n', `client = OpenAI(api_key="${key.slice(0, cut)}`, `${key.slice(cut)}")\n`] }]);
    const findings = scanText(file, { path: 'nb/chat.ipynb' });
    assert.deepEqual(findings.map((f) => f.ruleId), ['openai-project-key']);
    assert.deepEqual(range(findings[0]), spanOf(file, key.slice(0, cut), key.slice(cut)));
    assert.match(findings[0]?.redacted ?? '', new RegExp(`…\\(${key.length} chars\\)$`));
  });

  it('maps columns through JSON escapes earlier on the line', () => {
    const key = makeKey.groq();
    const line = `print("tab\\there", "quote \\"q\\"", "\\u00e9t\\u00e9"); k = "${key}"\n`;
    const file = notebook([{ cell_type: 'code', source: [line] }]);
    const [f] = scanText(file, { path: 'a.ipynb' });
    assert.deepEqual(range(f), spanOf(file, key));
  });

  it('finds keys printed in outputs: stream text split over items, and execute results', () => {
    const printed = makeKey.anthropic();
    const shown = makeKey.huggingFace();
    const file = notebook([{
      cell_type: 'code',
      source: ['print(os.environ["ANTHROPIC_API_KEY"])\n', 'os.environ["HF_TOKEN"]'],
      outputs: [
        { name: 'stdout', output_type: 'stream', text: ['using ', `${printed.slice(0, 30)}`, `${printed.slice(30)}\n`] },
        { data: { 'text/plain': [`'${shown}'`] }, execution_count: 1, metadata: {}, output_type: 'execute_result' },
      ],
    }]);
    const findings = scanText(file, { path: 'a.ipynb' });
    assert.deepEqual(findings.map((f) => f.ruleId), ['anthropic-api-key', 'huggingface-token']);
    assert.deepEqual(range(findings[0]), spanOf(file, printed.slice(0, 30), printed.slice(30)));
    assert.deepEqual(range(findings[1]), spanOf(file, shown));
  });

  it('keeps placeholders quiet and honours an ignore comment in the cell', () => {
    const file = notebook([
      { cell_type: 'markdown', source: ['Set `OPENAI_API_KEY = "sk-proj-..."` first.'] },
      { cell_type: 'code', source: ['API_KEY = "YOUR_API_KEY"\n', '# tollgate-ignore: revoked key kept for the parsing demo\n', `TOKEN = "${makeKey.github()}"\n`] },
    ]);
    assert.deepEqual(scanText(file, { path: 'a.ipynb' }), []);
  });

  it('reads an ignore comment from the cell\'s lines, not from the one JSON line of a source kept as a single string', () => {
    const key = makeKey.github();
    const ignored = notebook([{ cell_type: 'code', source: `# tollgate-ignore: revoked key kept for the parsing demo\nTOKEN = "${key}"\n` }]);
    assert.deepEqual(scanText(ignored, { path: 'a.ipynb' }), []);
    const tooFar = notebook([{ cell_type: 'code', source: `# tollgate-ignore: applies to the next line only\nLEVEL = 1\nTOKEN = "${key}"\n` }]);
    const findings = scanText(tooFar, { path: 'a.ipynb' });
    assert.deepEqual(findings.map((f) => f.ruleId), ['github-token']);
    assert.deepEqual(range(findings[0]), spanOf(tooFar, key));
  });

  it('reads a notebook\'s sources and text results and steps over its images', () => {
    // How fast a large notebook is read is measured by bench/scan/readings.ts, not asserted here.
    const image = randomChars(1000, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
    const file = notebook(Array.from({ length: 4 }, (_, i) => ({
      cell_type: 'code' as const,
      source: [`x${i} = load(${i})\n`, `plot(x${i})`],
      outputs: [{ data: { 'image/png': image, 'text/plain': ['<Figure size 640x480 with 1 Axes>'] }, metadata: {}, output_type: 'display_data' }],
    })));
    const pieces = notebookText(file)?.text.split('\n\n');
    assert.deepEqual(pieces?.slice(0, 2), ['x0 = load(0)\nplot(x0)', '<Figure size 640x480 with 1 Axes>']);
    assert.equal(pieces?.length, 8);
    assert.deepEqual(scanText(file, { path: 'plots.ipynb' }), []);
  });

  it('gives a key the same fingerprint in the .ipynb file as in the editor\'s cell document', () => {
    const key = makeKey.openAiServiceAccount();
    const code = `client = OpenAI(api_key="${key}")\n`;
    const [inFile] = scanText(notebook([{ cell_type: 'code', source: [code] }]), { path: 'nb/a.ipynb' });
    // The editor scans a notebook cell as a document of its own, named after the notebook.
    const [inCell] = scanText(code, { path: 'nb/a.ipynb' });
    assert.ok(inFile && inCell);
    assert.equal(inFile.fingerprint, inCell.fingerprint);
    assert.deepEqual([inCell.line, inCell.column], [1, 26]);
  });

  it('scans a file named .ipynb that is not a notebook as plain text', () => {
    const key = makeKey.github();
    assert.deepEqual(scanText(`{ "cells": [ broken\ntoken = "${key}"`, { path: 'a.ipynb' }).map((f) => f.ruleId), ['github-token']);
  });

  describe('tollgate scan', () => {
    let repo: TempRepo;
    beforeEach(() => (repo = new TempRepo()));
    afterEach(() => repo.remove());

    it('reports a split notebook key at its line and column in the .ipynb, in the tree and staged', async () => {
      const key = makeKey.google();
      const file = notebook([{ cell_type: 'code', source: ['import google.generativeai as genai\n', `genai.configure(api_key="${key.slice(0, 12)}`, `${key.slice(12)}")\n`] }]);
      repo.write('notebooks/gemini.ipynb', file);
      repo.git('add', '.');
      const [line, column, endLine, endColumn] = spanOf(file, key.slice(0, 12), key.slice(12));
      for (const mode of [[], ['--staged']]) {
        const r = await runTollgate(['scan', ...mode], { cwd: repo.dir });
        assert.equal(r.code, 1, mode.join(' '));
        assert.match(r.stdout, new RegExp(`^notebooks/gemini\\.ipynb:${line}:${column}: error google-api-key AIza`));
        const json = JSON.parse((await runTollgate(['scan', '--format', 'json', ...mode], { cwd: repo.dir })).stdout) as { findings: Array<{ end: { line: number; column: number } }> };
        assert.deepEqual(json.findings.map((f) => [f.end.line, f.end.column]), [[endLine, endColumn]]);
      }
    });
  });
});
