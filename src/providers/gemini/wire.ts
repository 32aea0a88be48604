// Google's Gemini API (generateContent and its kin) shapes, only the fields Tollgate reads or rewrites.

export interface Part {
  text?: string;
  inlineData?: { mimeType?: string; data?: string };
  fileData?: { mimeType?: string; fileUri?: string };
  functionCall?: unknown;
  functionResponse?: unknown;
  thought?: boolean;
}

export interface Content {
  role?: string;
  parts?: Part[];
}

export interface GenerationConfig {
  maxOutputTokens?: number;
  candidateCount?: number;
}

export interface GenerateContentRequest {
  contents?: Content[];
  systemInstruction?: Content | string;
  tools?: unknown[];
  generationConfig?: GenerationConfig;
}

/** countTokens takes `contents`, or a whole `generateContentRequest` (with its model). */
export interface CountTokensRequest extends GenerateContentRequest {
  generateContentRequest?: GenerateContentRequest & { model?: string };
}

export interface GeminiUsage {
  promptTokenCount?: number;
  cachedContentTokenCount?: number;
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
  toolUsePromptTokenCount?: number;
  totalTokenCount?: number;
}

export interface GenerateContentResponse {
  candidates?: { content?: Content; finishReason?: string }[];
  usageMetadata?: GeminiUsage;
  responseId?: unknown;
  modelVersion?: unknown;
}
