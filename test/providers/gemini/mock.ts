import type { MockStyle } from '../../helpers/mock-style';

/** The model a Gemini path names: `/v1beta/models/gemini-2.5-flash:generateContent?alt=sse` -> `gemini-2.5-flash`. */
function modelOf(url: string): string {
  const path = url.split('?')[0]!;
  return path.slice(path.lastIndexOf('/') + 1).split(':')[0]!;
}

function candidate(text: string, finished: boolean): Record<string, unknown> {
  return { content: { role: 'model', parts: [{ text }] }, index: 0, ...(finished ? { finishReason: 'STOP' } : {}) };
}

/**
 * The mock upstream's Gemini API: generateContent, streamGenerateContent (server-sent events with
 * `alt=sse`, else one JSON array as Google sends it), countTokens and the model list. Every
 * streamed chunk carries the usage so far, as Google's do; the last one the candidates' count.
 */
export const geminiMock: MockStyle = {
  style: 'gemini',
  serves: (url) => url.startsWith('/v1beta/'),
  streams: (url) => url.includes(':streamGenerateContent') && /[?&]alt=sse(&|$)/.test(url),

  reply(url, _body, usage) {
    const path = url.split('?')[0]!;
    const model = modelOf(url);
    if (path === '/v1beta/models') return { models: [{ name: 'models/gemini-2.5-flash', displayName: 'Gemini 2.5 Flash', supportedGenerationMethods: ['generateContent', 'countTokens'] }] };
    if (!path.includes(':')) return { name: `models/${model}`, displayName: model, supportedGenerationMethods: ['generateContent', 'countTokens'] };
    if (path.endsWith(':countTokens')) return { totalTokens: usage.input };
    const metadata = { promptTokenCount: usage.input, candidatesTokenCount: usage.output, totalTokenCount: usage.input + usage.output };
    if (path.endsWith(':streamGenerateContent')) {
      // Without alt=sse, Google streams one JSON array of the chunks.
      return [
        { candidates: [candidate('Hello ', false)], usageMetadata: { promptTokenCount: usage.input, totalTokenCount: usage.input }, modelVersion: model },
        { candidates: [candidate('from the mock', true)], usageMetadata: metadata, modelVersion: model },
      ];
    }
    return { candidates: [candidate('Hello from the mock', true)], usageMetadata: metadata, modelVersion: model, responseId: 'r1' };
  },

  streamEvents(url, _body, chunks, usage) {
    const model = modelOf(url);
    const events: string[] = [];
    for (let i = 0; i < chunks; i++) {
      const last = i === chunks - 1;
      const usageMetadata = last
        ? { promptTokenCount: usage.input, candidatesTokenCount: chunks, totalTokenCount: usage.input + chunks }
        : { promptTokenCount: usage.input, totalTokenCount: usage.input };
      events.push(`data: ${JSON.stringify({ candidates: [candidate('word ', last)], usageMetadata, modelVersion: model, responseId: 'r1' })}`);
    }
    return events;
  },
};
