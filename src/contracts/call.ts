// A model call as the engine sees it: what a provider adapter reads out of a request body. The
// engine never parses provider JSON itself.

export type CallKind =
  /** Generates output: chat, responses, completions, messages. */
  | 'generate'
  /** Embeddings: input tokens only. */
  | 'embed'
  /** Counts tokens without generating (Anthropic count_tokens): free upstream. */
  | 'count'
  /** No model is invoked (GET /v1/models): identity and route checks only. */
  | 'passthrough'
  /** One MCP tools/call through the gateway: the tools entitlement instead of the model's, one request, one tool call. */
  | 'tool';

/**
 * A wire style's name, as its adapter registers it (src/providers/registry.ts): `openai`,
 * `anthropic`. Plain text here, so that a new style is a provider folder, not an edit of this type.
 */
export type StyleName = string;

export interface ModelCall {
  readonly provider: string;
  readonly style: StyleName;
  readonly route: string;
  readonly kind: CallKind;
  readonly model?: string;
  readonly stream: boolean;
  /** Input tokens counted before the call (an upper estimate, see tokens/count.ts). */
  readonly inputTokens: number;
  /** The output maximum the client asked for, if any, per choice. */
  readonly requestedOutputTokens?: number;
  /** Number of choices generated (OpenAI `n`): output is held for each. */
  readonly choices: number;
  /** What the call sends as data (messages, system prompt, tool calls and results), for classification detectors; never tool definitions. */
  readonly texts: readonly string[];
  /**
   * Where the request names what serves it rather than the model (an Azure deployment): each model
   * it may be served, and the name the request writes for it. A downgrade is offered only to a
   * model listed here. Absent: any model, written as named.
   */
  readonly servedAs?: Readonly<Record<string, string>>;
  /** A `tool` call: the tool as agents name it (`mcp__<server>__<tool>`); the call is one tool call. */
  readonly tool?: string;
  /**
   * The tools the request declares to the model, by the names agents give them (a function's
   * name, a built-in tool's type), each once, in the request's order. Absent: none declared.
   */
  readonly tools?: readonly string[];
  /**
   * Tool calls the call itself makes, known before it is made (an MCP `tools/call` makes one).
   * Absent for a model call: the tool calls it asks for are known only from its response.
   */
  readonly toolCalls?: number;
}

/** A body the provider adapter could not accept: answered 400 with this message. */
export class MalformedRequestError extends Error {
  readonly reason = 'malformed-request' as const;
  constructor(message: string) {
    super(message);
    this.name = 'MalformedRequestError';
  }
  static is(err: unknown): err is MalformedRequestError {
    return err instanceof MalformedRequestError;
  }
}
