import type { StyleName } from '../contracts/call';
import type { ApiKind, FanOut, FoundCall, PromptPart, SourceRange } from './found-call';
import { mayContainModelCalls, pathApiOf, routeOf, sdkApiOf } from './found-call';
import type { PyToken } from './python-tokens';
import { tokenizePython } from './python-tokens';

// Finds model calls in Python over the tokenizer's stream: accessor chains ending in an SDK
// method, and `requests`/`httpx`-style `.post(url, json=...)` to a provider path; blocks from
// INDENT/DEDENT tell which loops and functions enclose each call.

/** An expression's value, as far as literals tell. */
type PyValue =
  | { readonly kind: 'str'; readonly text: string; readonly dynamic: number; readonly range: SourceRange; readonly single: boolean }
  | { readonly kind: 'num'; readonly value: number }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'list'; readonly items: readonly PyValue[] }
  | { readonly kind: 'dict'; readonly entries: ReadonlyMap<string, PyValue> }
  | { readonly kind: 'dynamic' };

const DYNAMIC: PyValue = { kind: 'dynamic' };
/** What lies before the first token. */
const NOTHING: PyToken = { kind: 'newline', text: '', start: 0, end: 0 };

interface Block {
  readonly kind: 'loop' | 'function' | 'other';
  readonly name?: string;
  readonly start: number;
  /** Token index range of the block's body, filled in when it closes. */
  bodyFrom: number;
  bodyTo: number;
}

interface Bracket {
  readonly open: number;
  readonly callee: readonly string[];
  hasFor: boolean;
  close: number;
}

class PyFinder {
  private readonly consts = new Map<string, PyValue>();
  readonly calls: FoundCall[] = [];

  constructor(private readonly toks: readonly PyToken[]) {}

  private at(i: number): PyToken {
    return i < 0 ? NOTHING : this.toks[Math.min(i, this.toks.length - 1)]!;
  }

  private isOp(i: number, text: string): boolean {
    const t = this.at(i);
    return t.kind === 'op' && t.text === text;
  }

  /** Index of the bracket closing the one at `open`. */
  private closing(open: number): number {
    let depth = 0;
    for (let i = open; i < this.toks.length; i++) {
      const t = this.toks[i]!;
      if (t.kind !== 'op') continue;
      if (t.text === '(' || t.text === '[' || t.text === '{') depth++;
      else if (t.text === ')' || t.text === ']' || t.text === '}') {
        depth--;
        if (depth === 0) return i;
      }
    }
    return this.toks.length - 1;
  }

  /** Splits tokens [from, to) at top-level commas. */
  private split(from: number, to: number): [number, number][] {
    const out: [number, number][] = [];
    let depth = 0;
    let s = from;
    for (let i = from; i < to; i++) {
      const t = this.toks[i]!;
      if (t.kind === 'op') {
        if (t.text === '(' || t.text === '[' || t.text === '{') depth++;
        else if (t.text === ')' || t.text === ']' || t.text === '}') depth--;
        else if (t.text === ',' && depth === 0) {
          if (i > s) out.push([s, i]);
          s = i + 1;
        }
      }
    }
    if (to > s) out.push([s, to]);
    return out;
  }

  private value(from: number, to: number): PyValue {
    if (from >= to) return DYNAMIC;
    const first = this.toks[from]!;
    // ("a" "b") is one string across lines; (x, y) is a tuple, not known.
    if (first.kind === 'op' && first.text === '(' && this.closing(from) === to - 1 && this.split(from + 1, to - 1).length === 1) return this.value(from + 1, to - 1);
    // Adjacent string literals concatenate; `+` between strings too.
    if (first.kind === 'string' || (first.kind === 'name' && to - from > 1 && this.isOp(from + 1, '+'))) {
      let text = '';
      let dynamic = 0;
      let count = 0;
      let ok = true;
      for (let i = from; i < to; i++) {
        const t = this.toks[i]!;
        if (t.kind === 'string') {
          text += t.value ?? '';
          dynamic += t.dynamic ?? 0;
          count++;
        } else if (t.kind === 'op' && t.text === '+') continue;
        else if (t.kind === 'name' && (i + 1 === to || this.isOp(i + 1, '+'))) {
          const c = this.consts.get(t.text);
          if (c?.kind === 'str') text += c.text;
          else dynamic++;
          count++;
        } else if (t.kind === 'op' && t.text === '.' && this.at(i + 1).text === 'join' && this.isOp(i + 2, '(')) {
          // "sep".join([...literals])
          const close = this.closing(i + 2);
          const list = this.value(i + 3, close);
          if (list.kind === 'list' && close + 1 === to) {
            const parts = list.items.map((p) => (p.kind === 'str' ? p : { text: '', dynamic: 1 }));
            return { kind: 'str', text: parts.map((p) => p.text).join(text), dynamic: dynamic + parts.reduce((n, p) => n + p.dynamic, 0), range: { start: first.start, end: this.at(close).end }, single: false };
          }
          ok = false;
          break;
        } else {
          ok = false;
          break;
        }
      }
      if (ok) return { kind: 'str', text, dynamic, range: { start: first.start, end: this.toks[to - 1]!.end }, single: count === 1 && first.kind === 'string' && (first.dynamic ?? 0) === 0 };
      return DYNAMIC;
    }
    if (to - from === 1) {
      if (first.kind === 'number') {
        const n = Number(first.text.replace(/_/g, ''));
        return Number.isFinite(n) ? { kind: 'num', value: n } : DYNAMIC;
      }
      if (first.kind === 'name') {
        if (first.text === 'True' || first.text === 'False') return { kind: 'bool', value: first.text === 'True' };
        return this.consts.get(first.text) ?? DYNAMIC;
      }
    }
    const close = first.kind === 'op' ? this.closing(from) : -1;
    if (first.kind === 'op' && first.text === '[' && close === to - 1) {
      const inner = this.split(from + 1, close);
      if (this.toks.slice(from + 1, close).some((t) => t.kind === 'name' && t.text === 'for')) return DYNAMIC;
      return { kind: 'list', items: inner.map(([a, b]) => (this.isOp(a, '*') ? DYNAMIC : this.value(a, b))) };
    }
    if (first.kind === 'op' && first.text === '{' && close === to - 1) {
      const entries = new Map<string, PyValue>();
      for (const [a, b] of this.split(from + 1, close)) {
        const k = this.at(a);
        if (k.kind === 'string' && this.isOp(a + 1, ':')) entries.set(k.value ?? '', this.value(a + 2, b));
        else if (k.kind === 'name' && this.isOp(a + 1, ':')) {
          const c = this.consts.get(k.text);
          if (c?.kind === 'str') entries.set(c.text, this.value(a + 2, b));
        }
      }
      return { kind: 'dict', entries };
    }
    if (first.kind === 'name' && first.text === 'dict' && this.isOp(from + 1, '(') && this.closing(from + 1) === to - 1) {
      return { kind: 'dict', entries: this.kwargs(from + 1).named };
    }
    return DYNAMIC;
  }

  /** The arguments of the call whose `(` is at `open`. */
  private kwargs(open: number): { positional: PyValue[]; named: Map<string, PyValue>; splat: boolean } {
    const close = this.closing(open);
    const positional: PyValue[] = [];
    const named = new Map<string, PyValue>();
    let splat = false;
    for (const [a, b] of this.split(open + 1, close)) {
      const t = this.at(a);
      if (t.kind === 'name' && this.isOp(a + 1, '=')) named.set(t.text, this.value(a + 2, b));
      else if (this.isOp(a, '**') || this.isOp(a, '*')) splat = true;
      else positional.push(this.value(a, b));
    }
    return { positional, named, splat };
  }

  run(): FoundCall[] {
    const toks = this.toks;
    // Constants: NAME = <literal> as a whole statement, at any level; the first binding wins.
    for (let i = 0; i < toks.length; i++) {
      const prev = i > 0 ? toks[i - 1]!.kind : 'newline';
      if (toks[i]!.kind === 'name' && (prev === 'newline' || prev === 'indent' || prev === 'dedent') && this.isOp(i + 1, '=')) {
        let end = i + 2;
        while (end < toks.length && toks[end]!.kind !== 'newline') end++;
        const v = this.value(i + 2, end);
        if (v.kind !== 'dynamic' && !this.consts.has(toks[i]!.text)) this.consts.set(toks[i]!.text, v);
      }
    }
    const blocks: Block[] = [];
    const allBlocks: Block[] = [];
    const brackets: Bracket[] = [];
    let header: Block | undefined;
    let inline: Block | undefined;
    let statementStart = true;
    const found: { index: number; blocks: Block[]; brackets: Bracket[] }[] = [];
    for (let i = 0; i < toks.length; i++) {
      const t = toks[i]!;
      if (t.kind === 'newline') {
        if (inline) {
          inline.bodyTo = i;
          inline = undefined;
          blocks.pop();
        }
        statementStart = true;
        continue;
      }
      if (t.kind === 'indent') {
        if (header) {
          header.bodyFrom = i;
          blocks.push(header);
          header = undefined;
        } else blocks.push({ kind: 'other', start: i, bodyFrom: i, bodyTo: i });
        continue;
      }
      if (t.kind === 'dedent') {
        const b = blocks.pop();
        if (b) b.bodyTo = i;
        continue;
      }
      if (statementStart) {
        statementStart = false;
        header = undefined;
        const word = t.kind === 'name' ? (t.text === 'async' ? toks[i + 1]!.text : t.text) : '';
        if (word === 'for' || word === 'while') header = { kind: 'loop', start: i, bodyFrom: -1, bodyTo: -1 };
        else if (word === 'def') header = { kind: 'function', name: toks[t.text === 'async' ? i + 2 : i + 1]!.text, start: i, bodyFrom: -1, bodyTo: -1 };
        if (header) allBlocks.push(header);
      }
      if (t.kind === 'op') {
        if (t.text === '(' || t.text === '[' || t.text === '{') {
          brackets.push({ open: i, callee: t.text === '(' ? this.chainBefore(i) : [], hasFor: false, close: -1 });
        } else if (t.text === ')' || t.text === ']' || t.text === '}') {
          const b = brackets.pop();
          if (b) b.close = i;
        } else if (t.text === ':' && header && brackets.length === 0 && toks[i + 1]!.kind !== 'newline') {
          // `for x in xs: call()`: the rest of the line is the body.
          header.bodyFrom = i + 1;
          inline = header;
          blocks.push(header);
          header = undefined;
        }
        continue;
      }
      if (t.kind === 'name' && t.text === 'for' && brackets.length > 0) brackets[brackets.length - 1]!.hasFor = true;
      if (t.kind === 'name' && !this.isOp(i - 1, '.')) {
        let j = i;
        while (this.isOp(j + 1, '.') && toks[j + 2]?.kind === 'name') j += 2;
        if (j > i && this.isOp(j + 1, '(')) found.push({ index: i, blocks: [...blocks], brackets: [...brackets] });
      }
    }
    for (const f of found) this.inspect(f.index, f.blocks, f.brackets);
    return this.calls;
  }

  /** The dotted name just before a `(`: `asyncio.gather(` -> [asyncio, gather]. */
  private chainBefore(open: number): string[] {
    const names: string[] = [];
    let j = open - 1;
    while (j >= 0 && this.at(j).kind === 'name') {
      names.unshift(this.at(j).text);
      if (!this.isOp(j - 1, '.')) break;
      j -= 2;
    }
    return names;
  }

  private inspect(from: number, blocks: Block[], brackets: Bracket[]): void {
    const names: string[] = [this.at(from).text];
    let j = from;
    while (this.isOp(j + 1, '.')) {
      j += 2;
      names.push(this.at(j).text);
    }
    const open = j + 1;
    const close = this.closing(open);
    const args = this.kwargs(open);
    const range = { start: this.at(from).start, end: this.at(close).end };
    const sdk = sdkApiOf(names);
    if (sdk) {
      if (sdk.needsModel && !args.named.has('model') && !args.splat) return;
      this.add(range, sdk.api, sdk.provider, 'sdk', sdk.stream, args.named, args.splat, blocks, brackets);
      return;
    }
    if (names[names.length - 1] !== 'post') return;
    const url = args.named.get('url') ?? args.positional[0];
    if (url?.kind !== 'str') return;
    const target = pathApiOf(url.text);
    if (!target) return;
    const body = args.named.get('json');
    this.add(range, target.api, target.provider, 'http', false, body?.kind === 'dict' ? body.entries : new Map(), body === undefined || body.kind !== 'dict', blocks, brackets);
  }

  private add(range: SourceRange, api: ApiKind, provider: StyleName, via: 'sdk' | 'http', stream: boolean, body: ReadonlyMap<string, PyValue>, opaque: boolean, blocks: Block[], brackets: Bracket[]): void {
    const prompt: PromptPart[] = [];
    let dynamicParts = opaque ? 1 : 0;
    const m = body.get('model');
    const model = m?.kind === 'str' && m.dynamic === 0 ? m.text : undefined;
    const modelRange = m?.kind === 'str' && m.single ? m.range : undefined;
    const mt = body.get('max_tokens') ?? body.get('max_completion_tokens') ?? body.get('max_output_tokens');
    const s = body.get('stream');
    if (s?.kind === 'bool' && s.value) stream = true;
    const addText = (role: string, v: PyValue | undefined): void => {
      // A wholly dynamic message still has its framing tokens: keep it, with no text.
      if (v?.kind === 'str') {
        if (v.text || v.dynamic) prompt.push({ role, text: v.text });
        dynamicParts += v.dynamic;
      } else {
        prompt.push({ role, text: '' });
        dynamicParts++;
      }
    };
    if (body.has('system')) addText('system', body.get('system'));
    if (body.has('instructions')) addText('system', body.get('instructions'));
    const list = body.get('messages') ?? body.get('input') ?? body.get('prompt') ?? body.get('contents');
    if (list?.kind === 'list') {
      for (const item of list.items) {
        if (item.kind === 'dict' && item.entries.has('content')) {
          const role = item.entries.get('role');
          const content = item.entries.get('content')!;
          const r = role?.kind === 'str' ? role.text : 'user';
          if (content.kind === 'list') {
            for (const part of content.items) addText(r, part.kind === 'dict' ? part.entries.get('text') : undefined);
          } else addText(r, content);
        } else if (item.kind === 'str') addText(api === 'embeddings' ? 'input' : 'user', item);
        else dynamicParts++;
      }
    } else if (list) addText(api === 'embeddings' || api === 'completions' ? 'input' : 'user', list);
    const fanOut: FanOut[] = [];
    for (const b of [...brackets].reverse()) {
      const name = b.callee[b.callee.length - 1];
      const r = { start: this.at(b.open).start, end: this.at(b.close >= 0 ? b.close : b.open).end };
      if (b.hasFor) fanOut.push({ kind: 'comprehension', range: r, label: 'comprehension' });
      if (name === 'gather') fanOut.push({ kind: 'gather', range: r, label: `${b.callee.join('.')}()` });
      else if (name === 'map' || name === 'imap' || name === 'starmap') fanOut.push({ kind: 'map', range: r, label: `${b.callee.join('.')}()` });
    }
    for (const b of [...blocks].reverse()) {
      const r = { start: this.at(b.start).start, end: this.at(b.bodyTo >= 0 ? b.bodyTo : b.start).end };
      if (b.kind === 'loop') fanOut.push({ kind: 'loop', range: r, label: this.at(b.start).text === 'async' ? 'async for' : this.at(b.start).text });
      else if (b.kind === 'function' && b.name && this.callsItself(b)) fanOut.push({ kind: 'recursion', range: r, label: `${b.name}()` });
    }
    this.calls.push({ api, provider, route: routeOf(api, provider), via, stream, range, model, modelRange, prompt, dynamicParts, maxTokens: mt?.kind === 'num' ? mt.value : undefined, fanOut });
  }

  private callsItself(b: Block): boolean {
    const to = b.bodyTo >= 0 ? b.bodyTo : this.toks.length;
    for (let i = b.bodyFrom; i < to; i++) {
      const t = this.toks[i]!;
      if (t.kind === 'name' && t.text === b.name && this.isOp(i + 1, '(') && (!this.isOp(i - 1, '.') || this.at(i - 2).text === 'self' || this.at(i - 2).text === 'cls')) return true;
    }
    return false;
  }
}

export function findPythonCalls(text: string): FoundCall[] {
  if (!mayContainModelCalls(text)) return [];
  return new PyFinder(tokenizePython(text)).run();
}
