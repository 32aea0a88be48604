/** Usage a mock upstream reports for a call. */
export interface MockUsage {
  /** All input, cached included. */
  readonly input: number;
  readonly output: number;
  /** Of the input: cache reads, 5-minute and 1-hour cache writes; of the output, reasoning. Reported when given. */
  readonly cacheRead?: number;
  readonly cacheWrite?: number;
  readonly cacheWrite1h?: number;
  readonly reasoning?: number;
}

/**
 * One provider style's part of the mock upstream (test/providers/<style>/mock.ts): what it answers
 * on each of its paths, whole or streamed, with the usage it reports.
 */
export interface MockStyle {
  readonly style: string;
  /** Whether a path is this style's own (not one styles share, such as /v1/models). */
  serves(url: string): boolean;
  /** Fields the style's provider needs in a bundle besides upstream and style, as YAML flow-mapping items. */
  readonly providerFields?: string;
  /** Whether a path streams whatever its body says (Gemini streams by path); else a body's `stream` does. */
  streams?(url: string): boolean;
  /** A whole reply's JSON. */
  reply(url: string, body: Record<string, unknown> | undefined, usage: MockUsage): unknown;
  /** A streamed reply with `chunks` content events, each event without its closing blank line. */
  streamEvents(url: string, body: Record<string, unknown>, chunks: number, usage: MockUsage): string[];
}
