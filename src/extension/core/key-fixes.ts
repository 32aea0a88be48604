import type { StyleName } from '../../contracts/call';
import { styleOfKeyRule } from '../../providers/registry';

// The text edits behind the key diagnostics' quick fixes, in the file's own language: replace a
// literal with an environment lookup, or add a `tollgate-ignore` comment with a reason. Pure
// string work on offsets so plain mocha proves each language.

/** The environment variable a key of this rule belongs in. */
export function envVarFor(ruleId: string): string {
  if (ruleId.startsWith('openai-') || ruleId === 'azure-openai-key') return ruleId === 'azure-openai-key' ? 'AZURE_OPENAI_API_KEY' : 'OPENAI_API_KEY';
  if (ruleId.startsWith('anthropic-')) return 'ANTHROPIC_API_KEY';
  if (ruleId === 'aws-access-key-id') return 'AWS_ACCESS_KEY_ID';
  if (ruleId === 'aws-secret-access-key') return 'AWS_SECRET_ACCESS_KEY';
  if (ruleId === 'github-token') return 'GITHUB_TOKEN';
  const base = ruleId.replace(/-(api-key|api-token|token|key)$/, '').replace(/[^a-z0-9]+/gi, '_').toUpperCase();
  return `${base}_API_KEY`;
}

/** The upstream provider whose key this is, when the proxy can hold it (its style's key rules). */
export function providerFor(ruleId: string): StyleName | undefined {
  return styleOfKeyRule(ruleId);
}

/** An expression reading `name` from the environment, or undefined where we do not know the language. */
export function envLookup(languageId: string, name: string): string | undefined {
  switch (languageId) {
    case 'javascript':
    case 'javascriptreact':
    case 'typescript':
    case 'typescriptreact':
      return `process.env.${name}`;
    case 'python':
      return `os.environ["${name}"]`;
    case 'go':
      return `os.Getenv("${name}")`;
    case 'java':
    case 'kotlin':
      return `System.getenv("${name}")`;
    case 'csharp':
      return `Environment.GetEnvironmentVariable("${name}")`;
    case 'ruby':
      return `ENV["${name}"]`;
    case 'php':
      return `getenv('${name}')`;
    case 'rust':
      return `std::env::var("${name}").unwrap_or_default()`;
    case 'shellscript':
    case 'dotenv':
    case 'properties':
      return `"\${${name}}"`;
    case 'yaml':
    case 'dockercompose':
      return `\${${name}}`;
    default:
      return undefined;
  }
}

export function lineCommentPrefix(languageId: string): string {
  switch (languageId) {
    case 'python':
    case 'ruby':
    case 'shellscript':
    case 'yaml':
    case 'dockercompose':
    case 'dotenv':
    case 'properties':
    case 'toml':
    case 'r':
    case 'perl':
    case 'powershell':
    case 'makefile':
    case 'dockerfile':
      return '#';
    case 'sql':
    case 'lua':
    case 'haskell':
      return '--';
    case 'bat':
      return 'REM';
    default:
      return '//';
  }
}

export interface TextReplacement {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/**
 * Replaces the secret at [start, end) with an environment lookup. A quoted literal is replaced
 * with its quotes (the lookup is an expression); in shell, dotenv and YAML the value is replaced in place.
 */
export function replaceWithEnvLookup(text: string, start: number, end: number, languageId: string, name: string): TextReplacement | undefined {
  const lookup = envLookup(languageId, name);
  if (lookup === undefined) return undefined;
  const before = text[start - 1];
  const after = text[end];
  const quoted = before !== undefined && before === after && `"'\``.includes(before);
  if (quoted && !['shellscript', 'dotenv', 'properties', 'yaml', 'dockercompose'].includes(languageId)) {
    return { start: start - 1, end: end + 1, text: lookup };
  }
  if (quoted) return { start: start - 1, end: end + 1, text: lookup.startsWith('"') ? lookup : `"${lookup}"` };
  return { start, end, text: lookup };
}

/** Python needs `import os` for os.environ; added at the top when absent. */
export function importFor(text: string, languageId: string): TextReplacement | undefined {
  if (languageId === 'python' && !/^\s*(import os\b|from os import)/m.test(text)) return { start: 0, end: 0, text: 'import os\n' };
  return undefined;
}

/** A comment line above `lineStart` telling the scanner to ignore this rule there, with the reason. */
export function ignoreComment(text: string, lineStart: number, languageId: string, ruleId: string, reason: string): TextReplacement {
  const indent = /^[ \t]*/.exec(text.slice(lineStart))?.[0] ?? '';
  const clean = reason.replace(/[\r\n]+/g, ' ').trim();
  const prefix = lineCommentPrefix(languageId);
  const close = languageId === 'html' || languageId === 'markdown' ? ' -->' : '';
  const open = close ? '<!--' : prefix;
  return { start: lineStart, end: lineStart, text: `${indent}${open} tollgate-ignore ${ruleId}: ${clean}${close}\n` };
}
