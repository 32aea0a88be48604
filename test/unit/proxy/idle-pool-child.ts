// Run by describe.test.ts as a process of its own: one pool only warmed, another that described
// one body. Both are idle then, and the process must exit by itself.
import { DescribePool } from '../../../src/proxy/describe/pool';

new DescribePool(1).warm();
const used = new DescribePool(1);
void used.run(Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] })), { style: 'openai', provider: 'openai', route: '/v1/chat/completions', method: 'POST', passthrough: false }, ['email']).then((d) => {
  process.stdout.write(`described ${d.call.inputTokens}\n`);
});
