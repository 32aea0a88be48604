import type { CallPolicy, CallVerifier } from '../pipeline/call-context';
import type { BrowserGuard } from './browser-guard';

/**
 * The bundle in force and everything built from it: what a call is decided under, plus the
 * transport's browser guard. A request keeps the context it started with, so a reload never
 * changes the rules under a call that is already running.
 */
export interface PolicyContext extends CallPolicy {
  readonly verifier: CallVerifier;
  readonly browserGuard: BrowserGuard;
  readonly source: string;
}
