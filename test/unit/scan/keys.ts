import { randomInt } from 'node:crypto';
import { shannonEntropy } from '../../../src/scan/entropy';

// Realistic keys are assembled here at run time, never written out whole, so the repository and
// any package built from it hold no string that push protection or vsce would take for a key.
const alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const lowerHex = '0123456789abcdef';

/** Random characters from an alphabet, guaranteed to mix upper, lower and digits when it can. */
export function randomChars(length: number, alphabet: string = alnum): string {
  for (;;) {
    let s = '';
    for (let i = 0; i < length; i++) s += alphabet[randomInt(alphabet.length)];
    const mixes = alphabet !== alnum || (/[a-z]/.test(s) && /[A-Z]/.test(s) && /[0-9]/.test(s));
    if (mixes && !/(.)\1{3,}/.test(s) && !/your|fake|test|xxxx|YOUR|FAKE|TEST|XXXX/i.test(s)) return s;
  }
}

const dashed = `${alnum}_-`;

/**
 * Random lower-case hex as real keys have it. One draw in a few hundred of 32 characters falls
 * below the entropy the hex rules ask for (3.2 bits); such a draw would make a test flaky.
 */
function randomHex(length: number): string {
  for (;;) {
    const s = randomChars(length, lowerHex);
    if (shannonEntropy(s) >= 3.5) return s;
  }
}

/** One builder per rule; each returns a fresh key of the real format. */
export const makeKey = {
  openAiProject: (): string => ['sk', 'proj', randomChars(74, dashed) + 'T3Blbk' + 'FJ' + randomChars(74, dashed)].join('-'),
  openAiServiceAccount: (): string => ['sk', 'svcacct', randomChars(74, dashed) + 'T3Blbk' + 'FJ' + randomChars(74, dashed)].join('-'),
  openAiAdmin: (): string => ['sk', 'admin', randomChars(58, dashed) + 'T3Blbk' + 'FJ' + randomChars(58, dashed)].join('-'),
  openAiLegacy: (): string => 'sk' + '-' + randomChars(20) + 'T3Blbk' + 'FJ' + randomChars(20),
  anthropic: (): string => ['sk', 'ant', 'api03', randomChars(93, dashed) + 'AA'].join('-'),
  anthropicAdmin: (): string => ['sk', 'ant', 'admin01', randomChars(93, dashed) + 'AA'].join('-'),
  google: (): string => 'AI' + 'za' + randomChars(35, dashed),
  azureHex: (): string => randomHex(32),
  huggingFace: (): string => 'hf' + '_' + randomChars(34),
  groq: (): string => 'gsk' + '_' + randomChars(52),
  replicate: (): string => 'r8' + '_' + randomChars(37),
  openRouter: (): string => ['sk', 'or', 'v1', randomHex(64)].join('-'),
  perplexity: (): string => 'pplx' + '-' + randomChars(48),
  xai: (): string => 'xai' + '-' + randomChars(80),
  fireworks: (): string => 'fw' + '_' + randomChars(24),
  together: (): string => 'tgp' + '_v1_' + randomChars(43, dashed),
  togetherHex: (): string => randomHex(64),
  mistral: (): string => randomChars(32),
  cohere: (): string => randomChars(40),
  deepseek: (): string => 'sk' + '-' + randomHex(32),
  awsAccessKeyId: (): string => 'AK' + 'IA' + randomChars(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'),
  awsSecret: (): string => randomChars(38) + '/' + '+',
  github: (): string => 'gh' + 'p_' + randomChars(36),
  githubFineGrained: (): string => 'github' + '_pat_' + randomChars(22) + '_' + randomChars(59),
  gitlab: (): string => 'gl' + 'pat-' + randomChars(20),
  slackBot: (): string => ['xo' + 'xb', randomChars(11, '0123456789'), randomChars(12, '0123456789'), randomChars(24)].join('-'),
  slackWebhook: (): string => 'https://hooks' + '.slack.com/services/T' + randomChars(8, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789') + '/B' + randomChars(10, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789') + '/' + randomChars(24),
  stripeLive: (): string => 'sk' + '_live_' + randomChars(24),
  genericSecret: (): string => randomChars(32),
  jwt: (): string => {
    const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: `user-${randomChars(6)}`, iat: 1700000000 })}.${randomChars(43, dashed)}`;
  },
  pemPrivateKey: (kind = 'RSA '): string =>
    ['-----BEGIN ' + kind + 'PRIVATE' + ' KEY-----', ...Array.from({ length: 8 }, () => randomChars(64, `${alnum}+/`)), '-----END ' + kind + 'PRIVATE' + ' KEY-----'].join('\n'),
};
