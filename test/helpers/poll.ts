// The one way a test waits for something it cannot be told about: ask again until it holds.

type Truthy<T> = Exclude<T, undefined | null | false | 0 | ''>;

/** Asks `probe` every `everyMs` until it gives a truthy value, and returns that value; fails naming `what` after `ms`. */
export async function eventually<T>(probe: () => T | Promise<T>, what: string, ms = 5_000, everyMs = 20): Promise<Truthy<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value as Truthy<T>;
    if (Date.now() >= end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
