// OpenAI's request and response shapes, only the fields Tollgate reads or rewrites; everything
// else passes through untouched.

export interface ChatContentPart {
  type: string;
  text?: string;
  image_url?: { url?: string; detail?: string } | string;
  input_audio?: { data?: string };
  file?: { file_data?: string };
}

export interface ChatMessage {
  role?: string;
  name?: string;
  content?: string | ChatContentPart[] | null;
  tool_calls?: unknown[];
  function_call?: unknown;
}

export interface ChatCompletionRequest {
  model?: string;
  messages?: ChatMessage[];
  tools?: unknown[];
  functions?: unknown[];
  max_tokens?: number;
  max_completion_tokens?: number;
  n?: number;
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  user?: string;
}

export interface ResponsesInputItem {
  type?: string;
  role?: string;
  content?: string | { type?: string; text?: string; image_url?: string; detail?: string; file_data?: string }[];
  output?: string;
  arguments?: string;
}

export interface ResponsesRequest {
  model?: string;
  input?: string | ResponsesInputItem[];
  instructions?: string;
  tools?: unknown[];
  max_output_tokens?: number;
  stream?: boolean;
  user?: string;
}

export interface EmbeddingsRequest {
  model?: string;
  input?: string | string[] | number[] | number[][];
  user?: string;
}

export interface CompletionsRequest {
  model?: string;
  prompt?: string | string[] | number[] | number[][];
  max_tokens?: number;
  n?: number;
  best_of?: number;
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  user?: string;
}

/** The usage object of chat completions, completions and embeddings. */
export interface OpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  /** The Responses API's names. */
  input_tokens?: number;
  output_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number };
  completion_tokens_details?: { reasoning_tokens?: number };
  input_tokens_details?: { cached_tokens?: number };
  output_tokens_details?: { reasoning_tokens?: number };
}
