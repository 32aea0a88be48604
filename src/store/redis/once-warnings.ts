// What Redis holds may be wrong in the same way on every read (an entry another program wrote):
// each distinct problem is said once, not on every request. The memory is bounded, since the
// entries that cause them come from outside.

const MAX_REMEMBERED = 1000;

export class OnceWarnings {
  private readonly said = new Set<string>();

  constructor(private readonly log: (line: string) => void) {}

  /** Logs `line` unless the problem `id` names was logged already. */
  warn(id: string, line: string): void {
    if (this.said.has(id)) return;
    if (this.said.size >= MAX_REMEMBERED) this.said.clear();
    this.said.add(id);
    this.log(line);
  }
}
