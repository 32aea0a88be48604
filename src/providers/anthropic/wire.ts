// Anthropic's Messages API shapes, only the fields Tollgate reads or rewrites.

export interface ContentBlock {
  type: string;
  text?: string;
  source?: { type?: string; media_type?: string; data?: string; url?: string };
  input?: unknown;
  content?: string | ContentBlock[];
  thinking?: string;
}

export interface Message {
  role?: string;
  content?: string | ContentBlock[];
}

export interface MessagesRequest {
  model?: string;
  system?: string | ContentBlock[];
  messages?: Message[];
  tools?: unknown[];
  max_tokens?: number;
  stream?: boolean;
  metadata?: { user_id?: string };
}

export interface AnthropicUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
  /** The cache writes split by how long the entry lives; together they are cache_creation_input_tokens. */
  cache_creation?: { ephemeral_5m_input_tokens?: number; ephemeral_1h_input_tokens?: number };
}
