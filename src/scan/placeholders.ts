// Words that mark documentation values. Matched in one case at a time so a random key that
// happens to spell one in mixed case is still reported.
const placeholderWords = /(your|YOUR|Your|example|EXAMPLE|Example|sample|SAMPLE|placeholder|PLACEHOLDER|dummy|DUMMY|changeme|CHANGEME|redacted|REDACTED|REPLACE|replace_?me|insert|INSERT|fake|FAKE|xxxx|XXXX|\*\*\*\*|test_?key|TEST_?KEY)/;
const templateSyntax = /\$\{|\{\{|%s|\$\(|<[^>]*>|\[[A-Za-z_ -]+\]/;
const ellipsis = /\.\.\.|…/;
const longRepeat = /(.)\1{5,}/;
const sequences = ['0123456789', '1234567890', 'abcdefghij', 'ABCDEFGHIJ', 'qwertyuiop'];

/** True when a candidate is a documentation placeholder rather than a real credential. */
export function isPlaceholder(candidate: string): boolean {
  if (ellipsis.test(candidate) || templateSyntax.test(candidate)) return true;
  if (placeholderWords.test(candidate) || longRepeat.test(candidate)) return true;
  if (sequences.some((s) => candidate.includes(s))) return true;
  return new Set(candidate).size <= 4;
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// `process.env.KEY`, `config.openai.apiKey`, `settings.KEY_2`: a read, not a literal.
const identifierPath = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/;
const environmentName = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/;
const integrityHash = /^sha(?:1|256|384|512)-/;
// Stripe test-mode and publishable keys cannot move money.
const stripeHarmless = /^(?:(?:sk|rk|pk)_test_|pk_live_)/;

/** True when a value assigned to a key-like name is clearly not a literal secret. */
export function isNonSecretValue(value: string): boolean {
  return uuid.test(value) || identifierPath.test(value) || environmentName.test(value) || integrityHash.test(value) || stripeHarmless.test(value)
    || /^(?:https?|file):\/\//.test(value) || /^[./~]/.test(value) || /^[a-z]+(?:[-_][a-z]+)+$/.test(value);
}
