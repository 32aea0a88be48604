import type { ModelCall } from '../contracts/call';
import type { DetectorName } from '../engine/classify';
import type { Engine } from '../engine/decide';
import type { Decision } from '../engine/decision';
import type { Identity } from '../engine/identity/identity';
import type { Policy, ProviderConfig } from '../engine/policy/model';
import type { ProviderAdapter } from '../providers/adapter';
import type { CallTransport } from './call-transport';
import type { RequestBody } from './request-body';

// One call as it moves through the pipeline. Each step adds what it learnt and hands the next a
// context that has it, so a step cannot read what an earlier one has not settled yet.

/** Where a call was sent: `/<provider><path><query>`. */
export interface CallRoute {
  readonly provider: string;
  /** The path after the provider segment, as sent upstream: `/v1/chat/completions`. */
  readonly path: string;
  /** The query string including its `?`, or ''. */
  readonly query: string;
}

/** Checks the caller's token: the bundle's token verifier. */
export interface CallVerifier {
  verify(token: string | undefined, now: number): Promise<Identity>;
}

/**
 * The bundle a call is decided under. A call keeps the one it started with, so a reload never
 * changes the rules under a call that is already running.
 */
export interface CallPolicy {
  readonly policy: Policy;
  readonly engine: Engine;
  readonly verifier: CallVerifier;
}

/** A call whose provider and route are known. */
export interface RoutedCall {
  readonly transport: CallTransport;
  readonly route: CallRoute;
  readonly rules: CallPolicy;
  readonly provider: ProviderConfig;
  readonly adapter: ProviderAdapter;
  /** The route invokes no model: its body is read and dropped. */
  readonly passthrough: boolean;
  /** When the call arrived, by the pipeline's clock. */
  readonly started: number;
}

/** ...and whose caller is verified. */
export interface IdentifiedCall extends RoutedCall {
  readonly identity: Identity;
}

/** ...and whose body is read into the call the engine decides. */
export interface DescribedCall extends IdentifiedCall {
  readonly call: ModelCall;
  readonly body: RequestBody;
  /** The detectors' findings when they ran with the description; undefined: the engine runs them. */
  readonly detected?: readonly DetectorName[];
}

/** ...and decided. */
export interface DecidedCall extends DescribedCall {
  readonly decision: Decision;
}
