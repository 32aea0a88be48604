// A small Python tokenizer: enough of the language's lexical rules (strings of every prefix and
// quoting, comments, brackets, line continuations, INDENT/DEDENT) that a finder never mistakes
// text inside a string or comment for code, and knows which block each token is in.

export type PyTokenKind = 'name' | 'number' | 'string' | 'op' | 'newline' | 'indent' | 'dedent' | 'end';

export interface PyToken {
  readonly kind: PyTokenKind;
  readonly text: string;
  readonly start: number;
  readonly end: number;
  /** Strings: the literal text, with f-string replacement fields left out. */
  readonly value?: string;
  /** Strings: how many f-string replacement fields were left out. */
  readonly dynamic?: number;
}

const OPS3 = ['**=', '//=', '>>=', '<<=', '...'];
const OPS2 = ['**', '//', '->', ':=', '==', '!=', '<=', '>=', '<<', '>>', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '@='];
const NAME_START = /[\p{L}_]/u;
const NAME_PART = /[\p{L}\p{N}_]/u;
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0', '\n': '' };

/** Reads a string literal starting at `at` (its prefix included); returns the token. */
function readString(src: string, at: number, prefixLength: number): PyToken {
  const prefix = src.slice(at, at + prefixLength).toLowerCase();
  const raw = prefix.includes('r');
  const f = prefix.includes('f');
  let i = at + prefixLength;
  const q = src[i]!;
  const triple = src.startsWith(q.repeat(3), i);
  const close = triple ? q.repeat(3) : q;
  i += close.length;
  let value = '';
  let dynamic = 0;
  let fieldDepth = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (fieldDepth === 0 && src.startsWith(close, i)) {
      i += close.length;
      return { kind: 'string', text: src.slice(at, i), start: at, end: i, value, dynamic };
    }
    if (!triple && c === '\n') break; // an unterminated single-quoted string ends at the line
    if (c === '\\' && i + 1 < src.length) {
      const n = src[i + 1]!;
      if (fieldDepth === 0) value += raw ? c + n : (ESCAPES[n] ?? c + n);
      i += 2;
      continue;
    }
    if (f && c === '{') {
      if (fieldDepth === 0 && src[i + 1] === '{') {
        value += '{';
        i += 2;
        continue;
      }
      if (fieldDepth === 0) dynamic++;
      fieldDepth++;
      i++;
      continue;
    }
    if (f && c === '}') {
      if (fieldDepth === 0 && src[i + 1] === '}') {
        value += '}';
        i += 2;
        continue;
      }
      if (fieldDepth > 0) fieldDepth--;
      i++;
      continue;
    }
    if (fieldDepth === 0) value += c;
    i++;
  }
  return { kind: 'string', text: src.slice(at, i), start: at, end: i, value, dynamic };
}

export function tokenizePython(src: string): PyToken[] {
  const out: PyToken[] = [];
  const indents = [0];
  let depth = 0;
  let i = 0;
  let lineStart = true;
  const push = (kind: PyTokenKind, start: number, end: number): void => {
    out.push({ kind, text: src.slice(start, end), start, end });
  };
  while (i < src.length) {
    if (lineStart && depth === 0) {
      let col = 0;
      let j = i;
      while (j < src.length && (src[j] === ' ' || src[j] === '\t' || src[j] === '\f')) {
        col = src[j] === '\t' ? (Math.floor(col / 8) + 1) * 8 : col + 1;
        j++;
      }
      const c = src[j];
      if (c === undefined || c === '\n' || c === '\r' || c === '#') {
        // Blank and comment-only lines do not open or close blocks.
        while (j < src.length && src[j] !== '\n') j++;
        i = j + 1;
        continue;
      }
      if (col > indents[indents.length - 1]!) {
        indents.push(col);
        push('indent', j, j);
      }
      while (col < indents[indents.length - 1]!) {
        indents.pop();
        push('dedent', j, j);
      }
      i = j;
      lineStart = false;
    }
    const c = src[i]!;
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '\\' && (src[i + 1] === '\n' || (src[i + 1] === '\r' && src[i + 2] === '\n'))) {
      i += src[i + 1] === '\n' ? 2 : 3;
      continue;
    }
    if (c === '\n') {
      if (depth === 0) {
        if (out.length > 0 && out[out.length - 1]!.kind !== 'newline') push('newline', i, i + 1);
        lineStart = true;
      }
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f') {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const t = readString(src, i, 0);
      out.push(t);
      i = t.end;
      continue;
    }
    if (NAME_START.test(c)) {
      let j = i + 1;
      while (j < src.length && NAME_PART.test(src[j]!)) j++;
      const word = src.slice(i, j);
      if ((src[j] === '"' || src[j] === "'") && word.length <= 2 && /^(?:[rRbBuUfF]|[rR][bBfF]|[bBfF][rR])$/.test(word)) {
        const t = readString(src, i, word.length);
        out.push(t);
        i = t.end;
        continue;
      }
      push('name', i, j);
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      let j = i + 1;
      while (j < src.length && (/[0-9A-Za-z_.]/.test(src[j]!) || ((src[j] === '+' || src[j] === '-') && /[eE]/.test(src[j - 1]!)))) j++;
      push('number', i, j);
      i = j;
      continue;
    }
    const op = OPS3.find((o) => src.startsWith(o, i)) ?? OPS2.find((o) => src.startsWith(o, i)) ?? c;
    if (op === '(' || op === '[' || op === '{') depth++;
    else if ((op === ')' || op === ']' || op === '}') && depth > 0) depth--;
    push('op', i, i + op.length);
    i += op.length;
  }
  if (out.length > 0 && out[out.length - 1]!.kind !== 'newline') push('newline', src.length, src.length);
  while (indents.length > 1) {
    indents.pop();
    push('dedent', src.length, src.length);
  }
  push('end', src.length, src.length);
  return out;
}
