import type { Engine } from '../engine/decide';
import type { TokenVerifier } from '../engine/identity/tokens';
import type { Policy } from '../engine/policy/model';
import type { BrowserGuard } from './browser-guard';

/**
 * The bundle in force and everything built from it. A request keeps the context it started with,
 * so a reload never changes the rules under a call that is already running.
 */
export interface PolicyContext {
  readonly policy: Policy;
  readonly engine: Engine;
  readonly verifier: TokenVerifier;
  readonly browserGuard: BrowserGuard;
  readonly source: string;
}
