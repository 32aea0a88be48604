// Glob matching for model and route allowlists: "*" is any run of characters, "?" is one.
// Compiled once per pattern because entitlements are checked on every request.

import { LRUCache } from 'lru-cache';

// Patterns come from the bundle, but a reload brings new ones: the oldest unused go first.
const cache = new LRUCache<string, RegExp>({ max: 1024 });

function compile(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (!re) {
    const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    re = new RegExp(`^${body}$`);
    cache.set(pattern, re);
  }
  return re;
}

export function globMatch(pattern: string, value: string): boolean {
  if (pattern === '*') return true;
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === value;
  return compile(pattern).test(value);
}

export function anyGlobMatch(patterns: readonly string[], value: string): boolean {
  for (const p of patterns) if (globMatch(p, value)) return true;
  return false;
}
