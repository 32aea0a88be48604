import type { CallPreview, PreviewContext } from './estimate';
import { previewCall } from './estimate';
import type { FoundCall } from './found-call';
import { findJsCalls } from './js-finder';
import { findPythonCalls } from './python-finder';

// Per-document caching, so typing costs nothing: a document version is parsed at most once, its
// previews are computed at most once per (version, live state), and stale work is dropped.

export interface PreviewDocument {
  readonly uri: string;
  readonly version: number;
  readonly languageId: string;
  readonly fileName: string;
  getText(): string;
}

export interface Cancellation {
  readonly isCancellationRequested: boolean;
}

export const PREVIEW_LANGUAGES = ['javascript', 'typescript', 'javascriptreact', 'typescriptreact', 'python'] as const;

/** Larger files are not previewed: generated bundles, not code someone is writing. */
export const MAX_PREVIEW_CHARS = 1_000_000;

export function findCalls(text: string, languageId: string, fileName: string): Promise<FoundCall[]> {
  if (text.length > MAX_PREVIEW_CHARS) return Promise.resolve([]);
  if (languageId === 'python') return Promise.resolve(findPythonCalls(text));
  if ((PREVIEW_LANGUAGES as readonly string[]).includes(languageId)) return findJsCalls(text, fileName);
  return Promise.resolve([]);
}

interface Entry {
  readonly version: number;
  readonly calls: Promise<FoundCall[]>;
  previews?: { readonly key: string; readonly value: Promise<CallPreview[]> };
}

export class PreviewCache {
  private readonly entries = new Map<string, Entry>();
  /** Parses actually run, for tests and the status of the cache. */
  parses = 0;

  calls(doc: PreviewDocument): Promise<FoundCall[]> {
    const e = this.entries.get(doc.uri);
    if (e && e.version === doc.version) return e.calls;
    this.parses++;
    const calls = findCalls(doc.getText(), doc.languageId, doc.fileName);
    this.entries.set(doc.uri, { version: doc.version, calls });
    return calls;
  }

  /** Previews for a document; `key` names the live state (policy hash, identity, snapshot time). */
  async previews(doc: PreviewDocument, ctx: PreviewContext, key: string, token?: Cancellation): Promise<CallPreview[]> {
    const calls = await this.calls(doc);
    const e = this.entries.get(doc.uri);
    if (!e || e.version !== doc.version || token?.isCancellationRequested) return [];
    if (e.previews?.key === key) return e.previews.value;
    const value = (async (): Promise<CallPreview[]> => {
      const out: CallPreview[] = [];
      for (const c of calls) {
        if (token?.isCancellationRequested) break;
        out.push(await previewCall(c, ctx));
      }
      return out;
    })();
    e.previews = { key, value };
    const result = await value;
    // A cancelled run is not kept: the next request computes it whole.
    if (token?.isCancellationRequested && e.previews?.value === value) e.previews = undefined;
    return result;
  }

  forget(uri: string): void {
    this.entries.delete(uri);
  }
}
