import type { DerivedText } from './derived-text';
import { DerivedTextBuilder } from './derived-text';
import { assignedNameWords } from './rules';

// A line opening a block scalar: optional sequence dashes, an optional mapping key, optional
// tag or anchor, then `|` or `>` with its chomping and indentation indicators, and a comment.
const blockScalarHeader =
  /([ \t]*)((?:-[ \t]+)*)(?:("[^"\n]*"|'[^'\n]*'|[^\s#'"-][^\n#]*?|-[^\s#][^\n#]*?)[ \t]*:[ \t]+)?(?:[!&][^\s]*[ \t]+)*([|>])([1-9][-+]?|[-+][1-9]?)?[ \t]*(?:#[^\n]*)?\r?$/dmy;
// Where such a line may be: an indicator that only indicators, spaces and a comment follow. It
// starts with `|` or `>`, so the search skips to those characters and a large file costs one pass.
const indicatorAtLineEnd = /[|>][-+1-9]{0,2}[ \t]*(?:#[^\n]*)?$/gm;

interface ContentLine {
  /** Where its text starts, after the scalar's indentation (undefined for a blank line). */
  readonly from: number | undefined;
  /** End of the line's text, before `\r\n` or `\n`. */
  readonly end: number;
  /** Offset of its `\n` (or the text's length on the last line). */
  readonly newline: number;
}

/**
 * The lines of a block scalar opened on the line ending at `headerNewline`, by YAML's indentation
 * rules: without an indicator the first non-empty line sets the indentation, which must exceed the
 * parent's. With `firstOnly`, the lines up to the first non-empty one.
 */
function contentLines(text: string, headerNewline: number, parentIndent: number, indicator: number | undefined, firstOnly: boolean): ContentLine[] {
  const lines: ContentLine[] = [];
  let indent = indicator === undefined ? undefined : parentIndent + indicator;
  for (let at = headerNewline + 1; at < text.length; ) {
    const newlineAt = text.indexOf('\n', at);
    const newline = newlineAt < 0 ? text.length : newlineAt;
    const end = newline > at && text[newline - 1] === '\r' ? newline - 1 : newline;
    let spaces = 0;
    while (text[at + spaces] === ' ') spaces++;
    if (at + spaces >= end) {
      lines.push({ from: undefined, end, newline });
    } else {
      indent ??= spaces > parentIndent ? spaces : -1;
      if (indent < 0 || spaces < indent) break;
      lines.push({ from: at + indent, end, newline });
      if (firstOnly) break;
    }
    at = newline + 1;
  }
  while (lines.length > 0 && lines.at(-1)?.from === undefined) lines.pop();
  return lines;
}

/**
 * Appends what a block scalar holds, for the rules: `name: value` when it is a mapping's value,
 * so an assignment rule reads `api_key: |` and the key below as one assignment.
 *
 * A literal (`|`) scalar keeps its lines, so only its first line can be the assigned value. In a
 * folded (`>`, `>-`) scalar YAML joins lines with a space (the chomping indicator only changes the
 * final line break), so a key wrapped over two lines loads with a space in it; its characters are
 * still all in the file, so the lines are read joined with nothing between them.
 */
function appendBlockScalar(builder: DerivedTextBuilder, text: string, header: RegExpExecArray, lines: readonly ContentLine[]): void {
  const key = header.indices?.[3];
  const indicator = header.indices?.[4]?.[0] ?? 0;
  const folded = header[4] === '>';
  builder.separate();
  if (key) {
    const colon = text.indexOf(':', key[1]);
    builder.verbatim(text.slice(key[0], colon + 1), key[0]).char(' ', indicator, indicator + 1);
  }
  let previous: ContentLine | undefined;
  let joinable = false;
  for (const line of lines) {
    if (line.from === undefined) {
      joinable = false;
      continue;
    }
    // A more indented line in a folded scalar is kept as it stands, as YAML keeps it.
    const moreIndented = text[line.from] === ' ' || text[line.from] === '\t';
    if (previous) {
      if (!folded) break;
      if (!(joinable && !moreIndented)) builder.char('\n', previous.newline, previous.newline + 1);
    }
    builder.verbatim(text.slice(line.from, line.end), line.from);
    previous = line;
    joinable = !moreIndented;
  }
}

/** The block scalars of a YAML text, as one text for the rules (see appendBlockScalar). */
export function blockScalarText(text: string): DerivedText | undefined {
  const builder = new DerivedTextBuilder();
  indicatorAtLineEnd.lastIndex = 0;
  for (let found = indicatorAtLineEnd.exec(text); found; found = indicatorAtLineEnd.exec(text)) {
    const lineStart = text.lastIndexOf('\n', found.index) + 1;
    blockScalarHeader.lastIndex = lineStart;
    const m = blockScalarHeader.exec(text);
    if (!m || m.index + m[0].length < found.index + found[0].length) continue;
    const [, leading = '', dashes = '', key, style] = m;
    // A literal scalar says more than the file's own lines only as a value assigned to a key name.
    if (style === '|' ? key === undefined || !assignedNameWords.test(key) : key === undefined && dashes === '') continue;
    // The node the scalar belongs to: the key's column, or the last dash's for a sequence entry.
    const parentIndent = leading.length + (key === undefined ? dashes.trimEnd().lastIndexOf('-') : dashes.length);
    const indicator = /[1-9]/.exec(m[5] ?? '')?.[0];
    const lines = contentLines(text, m.index + m[0].length, parentIndent, indicator === undefined ? undefined : Number(indicator), style === '|');
    if (lines.length > 0) appendBlockScalar(builder, text, m, lines);
  }
  return builder.isEmpty ? undefined : builder.build(false);
}
