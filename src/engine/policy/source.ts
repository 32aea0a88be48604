import type { CST, Document, Node, Pair, YAMLMap } from 'yaml';
import { Composer, isMap, isPair, isScalar, isSeq, Lexer, LineCounter, parseDocument, Parser, visit } from 'yaml';

/** A place in the bundle's text, 1-based like editors show it. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
}

export type PolicyPath = readonly (string | number)[];

export interface SyntaxIssue {
  readonly message: string;
  readonly position: SourcePosition;
}

/**
 * What a bundle may cost to read. A policy is a few kilobytes a few levels deep; beyond these it is
 * an accident or an attack (a "billion laughs" alias bomb, nesting that exhausts the stack), and
 * it is refused with an error instead of taking the process down.
 */
export const parseLimits = { maxBytes: 256 * 1024, maxDepth: 64, maxAliasCount: 100 } as const;

const start: SourcePosition = { line: 1, column: 1, endLine: 1, endColumn: 1 };

const collections = new Set(['block-map', 'block-seq', 'flow-collection']);

/** How many collections are open: the parser's stack holds each one until it closes. */
function openCollections(parser: Parser): number {
  let depth = 0;
  for (const token of parser.stack) if (collections.has(token.type)) depth++;
  return depth;
}

/** Whether a value (which aliases may have made circular) is nested deeper than `maxDepth`. */
function deeperThan(value: unknown, maxDepth: number): boolean {
  const stack: { v: unknown; depth: number }[] = [{ v: value, depth: 0 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > maxDepth) return true;
    for (const child of Object.values(v)) stack.push({ v: child, depth: depth + 1 });
  }
  return false;
}

/**
 * The parsed YAML of a bundle with a way back from any value's path to its line and column, so
 * every error (syntax, schema or semantic) is reported at the offending value.
 */
export class PolicySource {
  private value: unknown;
  private readonly pairIndex = new WeakMap<YAMLMap, Map<string, Pair>>();

  private constructor(
    readonly text: string,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  static parse(text: string): { source: PolicySource; syntaxErrors: SyntaxIssue[] } {
    const lines = new LineCounter();
    const bytes = Buffer.byteLength(text);
    if (bytes > parseLimits.maxBytes) {
      const kib = (n: number): string => `${Math.ceil(n / 1024)} KiB`;
      return { source: PolicySource.unread(text, lines), syntaxErrors: [{ message: `the bundle is ${kib(bytes)}; a policy bundle may be at most ${kib(parseLimits.maxBytes)}`, position: start }] };
    }
    // What parseDocument does, one lexeme at a time: composing a document recurses once per level
    // and the parser slows as its stack grows, so nesting is bounded while the text is read.
    const parser = new Parser(lines.addNewLine);
    lines.addNewLine(0);
    const tokens: CST.Token[] = [];
    for (const lexeme of new Lexer().lex(text)) {
      tokens.push(...parser.next(lexeme));
      if (openCollections(parser) > parseLimits.maxDepth) {
        const source = PolicySource.unread(text, lines);
        return { source, syntaxErrors: [{ message: `nested deeper than ${parseLimits.maxDepth} levels; a policy bundle is never this deep`, position: source.at(parser.offset, parser.offset) }] };
      }
    }
    tokens.push(...parser.end());
    // Duplicate keys are found below in one pass; yaml's own check compares every pair of keys.
    const [doc, ...more] = new Composer({ prettyErrors: false, uniqueKeys: false, strict: true }).compose(tokens, true, text.length);
    const source = new PolicySource(text, doc!, lines);
    const syntaxErrors = doc!.errors.map((e) => ({
      message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
      position: source.at(e.pos[0], e.pos[1]),
    }));
    if (more[0]) syntaxErrors.push({ message: 'a policy bundle is one YAML document; this starts a second', position: source.at(more[0].range[0], more[0].range[1]) });
    syntaxErrors.push(...source.duplicateKeys());
    if (syntaxErrors.length === 0) {
      const problem = source.expand();
      if (problem) syntaxErrors.push(problem);
    }
    return { source, syntaxErrors };
  }

  private static unread(text: string, lines: LineCounter): PolicySource {
    return new PolicySource(text, parseDocument(''), lines);
  }

  /** A key given twice in one mapping, which would otherwise silently override the first. */
  private duplicateKeys(): SyntaxIssue[] {
    const issues: SyntaxIssue[] = [];
    visit(this.doc, {
      Map: (_key, map) => {
        const seen = new Map<string, SourcePosition>();
        for (const pair of map.items) {
          if (!isScalar(pair.key) || !pair.key.range) continue;
          const name = String(pair.key.value);
          const position = this.at(pair.key.range[0], pair.key.range[1]);
          const first = seen.get(name);
          if (first) issues.push({ message: `duplicate key '${name}' (first given at line ${first.line})`, position });
          else seen.set(name, position);
        }
      },
    });
    return issues;
  }

  /** Turns the document into plain values, refusing aliases that multiply it or make it circular. */
  private expand(): SyntaxIssue | undefined {
    const aliasAt = (): SourcePosition => {
      let first: Node | undefined;
      visit(this.doc, { Alias: (_key, node) => ((first = node), visit.BREAK) });
      return first?.range ? this.at(first.range[0], first.range[1]) : start;
    };
    try {
      this.value = this.doc.toJS({ maxAliasCount: parseLimits.maxAliasCount });
    } catch (err) {
      if (!(err instanceof ReferenceError || err instanceof RangeError)) throw err;
      return { message: `aliases here expand the bundle too far (a "billion laughs" alias bomb is refused)`, position: aliasAt() };
    }
    if (deeperThan(this.value, parseLimits.maxDepth)) {
      return { message: `aliases here nest the bundle deeper than ${parseLimits.maxDepth} levels, or make it refer to itself`, position: aliasAt() };
    }
    return undefined;
  }

  /** The bundle as plain values; only meaningful when parse() reported no syntax error. */
  toJS(): unknown {
    return this.value;
  }

  /** Position of the value at `path`, or of its key when `key` is set; the nearest existing ancestor otherwise. */
  positionOf(path: PolicyPath, key = false): SourcePosition {
    let node: unknown = this.doc.contents;
    let keyNode: unknown;
    let last: unknown = node;
    for (const segment of path) {
      keyNode = undefined;
      if (isMap(node)) {
        const pair = this.pairsOf(node).get(String(segment));
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

  /** A mapping's pairs by key, indexed once: a bundle with thousands of errors would otherwise search each mapping per error. */
  private pairsOf(map: YAMLMap): ReadonlyMap<string, Pair> {
    let index = this.pairIndex.get(map);
    if (!index) {
      index = new Map();
      for (const pair of map.items) {
        const k = isPair(pair) && isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (k !== undefined && !index.has(k)) index.set(k, pair);
      }
      this.pairIndex.set(map, index);
    }
    return index;
  }

  private at(start: number, end: number): SourcePosition {
    const a = this.lines.linePos(start);
    const b = this.lines.linePos(Math.max(start, end));
    return { line: a.line, column: a.col, endLine: b.line, endColumn: b.col };
  }
}
