import type { StyleName } from '../contracts/call';
import type * as TS from 'typescript';
import type { ApiKind, FanOut, FoundCall, PromptPart, SourceRange } from './found-call';
import { mayContainModelCalls, pathApiOf, routeOf, sdkApiOf } from './found-call';

// Finds model calls in JavaScript and TypeScript with the TypeScript compiler's parser (syntax
// only, no type checking). The compiler is large, so it is loaded on first use, never at start.

type Ts = typeof TS;
let loaded: Promise<Ts> | undefined;

/** The TypeScript module, loaded once, the first time a JS/TS document is previewed. */
export function loadTypeScript(): Promise<Ts> {
  loaded ??= import('typescript').then((m) => ((m as { default?: Ts }).default ?? m) as Ts);
  return loaded;
}

/** A value read from source: its literal text when static, with how many pieces were not. */
interface StaticText {
  readonly text: string;
  readonly dynamic: number;
}

const MAP_METHODS = new Set(['map', 'forEach', 'flatMap', 'filter', 'reduce', 'some', 'every', 'find']);
const PROMISE_FANOUT = new Set(['all', 'allSettled', 'race', 'any']);

class JsFinder {
  private readonly consts = new Map<string, TS.Expression>();
  private readonly recursive = new Map<TS.Node, boolean>();
  readonly calls: FoundCall[] = [];

  constructor(
    private readonly ts: Ts,
    private readonly sf: TS.SourceFile,
  ) {}

  run(): FoundCall[] {
    const ts = this.ts;
    const collect = (n: TS.Node): void => {
      if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer && !this.consts.has(n.name.text)) {
        const list = n.parent;
        // Only `const` bindings are safe to read as their initializer.
        if (ts.isVariableDeclarationList(list) && (list.flags & ts.NodeFlags.Const) !== 0) this.consts.set(n.name.text, n.initializer);
      }
      ts.forEachChild(n, collect);
    };
    collect(this.sf);
    const visit = (n: TS.Node): void => {
      if (ts.isCallExpression(n)) this.inspect(n);
      ts.forEachChild(n, visit);
    };
    visit(this.sf);
    return this.calls;
  }

  private range(n: TS.Node): SourceRange {
    return { start: n.getStart(this.sf), end: n.getEnd() };
  }

  /** Follows an identifier to its const initializer (a few steps, never in a cycle). */
  private resolve(e: TS.Expression | undefined, depth = 0): TS.Expression | undefined {
    const ts = this.ts;
    while (e && (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e) || ts.isNonNullExpression(e))) e = e.expression;
    if (e && ts.isIdentifier(e) && depth < 5) {
      const init = this.consts.get(e.text);
      if (init) return this.resolve(init, depth + 1);
    }
    return e;
  }

  private text(e: TS.Expression | undefined): StaticText {
    const ts = this.ts;
    const r = this.resolve(e);
    if (!r) return { text: '', dynamic: 1 };
    if (ts.isStringLiteral(r) || ts.isNoSubstitutionTemplateLiteral(r)) return { text: r.text, dynamic: 0 };
    if (ts.isTemplateExpression(r)) {
      let text = r.head.text;
      for (const span of r.templateSpans) text += span.literal.text;
      return { text, dynamic: r.templateSpans.length };
    }
    if (ts.isBinaryExpression(r) && r.operatorToken.kind === ts.SyntaxKind.PlusToken) {
      const a = this.text(r.left);
      const b = this.text(r.right);
      return { text: a.text + b.text, dynamic: a.dynamic + b.dynamic };
    }
    // `[a, b].join('\n')` of literals is common for long prompts.
    if (ts.isCallExpression(r) && ts.isPropertyAccessExpression(r.expression) && r.expression.name.text === 'join' && ts.isArrayLiteralExpression(r.expression.expression)) {
      const parts = r.expression.expression.elements.map((x) => this.text(x));
      const sep = r.arguments[0] ? this.text(r.arguments[0]).text : ',';
      return { text: parts.map((p) => p.text).join(sep), dynamic: parts.reduce((n, p) => n + p.dynamic, 0) };
    }
    return { text: '', dynamic: 1 };
  }

  private number(e: TS.Expression | undefined): number | undefined {
    const r = this.resolve(e);
    return r && this.ts.isNumericLiteral(r) ? Number(r.text.replace(/_/g, '')) : undefined;
  }

  private props(e: TS.Expression | undefined): Map<string, TS.Expression> | undefined {
    const ts = this.ts;
    const r = this.resolve(e);
    if (!r || !ts.isObjectLiteralExpression(r)) return undefined;
    const out = new Map<string, TS.Expression>();
    for (const p of r.properties) {
      if (ts.isPropertyAssignment(p) && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name))) out.set(p.name.text, p.initializer);
      else if (ts.isShorthandPropertyAssignment(p)) out.set(p.name.text, p.name);
    }
    return out;
  }

  /** Names along an accessor chain: `this.client.chat.completions.create` -> [client, chat, completions, create]. */
  private chain(e: TS.Expression): string[] {
    const ts = this.ts;
    const names: string[] = [];
    let cur: TS.Expression = e;
    for (;;) {
      if (ts.isPropertyAccessExpression(cur)) {
        names.unshift(cur.name.text);
        cur = cur.expression;
      } else if (ts.isCallExpression(cur) || ts.isNonNullExpression(cur) || ts.isParenthesizedExpression(cur) || ts.isAwaitExpression(cur)) {
        cur = cur.expression;
      } else {
        if (ts.isIdentifier(cur)) names.unshift(cur.text);
        return names;
      }
    }
  }

  private inspect(call: TS.CallExpression): void {
    const ts = this.ts;
    const names = this.chain(call.expression);
    const sdk = ts.isPropertyAccessExpression(call.expression) ? sdkApiOf(names) : undefined;
    if (sdk) {
      const body = this.props(call.arguments[0]);
      // `client.messages.create` is also Twilio's and others': only count it with a model in sight.
      if (sdk.needsModel && !body?.has('model')) return;
      this.add(call, sdk.api, sdk.provider, 'sdk', sdk.stream, body, call.arguments[0] !== undefined);
      return;
    }
    const callee = names[names.length - 1];
    const http = callee === 'fetch' || callee === 'post' || callee === 'request' || (names.length === 1 && (callee === 'axios' || callee === 'got' || callee === 'ky'));
    if (!http || call.arguments.length === 0) return;
    let url: TS.Expression | undefined = call.arguments[0];
    let body: Map<string, TS.Expression> | undefined;
    const first = this.props(url);
    if (first?.has('url')) {
      // axios({ url, data }) / request({ url, body })
      url = first.get('url');
      body = this.bodyOf(first);
    }
    const target = pathApiOf(this.text(url).text);
    if (!target) return;
    if (!body) {
      const second = call.arguments[1];
      if (callee === 'fetch' || callee === 'request' || callee === 'got' || callee === 'ky') body = this.bodyOf(this.props(second));
      else body = this.props(second) ?? this.bodyOf(this.props(second));
    }
    this.add(call, target.api, target.provider, 'http', false, body, true);
  }

  /** The JSON body of fetch/axios/got options: `body: JSON.stringify({...})`, `data: {...}` or `json: {...}`. */
  private bodyOf(options: Map<string, TS.Expression> | undefined): Map<string, TS.Expression> | undefined {
    const ts = this.ts;
    if (!options) return undefined;
    const b = this.resolve(options.get('body'));
    if (b && ts.isCallExpression(b) && this.chain(b.expression).join('.') === 'JSON.stringify') return this.props(b.arguments[0]);
    return this.props(options.get('data') ?? options.get('json'));
  }

  private add(call: TS.CallExpression, api: ApiKind, provider: StyleName, via: 'sdk' | 'http', stream: boolean, body: Map<string, TS.Expression> | undefined, hasArgs: boolean): void {
    const ts = this.ts;
    const prompt: PromptPart[] = [];
    let dynamicParts = 0;
    let model: string | undefined;
    let modelRange: SourceRange | undefined;
    let maxTokens: number | undefined;
    if (!body) {
      // The whole request is built elsewhere: nothing about it is known.
      if (hasArgs) dynamicParts = 1;
    } else {
      const m = this.resolve(body.get('model'));
      if (m && (ts.isStringLiteral(m) || ts.isNoSubstitutionTemplateLiteral(m))) {
        model = m.text;
        modelRange = this.range(m);
      }
      maxTokens = this.number(body.get('max_tokens') ?? body.get('max_completion_tokens') ?? body.get('max_output_tokens'));
      if (this.resolve(body.get('stream'))?.kind === ts.SyntaxKind.TrueKeyword) stream = true;
      const addText = (role: string, e: TS.Expression | undefined): void => {
        const t = this.text(e);
        // A wholly dynamic message still has its framing tokens: keep it, with no text.
        if (t.text || t.dynamic) prompt.push({ role, text: t.text });
        dynamicParts += t.dynamic;
      };
      if (body.has('system')) addText('system', body.get('system'));
      if (body.has('instructions')) addText('system', body.get('instructions'));
      const list = body.get('messages') ?? body.get('input') ?? body.get('prompt') ?? body.get('contents');
      const resolved = this.resolve(list);
      if (resolved && ts.isArrayLiteralExpression(resolved)) {
        for (const el of resolved.elements) {
          const msg = this.props(el);
          if (msg?.has('content')) {
            const role = this.text(msg.get('role')).text || 'user';
            const content = this.resolve(msg.get('content'));
            if (content && ts.isArrayLiteralExpression(content)) {
              for (const part of content.elements) {
                const pp = this.props(part);
                if (pp?.has('text')) addText(role, pp.get('text'));
                else dynamicParts++;
              }
            } else addText(role, msg.get('content'));
          } else if (!msg) addText(api === 'embeddings' ? 'input' : 'user', el as TS.Expression);
          else dynamicParts++;
        }
      } else if (list) addText(api === 'embeddings' || api === 'completions' ? 'input' : 'user', list);
    }
    this.calls.push({
      api, provider, route: routeOf(api, provider), via, stream, range: this.range(call), model, modelRange, prompt, dynamicParts, maxTokens, fanOut: this.fanOut(call),
    });
  }

  private fanOut(call: TS.CallExpression): FanOut[] {
    const ts = this.ts;
    const out: FanOut[] = [];
    let child: TS.Node = call;
    for (let n: TS.Node | undefined = call.parent; n; child = n, n = n.parent) {
      if (ts.isForStatement(n) || ts.isForOfStatement(n) || ts.isForInStatement(n) || ts.isWhileStatement(n) || ts.isDoStatement(n)) {
        // Only the body repeats: a call in the iterable or the initializer runs once.
        if (child === n.statement || ts.isWhileStatement(n) || ts.isDoStatement(n)) out.push({ kind: 'loop', range: this.range(n), label: n.getText(this.sf).split('(')[0]!.trim() || 'loop' });
      } else if (ts.isCallExpression(n) && n !== call && n.arguments.some((a) => a === child)) {
        const names = this.chain(n.expression);
        const last = names[names.length - 1] ?? '';
        if (names.length >= 2 && names[names.length - 2] === 'Promise' && PROMISE_FANOUT.has(last)) out.push({ kind: 'promise-all', range: this.range(n), label: `Promise.${last}` });
        else if (ts.isPropertyAccessExpression(n.expression) && MAP_METHODS.has(last)) out.push({ kind: 'map', range: this.range(n), label: `.${last}()` });
      } else if (ts.isFunctionDeclaration(n) || ts.isFunctionExpression(n) || ts.isArrowFunction(n) || ts.isMethodDeclaration(n)) {
        const name = this.functionName(n);
        if (name && this.isRecursive(n, name)) out.push({ kind: 'recursion', range: this.range(n), label: `${name}()` });
      }
    }
    return out;
  }

  private functionName(n: TS.FunctionLikeDeclaration): string | undefined {
    const ts = this.ts;
    if (n.name && (ts.isIdentifier(n.name) || ts.isPrivateIdentifier(n.name))) return n.name.text;
    if (ts.isVariableDeclaration(n.parent) && ts.isIdentifier(n.parent.name)) return n.parent.name.text;
    if (ts.isPropertyAssignment(n.parent) && ts.isIdentifier(n.parent.name)) return n.parent.name.text;
    return undefined;
  }

  /** Whether a function's body calls the function itself (`name(...)` or `this.name(...)`). */
  private isRecursive(fn: TS.FunctionLikeDeclaration, name: string): boolean {
    const cached = this.recursive.get(fn);
    if (cached !== undefined) return cached;
    const ts = this.ts;
    let found = false;
    const visit = (n: TS.Node): void => {
      if (found) return;
      if (ts.isCallExpression(n)) {
        const e = n.expression;
        if ((ts.isIdentifier(e) && e.text === name) || (ts.isPropertyAccessExpression(e) && e.expression.kind === ts.SyntaxKind.ThisKeyword && e.name.text === name)) {
          found = true;
          return;
        }
      }
      ts.forEachChild(n, visit);
    };
    if (fn.body) visit(fn.body);
    this.recursive.set(fn, found);
    return found;
  }
}

/** Model calls in a JS/TS source text; `fileName`'s extension picks the dialect (tsx, jsx, ...). */
export async function findJsCalls(text: string, fileName: string): Promise<FoundCall[]> {
  if (!mayContainModelCalls(text)) return [];
  const ts = await loadTypeScript();
  return findJsCallsWith(ts, text, fileName);
}

/** The same, with the compiler already loaded (synchronous). */
export function findJsCallsWith(ts: Ts, text: string, fileName: string): FoundCall[] {
  const lower = fileName.toLowerCase();
  const kind = lower.endsWith('.tsx') ? ts.ScriptKind.TSX : lower.endsWith('.ts') || lower.endsWith('.mts') || lower.endsWith('.cts') ? ts.ScriptKind.TS : lower.endsWith('.jsx') ? ts.ScriptKind.JSX : ts.ScriptKind.JS;
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, kind);
  return new JsFinder(ts, sf).run();
}
