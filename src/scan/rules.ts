import type { Severity } from './finding';
import { characterClassCount, shannonEntropy } from './entropy';
import { isNonSecretValue } from './placeholders';

/**
 * One kind of secret. `pattern` is global with indices; its `secret` group (or the whole match)
 * is the credential. A rule runs only on texts holding one of its `keywords` (lower case).
 */
export interface SecretRule {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly severity: Severity;
  readonly keywords: readonly string[];
  readonly pattern: RegExp;
  /** Leading characters of the secret that are a public, fixed prefix, safe to print. */
  readonly visiblePrefix: (secret: string) => number;
  /** Bits per character the random part must reach; placeholders and words fall short. */
  readonly minEntropy: number;
  /** When two findings overlap, the more specific rule's finding is kept. */
  readonly specificity: number;
  readonly accept?: (secret: string, match: RegExpExecArray, text: string) => boolean;
  /** A generic assignment rule: applies the extra checks for free-form values. */
  readonly assignment?: boolean;
}

// A `/` may bound a key too, but only in a URL path; the scanner decides that (see url-path.ts).
const before = '(?<![A-Za-z0-9_+-])';
const after = '(?![A-Za-z0-9_+-])';

function token(source: string): RegExp {
  return new RegExp(`${before}(?<secret>${source})${after}`, 'dg');
}

// A key-like name, an assignment operator, then an optionally quoted value. The name must end
// with key/token/secret so `MISTRAL_MODEL = "..."` is not read as a key.
function assigned(namePart: string, value: string): RegExp {
  return new RegExp(
    `(?<name>${namePart})[\\w.-]{0,12}["'\\]]?[ \\t]*(?::=|=>|=|:)[ \\t]*["'\`]?(?<secret>${value})(?![A-Za-z0-9_+/=-])`,
    'dgi',
  );
}

const fixed = (n: number) => (): number => n;
const upTo = (marker: string) => (secret: string): number => {
  const at = secret.indexOf(marker);
  return at < 0 ? 0 : at + marker.length;
};

const pemHeaderLength = (secret: string): number => {
  const end = secret.indexOf('-----', 5);
  return end < 0 ? 0 : end + 5;
};

const openAiPrefixed = (kind: string): ((s: string) => boolean) => (secret) =>
  secret.includes('T3BlbkFJ') || secret.length - kind.length >= 80;

function decodeBase64Url(part: string): string | undefined {
  try {
    return atob(part.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    return undefined;
  }
}

function isSignedJwt(secret: string): boolean {
  const [header, payload] = secret.split('.');
  const headerJson = decodeBase64Url(header ?? '');
  const payloadJson = decodeBase64Url(payload ?? '');
  if (!headerJson || !payloadJson) return false;
  try {
    const h = JSON.parse(headerJson) as { alg?: unknown };
    const p = JSON.parse(payloadJson) as { sub?: unknown; name?: unknown };
    if (typeof h.alg !== 'string' || h.alg.toLowerCase() === 'none') return false;
    // The jwt.io sample token appears in countless docs and tests.
    return !(p.sub === '1234567890' && p.name === 'John Doe');
  } catch {
    return false;
  }
}

function privateKeyHasBody(secret: string): boolean {
  const body = secret.replace(/-----[A-Z ]+-----/g, '').replace(/\\[nr]/g, '').replace(/["'+,\s]/g, '');
  return !body.includes('...') && /[A-Za-z0-9+/=]{64,}/.test(body.replace(/^[A-Za-z-]+:.*$/gm, ''));
}

const azureContext = /\.openai\.azure\.com|cognitiveservices\.azure\.com|AzureOpenAI|azure_endpoint|AZURE_OPENAI/;

const configFile = /(?:^|\/)(?:\.env[^/]*|[^/]*\.(?:env|ini|cfg|conf|properties|ya?ml|toml|sh|bash|zsh)|Dockerfile[^/]*|[^/.]+)$/i;

/** True when an unquoted value on the line can only be a literal (config files, not code). */
export function allowsUnquotedValues(path: string | undefined): boolean {
  return path === undefined || path === '' || configFile.test(path);
}

function looksGenerated(value: string, entropy: number): boolean {
  return /[0-9]/.test(value) && /[A-Za-z]/.test(value) && characterClassCount(value) >= 2 && shannonEntropy(value) >= entropy;
}

export const secretRules: readonly SecretRule[] = [
  {
    id: 'openai-project-key', title: 'OpenAI project API key', severity: 'error', specificity: 10,
    description: 'An OpenAI project key (sk-proj-). Anyone holding it spends on the project.',
    keywords: ['sk-proj-'], pattern: token('sk-proj-[A-Za-z0-9_-]{40,250}'), visiblePrefix: fixed(8), minEntropy: 4,
    accept: openAiPrefixed('sk-proj-'),
  },
  {
    id: 'openai-service-account-key', title: 'OpenAI service-account key', severity: 'error', specificity: 10,
    description: 'An OpenAI service-account key (sk-svcacct-), bound to a project rather than a person.',
    keywords: ['sk-svcacct-'], pattern: token('sk-svcacct-[A-Za-z0-9_-]{40,250}'), visiblePrefix: fixed(11), minEntropy: 4,
    accept: openAiPrefixed('sk-svcacct-'),
  },
  {
    id: 'openai-admin-key', title: 'OpenAI admin key', severity: 'error', specificity: 10,
    description: 'An OpenAI organization admin key (sk-admin-): it manages users, keys and billing.',
    keywords: ['sk-admin-'], pattern: token('sk-admin-[A-Za-z0-9_-]{40,250}'), visiblePrefix: fixed(9), minEntropy: 4,
    accept: openAiPrefixed('sk-admin-'),
  },
  {
    id: 'openai-user-key', title: 'OpenAI user API key (legacy)', severity: 'error', specificity: 10,
    description: 'A legacy OpenAI user key: sk- with the T3BlbkFJ marker, or the sk-None- form.',
    keywords: ['t3blbkfj', 'sk-none-'],
    pattern: token('sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|sk-None-[A-Za-z0-9_-]{40,250}'), visiblePrefix: fixed(3), minEntropy: 4,
  },
  {
    id: 'anthropic-api-key', title: 'Anthropic API key', severity: 'error', specificity: 10,
    description: 'An Anthropic API key (sk-ant-api03-).',
    keywords: ['sk-ant-api'], pattern: token('sk-ant-api\\d\\d-[A-Za-z0-9_-]{80,120}'), visiblePrefix: upTo('-api03-'), minEntropy: 4,
  },
  {
    id: 'anthropic-admin-key', title: 'Anthropic admin key', severity: 'error', specificity: 10,
    description: 'An Anthropic organization admin key (sk-ant-admin01-).',
    keywords: ['sk-ant-admin'], pattern: token('sk-ant-admin\\d\\d-[A-Za-z0-9_-]{80,120}'), visiblePrefix: fixed(15), minEntropy: 4,
  },
  {
    id: 'google-api-key', title: 'Google API key (Gemini, AI Studio, Cloud)', severity: 'error', specificity: 8,
    description: 'A Google API key (AIza...). Gemini and AI Studio keys have this form and bill the project.',
    keywords: ['aiza'], pattern: token('AIza[0-9A-Za-z_-]{35}'), visiblePrefix: fixed(4), minEntropy: 3.5,
  },
  {
    id: 'azure-openai-key', title: 'Azure OpenAI key', severity: 'error', specificity: 6,
    description: 'An Azure OpenAI / AI services key (32 hex or 84 characters), recognised by its Azure context.',
    keywords: ['azure', 'api-key'],
    pattern: assigned('azure[\\w.-]{0,30}?(?:key|secret)|api-key', '[a-f0-9]{32}|[A-Za-z0-9]{84}'),
    visiblePrefix: fixed(0), minEntropy: 3,
    accept: (_s, m, text) => /azure/i.test(m.groups?.name ?? '') || azureContext.test(text),
  },
  {
    id: 'huggingface-token', title: 'Hugging Face access token', severity: 'error', specificity: 8,
    description: 'A Hugging Face user (hf_) or organization (api_org_) token.',
    keywords: ['hf_', 'api_org_'], pattern: token('(?:hf_|api_org_)[A-Za-z0-9]{34}'), visiblePrefix: upTo('_'), minEntropy: 3.5,
    accept: (s) => characterClassCount(s.slice(3)) >= 2,
  },
  {
    id: 'groq-api-key', title: 'Groq API key', severity: 'error', specificity: 8,
    description: 'A Groq API key (gsk_).',
    keywords: ['gsk_'], pattern: token('gsk_[A-Za-z0-9]{52}'), visiblePrefix: fixed(4), minEntropy: 4,
  },
  {
    id: 'replicate-api-token', title: 'Replicate API token', severity: 'error', specificity: 8,
    description: 'A Replicate API token (r8_).',
    keywords: ['r8_'], pattern: token('r8_[A-Za-z0-9]{37}'), visiblePrefix: fixed(3), minEntropy: 3.8,
  },
  {
    id: 'openrouter-api-key', title: 'OpenRouter API key', severity: 'error', specificity: 9,
    description: 'An OpenRouter key (sk-or-v1-).',
    keywords: ['sk-or-'], pattern: token('sk-or-v1-[a-f0-9]{64}'), visiblePrefix: fixed(9), minEntropy: 3.3,
  },
  {
    id: 'perplexity-api-key', title: 'Perplexity API key', severity: 'error', specificity: 8,
    description: 'A Perplexity key (pplx-).',
    keywords: ['pplx-'], pattern: token('pplx-[A-Za-z0-9]{48}'), visiblePrefix: fixed(5), minEntropy: 3.8,
  },
  {
    id: 'xai-api-key', title: 'xAI API key', severity: 'error', specificity: 8,
    description: 'An xAI (Grok) key (xai-).',
    keywords: ['xai-'], pattern: token('xai-[A-Za-z0-9]{80}'), visiblePrefix: fixed(4), minEntropy: 4,
  },
  {
    id: 'fireworks-api-key', title: 'Fireworks AI API key', severity: 'error', specificity: 7,
    description: 'A Fireworks AI key (fw_).',
    keywords: ['fw_'], pattern: token('fw_[A-Za-z0-9]{24,48}'), visiblePrefix: fixed(3), minEntropy: 3.8,
    accept: (s) => characterClassCount(s.slice(3)) === 3,
  },
  {
    id: 'together-api-key', title: 'Together AI API key', severity: 'error', specificity: 8,
    description: 'A Together AI key (tgp_v1_).',
    keywords: ['tgp_v1_'], pattern: token('tgp_v1_[A-Za-z0-9_-]{40,}'), visiblePrefix: fixed(7), minEntropy: 3.8,
  },
  {
    id: 'together-api-key-legacy', title: 'Together AI API key (legacy hex)', severity: 'error', specificity: 6,
    description: 'A legacy Together AI key: 64 hex characters assigned to a Together key name.',
    keywords: ['together'], pattern: assigned('together[\\w.-]{0,30}?(?:key|token)', '[a-f0-9]{64}'), visiblePrefix: fixed(0), minEntropy: 3.3,
  },
  {
    id: 'mistral-api-key', title: 'Mistral API key', severity: 'error', specificity: 6,
    description: 'A Mistral key: 32 characters assigned to a Mistral key name.',
    keywords: ['mistral'], pattern: assigned('mistral[\\w.-]{0,30}?(?:key|token)', '[A-Za-z0-9]{32}'), visiblePrefix: fixed(0), minEntropy: 3.8,
    accept: (s) => characterClassCount(s) >= 2,
  },
  {
    id: 'cohere-api-key', title: 'Cohere API key', severity: 'error', specificity: 6,
    description: 'A Cohere key: 40 characters assigned to a Cohere key name.',
    keywords: ['cohere', 'co_api'], pattern: assigned('(?:cohere|co_api)[\\w.-]{0,30}?(?:key|token)|co_api_key', '[A-Za-z0-9]{40}'), visiblePrefix: fixed(0), minEntropy: 3.8,
    accept: (s) => characterClassCount(s) >= 2,
  },
  {
    id: 'deepseek-api-key', title: 'DeepSeek API key', severity: 'error', specificity: 6,
    description: 'A DeepSeek key: sk- and 32 hex characters assigned to a DeepSeek key name.',
    keywords: ['deepseek'], pattern: assigned('deepseek[\\w.-]{0,30}?(?:key|token)', 'sk-[a-f0-9]{32}'), visiblePrefix: fixed(3), minEntropy: 3.2,
  },
  {
    id: 'aws-access-key-id', title: 'AWS access key ID', severity: 'error', specificity: 8,
    description: 'An AWS access key ID (AKIA/ASIA...). Its pair, the secret access key, is usually nearby.',
    keywords: ['akia', 'asia', 'abia', 'acca'], pattern: new RegExp(`${before}(?<secret>(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})${after}`, 'dg'),
    // 16 random base32 characters fall under 3 bits per character about once in 300 keys, under
    // 2.5 almost never; placeholders (repeats, runs, few letters) are caught before this.
    visiblePrefix: fixed(4), minEntropy: 2.5,
  },
  {
    id: 'aws-secret-access-key', title: 'AWS secret access key', severity: 'error', specificity: 7,
    description: 'An AWS secret access key (40 base64 characters) assigned to an AWS secret name.',
    keywords: ['aws', 'secret_access_key', 'secretaccesskey'],
    pattern: assigned('(?:aws[\\w.-]{0,30}?secret[\\w.-]{0,20}?|secret_?access_?key)', '[A-Za-z0-9/+]{40}'), visiblePrefix: fixed(0), minEntropy: 4,
    accept: (s) => characterClassCount(s) === 3,
  },
  {
    id: 'gcp-service-account-key', title: 'Google Cloud service-account key', severity: 'error', specificity: 9,
    description: 'The private key of a Google Cloud service-account JSON file.',
    keywords: ['service_account'],
    pattern: /"private_key"\s*:\s*"(?<secret>-----BEGIN [A-Z ]*PRIVATE KEY-----[^"]{64,}?-----END [A-Z ]*PRIVATE KEY-----(?:\\n)?)"/dg,
    visiblePrefix: upTo('KEY-----'), minEntropy: 0,
    accept: (s, _m, text) => /"type"\s*:\s*"service_account"/.test(text) && privateKeyHasBody(s),
  },
  {
    id: 'private-key', title: 'Private key block', severity: 'error', specificity: 5,
    description: 'A PEM or OpenSSH private key with its body.',
    keywords: ['private key'],
    pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]{0,20000}?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/dg,
    visiblePrefix: pemHeaderLength, minEntropy: 0, accept: privateKeyHasBody,
  },
  {
    id: 'github-token', title: 'GitHub token', severity: 'error', specificity: 8,
    description: 'A GitHub personal, OAuth, app or refresh token (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_).',
    keywords: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'],
    pattern: token('gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}'),
    visiblePrefix: (s) => (s.startsWith('github_pat_') ? 11 : 4), minEntropy: 3.5,
  },
  {
    id: 'gitlab-token', title: 'GitLab token', severity: 'error', specificity: 8,
    description: 'A GitLab personal, deploy, runner or trigger token (glpat-, gldt-, glrt-, glptt-).',
    keywords: ['glpat-', 'gldt-', 'glrt-', 'glptt-'],
    pattern: token('gl(?:pat|dt|rt|ptt)-[A-Za-z0-9_-][A-Za-z0-9_.-]{18,300}[A-Za-z0-9_-]'), visiblePrefix: upTo('-'), minEntropy: 3.5,
  },
  {
    id: 'slack-token', title: 'Slack token', severity: 'error', specificity: 8,
    description: 'A Slack bot, user or app token (xoxb-, xoxp-, xapp-...).',
    keywords: ['xox', 'xapp-'],
    pattern: token('xox[abposre]-[0-9]{6,}-[A-Za-z0-9-]{16,}|xapp-[0-9]-[A-Z0-9]{6,}-[0-9]{6,}-[a-z0-9]{32,}'), visiblePrefix: fixed(5), minEntropy: 3.3,
  },
  {
    id: 'slack-webhook-url', title: 'Slack incoming webhook URL', severity: 'error', specificity: 8,
    description: 'A Slack webhook URL: anyone holding it can post to the channel.',
    keywords: ['hooks.slack.com'],
    pattern: /(?<secret>https:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9]{8,}\/[A-Za-z0-9]{8,}\/[A-Za-z0-9/]{16,})/dg,
    visiblePrefix: upTo('slack.com/'), minEntropy: 3,
  },
  {
    id: 'stripe-secret-key', title: 'Stripe live secret key', severity: 'error', specificity: 8,
    description: 'A Stripe live secret or restricted key (sk_live_, rk_live_). Test-mode keys are not reported.',
    keywords: ['_live_'], pattern: token('(?:sk|rk)_live_[A-Za-z0-9]{24,247}'), visiblePrefix: fixed(8), minEntropy: 3.5,
  },
  {
    id: 'jwt', title: 'Signed JSON Web Token', severity: 'warning', specificity: 4,
    description: 'A signed JWT: a bearer credential for as long as it is valid.',
    keywords: ['eyj'], pattern: token('eyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{16,}'), visiblePrefix: fixed(3), minEntropy: 3,
    accept: isSignedJwt,
  },
  {
    id: 'jwt-signing-secret', title: 'JWT signing secret', severity: 'error', specificity: 3,
    description: 'A literal secret assigned to a JWT secret name: whoever holds it can mint tokens.',
    keywords: ['jwt'], pattern: assigned('jwt[\\w.-]{0,20}?(?:secret|signing_?key|key)', '[A-Za-z0-9_\\-+/=.~!@#$%^&*]{12,200}'),
    visiblePrefix: fixed(0), minEntropy: 3, assignment: true,
  },
  {
    id: 'generic-api-key', title: 'Hard-coded API key or secret', severity: 'warning', specificity: 1,
    description: 'A random-looking literal assigned to a name such as *_API_KEY, *_SECRET or *_TOKEN.',
    keywords: ['key', 'secret', 'token'],
    pattern: assigned(
      '(?:api[_.-]?key|apikey|secret[_.-]?key|access[_.-]?key|client[_.-]?secret|auth[_.-]?token|access[_.-]?token|bearer[_.-]?token|private[_.-]?token|secret|token)(?=["\'\\]]?[ \\t]*(?::=|=>|=|:))',
      '[A-Za-z0-9_\\-+/=.~]{16,200}',
    ),
    visiblePrefix: fixed(0), minEntropy: 3.3, assignment: true,
    accept: (s) => looksGenerated(s, 3.3),
  },
];

/** Every rule that reads `name = value` asks for a name holding one of these words. */
export const assignedNameWords = /key|secret|token/i;

/** Extra checks for free-form assigned values, shared by the assignment rules. */
export function isLiteralAssignedSecret(value: string, quoted: boolean, path: string | undefined): boolean {
  if (!quoted && !allowsUnquotedValues(path)) return false;
  return !isNonSecretValue(value);
}

export function ruleById(id: string): SecretRule | undefined {
  return secretRules.find((r) => r.id === id);
}
