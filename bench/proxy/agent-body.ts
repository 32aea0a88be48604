// An agent-sized request body, shared by the proxy benches: a coding agent's first request
// (Anthropic Messages, a system prompt, 24 tools, about 40,000 tokens as the proxy counts them, like
// Claude Code's), and a one-line prompt; each call's last message differs (a counter). Also the
// reference bundle with its per-person token window raised so that thousands of such calls an hour
// are admitted.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeAnthropicCall } from '../../src/providers/anthropic/request';
import { prose } from '../../test/helpers/texts';

const TARGET_TOKENS = 40_000;
const TOOLS = 24;

/** 24 tools shaped like a coding agent's: a long description each and a JSON schema. */
function tools(descriptionChars: number): unknown[] {
  return Array.from({ length: TOOLS }, (_, i) => ({
    name: `Tool${i}`,
    description: prose(descriptionChars, 100 + i),
    input_schema: {
      type: 'object',
      properties: {
        path: { type: 'string', description: 'The absolute path of the file to act on' },
        command: { type: 'string', description: prose(200, 200 + i) },
        timeout: { type: 'number', description: 'Milliseconds before the command is stopped (at most 600000)' },
        flags: { type: 'array', items: { type: 'string' }, description: 'Options, each as the command line spells it' },
      },
      required: ['path'],
      additionalProperties: false,
    },
  }));
}

/** The body before and after the counter, so each call differs only in its last message. */
export interface BodyTemplate {
  readonly name: string;
  readonly before: string;
  readonly after: string;
  readonly tokens: number;
  readonly bytes: number;
}

function template(name: string, body: (marker: string) => Record<string, unknown>): BodyTemplate {
  const marker = '\u0000COUNTER\u0000';
  const text = JSON.stringify(body(marker));
  const json = JSON.stringify(marker).slice(1, -1);
  const at = text.indexOf(json);
  const sample = JSON.parse(text.replace(json, '0')) as unknown;
  return { name, before: text.slice(0, at), after: text.slice(at + json.length), tokens: describeAnthropicCall('anthropic', '/v1/messages', 'POST', sample).inputTokens, bytes: Buffer.byteLength(text) };
}

/** Claude Code's first request, in size and shape: about a quarter of it system prompt, half tools. */
export function agentTemplate(): BodyTemplate {
  const build = (scale: number) => (marker: string): Record<string, unknown> => ({
    model: 'claude-haiku-4-5', max_tokens: 32_000, stream: false,
    system: [{ type: 'text', text: 'You are a coding agent working in the user\'s repository.' }, { type: 'text', text: prose(Math.round(40_000 * scale), 7) }],
    tools: tools(Math.round(3_400 * scale)),
    messages: [{ role: 'user', content: [{ type: 'text', text: prose(Math.round(30_000 * scale), 9) }, { type: 'text', text: `Fix the failing test, attempt ${marker}.` }] }],
  });
  // Scale the texts until the proxy's own count is within 1% of the target.
  let scale = 1;
  for (let i = 0; i < 6; i++) {
    const t = template('agent', build(scale));
    if (Math.abs(t.tokens - TARGET_TOKENS) < TARGET_TOKENS / 100) return t;
    scale *= TARGET_TOKENS / t.tokens;
  }
  return template('agent', build(scale));
}

export const smallTemplate = (): BodyTemplate =>
  template('small', (marker) => ({ model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: `Say hello in five words, attempt ${marker}.` }] }));

/** The reference bundle with room for thousands of 40,000-token calls an hour per person. */
export function benchPolicy(): string {
  const text = fs.readFileSync(path.join(process.cwd(), 'policies', 'reference.yaml'), 'utf8');
  if (!text.includes('limit: 200000')) throw new Error("the reference bundle no longer says 'limit: 200000': revisit benchPolicy");
  return text.replace('limit: 200000', 'limit: 1000000000');
}

