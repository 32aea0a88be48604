import type { Document, Node } from 'yaml';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';

/** A place in the bundle's text, 1-based like editors show it. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
}

export type PolicyPath = readonly (string | number)[];

/**
 * The parsed YAML of a bundle with a way back from any value's path to its line and column, so
 * every error (syntax, schema or semantic) is reported at the offending value.
 */
export class PolicySource {
  private constructor(
    readonly text: string,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  static parse(text: string): { source: PolicySource; syntaxErrors: { message: string; position: SourcePosition }[] } {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, strict: true });
    const source = new PolicySource(text, doc, lines);
    const syntaxErrors = doc.errors.map((e) => ({
      message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
      position: source.at(e.pos[0], e.pos[1]),
    }));
    return { source, syntaxErrors };
  }

  toJS(): unknown {
    return this.doc.toJS({ maxAliasCount: 100 });
  }

  /** Position of the value at `path`, or of its key when `key` is set; the nearest existing ancestor otherwise. */
  positionOf(path: PolicyPath, key = false): SourcePosition {
    let node: unknown = this.doc.contents;
    let keyNode: unknown;
    let last: unknown = node;
    for (const segment of path) {
      keyNode = undefined;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) break;
        keyNode = pair.key;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        node = node.items[segment];
      } else {
        break;
      }
      if (!node) break;
      last = node;
    }
    const target = (key && keyNode) || last;
    const range = (target as Node | null)?.range;
    if (!range) return { line: 1, column: 1, endLine: 1, endColumn: 1 };
    return this.at(range[0], range[1]);
  }

  private at(start: number, end: number): SourcePosition {
    const a = this.lines.linePos(start);
    const b = this.lines.linePos(Math.max(start, end));
    return { line: a.line, column: a.col, endLine: b.line, endColumn: b.col };
  }
}
