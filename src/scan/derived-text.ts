import { LineIndex } from './line-index';

/**
 * Text a file holds in another form, such as a notebook cell's joined source or a YAML block
 * scalar's value, scanned as it reads. Each character keeps its range in the file, so a finding
 * is reported where the editor and the pre-commit hook see it.
 */
export class DerivedText {
  private lineIndex: LineIndex | undefined;

  constructor(
    readonly text: string,
    // Runs of characters: run i starts at text offset runStarts[i] and file offset fileStarts[i];
    // each of its characters covers widths[i] file characters (1 verbatim, more for an escape,
    // 0 for a separator the file does not hold).
    private readonly runStarts: readonly number[],
    private readonly fileStarts: readonly number[],
    private readonly widths: readonly number[],
    /** Inline ignores are read from this text's own lines (a cell's code) rather than the file's. */
    readonly ownLines: boolean,
  ) {}

  get lines(): LineIndex {
    this.lineIndex ??= new LineIndex(this.text);
    return this.lineIndex;
  }

  private runOf(offset: number): number {
    let lo = 0;
    let hi = this.runStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.runStarts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private fileOffset(offset: number, after: boolean): number {
    const run = this.runOf(offset);
    const width = this.widths[run] ?? 1;
    return (this.fileStarts[run] ?? 0) + (offset - (this.runStarts[run] ?? 0) + (after ? 1 : 0)) * width;
  }

  /** The file range of characters [start, end) of this text; `end` must exceed `start`. */
  fileRange(start: number, end: number): [number, number] {
    return [this.fileOffset(start, false), this.fileOffset(end - 1, true)];
  }
}

export class DerivedTextBuilder {
  private readonly parts: string[] = [];
  private length = 0;
  private readonly runStarts: number[] = [];
  private readonly fileStarts: number[] = [];
  private readonly widths: number[] = [];

  private fileEnd = 0;
  private separatorDue = false;

  get isEmpty(): boolean {
    return this.length === 0;
  }

  /**
   * Ends one piece (a cell, a block scalar) before the next: an empty line between them, so no
   * match runs from one into the other and an inline ignore never reaches across.
   */
  separate(): this {
    this.separatorDue = !this.isEmpty;
    return this;
  }

  /** Characters that stand for themselves, from `fileStart` on. */
  verbatim(chars: string, fileStart: number): this {
    return this.run(chars, fileStart, 1);
  }

  /** One character written as several in the file (an escape, or a line break read as one). */
  char(ch: string, fileStart: number, fileEnd: number): this {
    return this.run(ch, fileStart, Math.max(1, fileEnd - fileStart));
  }

  private run(chars: string, fileStart: number, width: number): this {
    if (chars.length === 0) return this;
    if (this.separatorDue) {
      this.separatorDue = false;
      // The separator stands on the last character of the piece before it.
      const at = Math.max(0, this.fileEnd - 1);
      this.run('\n\n', at, 0);
    }
    const last = this.runStarts.length - 1;
    // A run that continues the previous one in both texts extends it.
    const continues = last >= 0 && width === 1 && this.widths[last] === 1 && (this.fileStarts[last] ?? 0) + (this.length - (this.runStarts[last] ?? 0)) === fileStart;
    if (!continues) {
      this.runStarts.push(this.length);
      this.fileStarts.push(fileStart);
      this.widths.push(width);
    }
    this.parts.push(chars);
    this.length += chars.length;
    this.fileEnd = fileStart + chars.length * width;
    return this;
  }

  build(ownLines: boolean): DerivedText {
    return new DerivedText(this.parts.join(''), this.runStarts, this.fileStarts, this.widths, ownLines);
  }
}
