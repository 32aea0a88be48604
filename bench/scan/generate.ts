import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { makeKey, randomChars } from '../../test/unit/scan/keys';

/** A key planted in the tree: where it is and which kind, never the key itself. */
export interface PlantedKey {
  readonly file: string;
  readonly line: number;
  readonly kind: string;
}

export interface GeneratedTree {
  readonly dir: string;
  readonly files: number;
  readonly bytes: number;
  readonly planted: readonly PlantedKey[];
}

// Where each kind of key is planted and how the line reads; keys are built at run time.
const plantings: Array<{ kind: keyof typeof makeKey; file: string; line: (k: string) => string }> = [
  { kind: 'openAiProject', file: 'py', line: (k) => `client = OpenAI(api_key="${k}")` },
  { kind: 'openAiServiceAccount', file: 'env', line: (k) => `OPENAI_API_KEY=${k}` },
  { kind: 'openAiAdmin', file: 'ts', line: (k) => `const adminKey = '${k}';` },
  { kind: 'openAiLegacy', file: 'js', line: (k) => `const openai = new OpenAI({ apiKey: "${k}" });` },
  { kind: 'anthropic', file: 'ts', line: (k) => `const anthropic = new Anthropic({ apiKey: "${k}" });` },
  { kind: 'anthropicAdmin', file: 'yaml', line: (k) => `  admin_key: ${k}` },
  { kind: 'google', file: 'py', line: (k) => `genai.configure(api_key="${k}")` },
  { kind: 'huggingFace', file: 'py', line: (k) => `login(token="${k}")` },
  { kind: 'groq', file: 'ts', line: (k) => `const groq = new Groq({ apiKey: "${k}" });` },
  { kind: 'replicate', file: 'env', line: (k) => `REPLICATE_API_TOKEN=${k}` },
  { kind: 'openRouter', file: 'ts', line: (k) => `const key = "${k}";` },
  { kind: 'perplexity', file: 'py', line: (k) => `PPLX = "${k}"` },
  { kind: 'xai', file: 'js', line: (k) => `const xai = "${k}";` },
  { kind: 'together', file: 'py', line: (k) => `Together(api_key="${k}")` },
  { kind: 'mistral', file: 'py', line: (k) => `MISTRAL_API_KEY = "${k}"` },
  { kind: 'awsAccessKeyId', file: 'ini', line: (k) => `aws_access_key_id = ${k}` },
  { kind: 'github', file: 'yaml', line: (k) => `  token: ${k}` },
  { kind: 'githubFineGrained', file: 'ts', line: (k) => `const octokit = new Octokit({ auth: "${k}" });` },
  { kind: 'gitlab', file: 'env', line: (k) => `GITLAB_TOKEN=${k}` },
  { kind: 'slackBot', file: 'js', line: (k) => `const slack = new WebClient("${k}");` },
  { kind: 'slackWebhook', file: 'py', line: (k) => `WEBHOOK = "${k}"` },
  { kind: 'stripeLive', file: 'rb', line: (k) => `Stripe.api_key = "${k}"` },
  { kind: 'pemPrivateKey', file: 'pem', line: (k) => k },
  { kind: 'genericSecret', file: 'py', line: (k) => `WEATHER_API_KEY = "${k}"` },
];

function sourceFile(i: number): string {
  const lines = [`import { handler${i % 97} } from './handlers';`, `// module ${i}: request handling`];
  for (let j = 0; j < 60; j++) {
    const pick = (i + j) % 9;
    if (pick === 0) lines.push(`export const apiKey${j} = process.env.OPENAI_API_KEY;`);
    else if (pick === 1) lines.push(`const requestId${j} = "${crypto.randomUUID()}";`);
    else if (pick === 2) lines.push(`const commitSha${j} = "${randomChars(40, '0123456789abcdef')}";`);
    else if (pick === 3) lines.push(`// set OPENAI_API_KEY=sk-proj-... or ANTHROPIC_API_KEY=<your-key> before running`);
    else if (pick === 4) lines.push(`const token${j} = await context.secrets.get('tollgate.token');`);
    else lines.push(`export function handle${j}(req: Request): Response { return new Response(JSON.stringify({ id: ${j}, path: req.url }), { status: 200 }); }`);
  }
  return lines.join('\n') + '\n';
}

function lockfile(): string {
  const packages: Record<string, object> = {};
  for (let i = 0; i < 150; i++) {
    packages[`node_modules/pkg-${randomChars(8, 'abcdefghijklmnopqrstuvwxyz')}`] = {
      version: `1.${i}.0`,
      resolved: `https://registry.npmjs.org/pkg/-/pkg-1.${i}.0.tgz`,
      integrity: `sha512-${randomChars(86, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/')}==`,
    };
  }
  return JSON.stringify({ name: 'app', lockfileVersion: 3, packages }, null, 2);
}

function minifiedBundle(): string {
  const parts: string[] = [];
  for (let i = 0; i < 600; i++) parts.push(`var ${randomChars(2, 'abcdefghij')}${i}=function(e,t){return e.${randomChars(6)}("${randomChars(32)}")+t};`);
  return parts.join('');
}

function configFile(i: number): string {
  return `# service ${i}\nname: svc-${i}\nimage: registry.example.test/svc:${i}\nenv:\n  OPENAI_API_KEY: \${{ secrets.OPENAI_API_KEY }}\n  ANTHROPIC_API_KEY: YOUR_ANTHROPIC_API_KEY\n  LOG_LEVEL: info\n`;
}

/** Writes a tree of `files` files (source, configs, lockfiles, minified bundles, planted keys). */
export function generateTree(dir: string, files: number): GeneratedTree {
  mkdirSync(dir, { recursive: true });
  execFileSync('git', ['init', '-q'], { cwd: dir });
  let bytes = 0;
  let count = 0;
  const write = (relative: string, content: string): void => {
    const file = path.join(dir, relative);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    bytes += Buffer.byteLength(content);
    count++;
  };
  const planted: PlantedKey[] = [];
  let plantIndex = 0;
  for (let i = 0; count < files; i++) {
    const folder = `packages/p${Math.floor(i / 500)}/src/d${Math.floor(i / 50) % 10}`;
    const kindOfFile = i % 100;
    if (kindOfFile < 70) write(`${folder}/module${i}.ts`, sourceFile(i));
    else if (kindOfFile < 85) write(`${folder}/config${i}.yaml`, configFile(i));
    else if (kindOfFile < 89) write(`${folder}/../package-lock-${i}.json`, lockfile());
    else if (kindOfFile < 91) write(`${folder}/../dist/bundle${i}.js`, minifiedBundle());
    else if (kindOfFile < 99) write(`${folder}/notes${i}.md`, `# Notes ${i}\n\nExport \`OPENAI_API_KEY=sk-...\` first. Image: ![x](data:image/png;base64,${randomChars(400, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/')})\n`);
    else {
      // Two keys per kind over a 20,000-file tree: every 100th file plants one.
      const planting = plantings[plantIndex++ % plantings.length];
      if (!planting) continue;
      const relative = `${folder}/leak${i}.${planting.file}`;
      const head = '# settings\n\n';
      write(relative, `${head}${planting.line(makeKey[planting.kind]())}\n`);
      planted.push({ file: relative, line: 3, kind: planting.kind });
    }
  }
  return { dir, files: count, bytes, planted };
}
