import assert from 'node:assert/strict';
import { scanText } from '../../../src/scan/scanner';
import { secretRules } from '../../../src/scan/rules';
import { makeKey, randomChars } from './keys';

interface Case {
  readonly rule: string;
  readonly name: string;
  readonly path?: string;
  readonly text: () => { text: string; secret: string };
}

const inCode = (line: (k: string) => string, make: () => string) => (): { text: string; secret: string } => {
  const secret = make();
  return { text: `// setup\n${line(secret)}\n`, secret };
};

const truePositives: Case[] = [
  { rule: 'openai-project-key', name: 'project key passed to the client', text: inCode((k) => `client = OpenAI(api_key="${k}")`, makeKey.openAiProject) },
  { rule: 'openai-service-account-key', name: 'service-account key in a .env file', path: '.env', text: inCode((k) => `OPENAI_API_KEY=${k}`, makeKey.openAiServiceAccount) },
  { rule: 'openai-admin-key', name: 'admin key in a curl header', path: 'admin.sh', text: inCode((k) => `curl -H "Authorization: Bearer ${k}" https://api.openai.com/v1/organization/users`, makeKey.openAiAdmin) },
  { rule: 'openai-user-key', name: 'legacy user key in JSON', path: 'c.json', text: inCode((k) => `{"openai": "${k}"}`, makeKey.openAiLegacy) },
  { rule: 'anthropic-api-key', name: 'API key in a TypeScript constructor', text: inCode((k) => `const anthropic = new Anthropic({ apiKey: '${k}' });`, makeKey.anthropic) },
  { rule: 'anthropic-admin-key', name: 'admin key in YAML', path: 'ci.yml', text: inCode((k) => `  admin_key: ${k}`, makeKey.anthropicAdmin) },
  { rule: 'google-api-key', name: 'Gemini key in a URL query', text: inCode((k) => `fetch(\`https://generativelanguage.googleapis.com/v1beta/models?key=${k}\`)`, makeKey.google) },
  { rule: 'azure-openai-key', name: 'Azure key beside an Azure endpoint', text: inCode((k) => `AZURE_OPENAI_API_KEY = "${k}"`, makeKey.azureHex) },
  { rule: 'azure-openai-key', name: 'api-key header in an Azure OpenAI file', text: () => {
    const secret = makeKey.azureHex();
    return { secret, text: `const url = 'https://contoso.openai.azure.com/openai/deployments';\nheaders = { 'api-key': '${secret}' };\n` };
  } },
  { rule: 'huggingface-token', name: 'Hugging Face token in Python', text: inCode((k) => `login(token="${k}")`, makeKey.huggingFace) },
  { rule: 'groq-api-key', name: 'Groq key', text: inCode((k) => `groq = Groq(api_key="${k}")`, makeKey.groq) },
  { rule: 'replicate-api-token', name: 'Replicate token', text: inCode((k) => `REPLICATE_API_TOKEN="${k}"`, makeKey.replicate) },
  { rule: 'openrouter-api-key', name: 'OpenRouter key', text: inCode((k) => `apiKey: "${k}",`, makeKey.openRouter) },
  { rule: 'perplexity-api-key', name: 'Perplexity key', text: inCode((k) => `PPLX_KEY = '${k}'`, makeKey.perplexity) },
  { rule: 'xai-api-key', name: 'xAI key', text: inCode((k) => `XAI_API_KEY="${k}"`, makeKey.xai) },
  { rule: 'fireworks-api-key', name: 'Fireworks key', text: inCode((k) => `fireworks.client.api_key = "${k}"`, makeKey.fireworks) },
  { rule: 'together-api-key', name: 'Together key', text: inCode((k) => `Together(api_key="${k}")`, makeKey.together) },
  { rule: 'together-api-key-legacy', name: 'legacy Together hex key by name', text: inCode((k) => `TOGETHER_API_KEY = "${k}"`, makeKey.togetherHex) },
  { rule: 'mistral-api-key', name: 'Mistral key by name', text: inCode((k) => `MISTRAL_API_KEY = "${k}"`, makeKey.mistral) },
  { rule: 'cohere-api-key', name: 'Cohere key by name', text: inCode((k) => `cohere_api_key: "${k}"`, makeKey.cohere) },
  { rule: 'deepseek-api-key', name: 'DeepSeek key by name', text: inCode((k) => `DEEPSEEK_API_KEY="${k}"`, makeKey.deepseek) },
  { rule: 'aws-access-key-id', name: 'AWS access key id in credentials', path: 'credentials', text: inCode((k) => `aws_access_key_id = ${k}`, makeKey.awsAccessKeyId) },
  { rule: 'aws-secret-access-key', name: 'AWS secret access key in credentials', path: 'credentials', text: inCode((k) => `aws_secret_access_key = ${k}`, makeKey.awsSecret) },
  { rule: 'gcp-service-account-key', name: 'service-account JSON', path: 'sa.json', text: () => {
    const pem = makeKey.pemPrivateKey('').replace(/\n/g, '\\n');
    return { secret: pem, text: `{\n  "type": "service_account",\n  "project_id": "demo",\n  "private_key": "${pem}\\n",\n  "client_email": "a@demo.iam.gserviceaccount.com"\n}\n` };
  } },
  { rule: 'private-key', name: 'RSA private key block', path: 'id_rsa', text: inCode((k) => k, () => makeKey.pemPrivateKey('RSA ')) },
  { rule: 'private-key', name: 'OpenSSH private key block', path: 'id_ed25519', text: inCode((k) => k, () => makeKey.pemPrivateKey('OPENSSH ')) },
  { rule: 'github-token', name: 'classic GitHub token', text: inCode((k) => `GITHUB_TOKEN=${k}`, makeKey.github) },
  { rule: 'github-token', name: 'fine-grained GitHub token', text: inCode((k) => `const octokit = new Octokit({ auth: "${k}" });`, makeKey.githubFineGrained) },
  { rule: 'gitlab-token', name: 'GitLab token', text: inCode((k) => `PRIVATE-TOKEN: ${k}`, makeKey.gitlab) },
  { rule: 'slack-token', name: 'Slack bot token', text: inCode((k) => `const slack = new WebClient('${k}');`, makeKey.slackBot) },
  { rule: 'slack-webhook-url', name: 'Slack webhook URL', text: inCode((k) => `WEBHOOK = "${k}"`, makeKey.slackWebhook) },
  { rule: 'stripe-secret-key', name: 'Stripe live key', text: inCode((k) => `stripe.api_key = "${k}"`, makeKey.stripeLive) },
  { rule: 'jwt', name: 'signed JWT in a fetch header', text: inCode((k) => `headers: { Authorization: 'Bearer ${k}' }`, makeKey.jwt) },
  { rule: 'jwt-signing-secret', name: 'JWT signing secret', text: inCode((k) => `JWT_SECRET = "${k}"`, () => randomChars(24)) },
  { rule: 'generic-api-key', name: 'generic *_API_KEY assignment', text: inCode((k) => `WEATHER_API_KEY = "${k}"`, makeKey.genericSecret) },
  { rule: 'generic-api-key', name: 'generic client secret in JSON', path: 'config.json', text: inCode((k) => `  "clientSecret": "${k}",`, makeKey.genericSecret) },
];

const awsDocExample = 'AKIA' + 'IOSFODNN7' + 'EXAMPLE';
const falsePositives: Array<{ name: string; path?: string; text: string }> = [
  { name: 'an ellipsis placeholder key', text: 'OPENAI_API_KEY=sk-proj-...' },
  { name: 'sk-xxxx placeholders', text: `OPENAI_API_KEY="sk-proj-${'x'.repeat(150)}"\nkey = "sk-${'x'.repeat(48)}"` },
  { name: 'an angle-bracket placeholder', text: 'OPENAI_API_KEY=<your-key>\nANTHROPIC_API_KEY="<your-anthropic-api-key-goes-here>"' },
  { name: 'YOUR_API_KEY placeholders', text: 'api_key = "YOUR_API_KEY"\nconst apiKey = "YOUR_OPENAI_API_KEY_HERE_1234";' },
  { name: 'the AWS documentation example key', text: `aws_access_key_id = ${awsDocExample}\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCY${'EXAMPLE'}KEY` },
  { name: 'an environment read in JavaScript', text: 'const apiKey = process.env.OPENAI_API_KEY;\nconst key2 = process.env.OPENAI_API_KEY_V2;' },
  { name: 'an environment read in Python', text: 'api_key = os.environ["OPENAI_API_KEY"]\nkey = os.getenv("ANTHROPIC_API_KEY")' },
  { name: 'a secret-store read', text: "const apiKey = await context.secrets.get('tollgate.openaiKey');\nAPI_KEY = keyring.get_password('openai', 'default')" },
  { name: 'a GitHub Actions secret reference', path: 'ci.yml', text: 'env:\n  OPENAI_API_KEY: ${{ secrets.OPENAI_API_KEY }}\n  TOKEN: ${TOKEN}' },
  { name: 'a lockfile integrity hash', path: 'package-lock.json', text: '"integrity": "sha512-AIzaSyD3kfj39dkFJ39dkfj93kdkfj39dkfj39dk+T3BlbkFJxyzABCdefGHIjklMNOpqrSTUvwx12==",\n"resolved": "https://registry.npmjs.org/x/-/x-1.0.0.tgz"' },
  { name: 'a UUID assigned to a key name', text: 'const API_KEY = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";' },
  { name: 'a base64 image', text: `<img src="data:image/png;base64,iVBORw0KGgo${'AIza' + randomChars(35)}AAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==">` },
  { name: 'a hash assigned to a sha variable', text: 'const commitSha = "9fceb02d0ae598e95dc970b74767f19372d61af8";' },
  { name: 'a code identifier as value', text: 'api_key = get_api_key_from_vault_v2\nsecret = config.openai.secret_key_v1' },
  { name: 'a key-name string, not a key', text: 'const SECRET_NAME = "OPENAI_API_KEY_PRODUCTION";\ntoken: "refresh-token-rotation-policy"' },
  { name: 'a private key header without a body', text: '-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----' },
  { name: 'the jwt.io sample token', text: 'const t = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";' },
  { name: 'an unsigned JWT', text: `const t = "${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"someone-real"}').toString('base64url')}.${'abcdEFGH1234ijkl'}";` },
  { name: 'a Stripe test key', text: `stripe.api_key = "${'sk' + '_test_'}${randomChars(24)}"` },
  { name: 'a 32-hex value without an Azure context', text: `const api_key_hash = "md5";\nconst checksum = "${randomChars(32, '0123456789abcdef')}";` },
  { name: 'a Mistral model name', text: 'MISTRAL_MODEL = "mistral-large-latest"' },
  { name: 'a random-looking string with no key-like name', text: `const nonce = "${randomChars(32)}";` },
  { name: 'a generated key in Python code without quotes', path: 'app.py', text: 'api_key = make_api_key(seed42_abcdefghijkl)' },
];

describe('secret rules', () => {
  it('finds an AWS access key ID whose random part repeats letters, as about 1 real key in 300 does', () => {
    // Uniform base32: about 0.4% of 16-character parts fall under 3 bits per character, none of
    // them a placeholder; these four did in test runs (built here so that no file holds a key).
    for (const part of ['TPYVYYVYXYZAVP6P', 'HFQHHDSMDFWQFFQD', '6W2W2IUEOWIR2E2K', 'CEYXVACCVVCVLOBL']) {
      const key = 'AK' + 'IA' + part;
      assert.deepEqual(scanText(`const id = '${key}';\n`, { path: 'src/a.ts' }).map((f) => f.ruleId), ['aws-access-key-id'], key);
    }
  });

  it('every rule has a true-positive case here', () => {
    const covered = new Set(truePositives.map((c) => c.rule));
    assert.deepEqual(secretRules.map((r) => r.id).filter((id) => !covered.has(id)), []);
  });

  describe('find real keys', () => {
    for (const c of truePositives) {
      it(`${c.rule}: ${c.name}`, () => {
        const { text, secret } = c.text();
        const findings = scanText(text, { path: c.path ?? 'src/app.ts' });
        assert.deepEqual(findings.map((f) => f.ruleId), [c.rule]);
        const [f] = findings;
        assert.ok(f);
        assert.equal(text.slice(f.offset, f.endOffset).replace(/\\n$/, ''), secret.replace(/\\n$/, ''));
        assert.ok(!JSON.stringify(findings).includes(secret), 'the finding must not hold the secret');
        assert.ok(f.redacted.length < secret.length);
      });
    }
  });

  describe('ignore placeholders and look-alikes', () => {
    for (const c of falsePositives) {
      it(`not a finding: ${c.name}`, () => {
        assert.deepEqual(scanText(c.text, { path: c.path ?? 'src/app.ts' }).map((f) => `${f.ruleId} ${f.redacted}`), []);
      });
    }
  });
});
