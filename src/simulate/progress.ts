// A one-line progress bar for long replays. It draws only on a terminal, so a redirected stderr
// (CI logs, files) never fills with carriage returns.

export class ProgressBar {
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly total: number,
    private readonly enabled: boolean,
    private readonly clock: () => number = Date.now,
    private readonly width = 30,
  ) {}

  update(done: number): void {
    if (!this.enabled || this.total <= 0) return;
    const now = this.clock();
    // Redrawing ten times a second is smooth enough and keeps the terminal off the hot path.
    if (this.drawn && now - this.lastDraw < 100 && done < this.total) return;
    this.lastDraw = now;
    this.drawn = true;
    const fraction = Math.min(1, done / this.total);
    const full = Math.round(fraction * this.width);
    this.out.write(`\r[${'#'.repeat(full)}${'-'.repeat(this.width - full)}] ${(fraction * 100).toFixed(0).padStart(3)}% `);
  }

  /** Clears the bar so the report starts on a clean line. */
  done(): void {
    if (this.enabled && this.drawn) this.out.write(`\r${' '.repeat(this.width + 8)}\r`);
  }
}
