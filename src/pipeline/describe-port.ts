import type { ModelCall } from '../contracts/call';
import type { DetectorName } from '../engine/classify';
import type { Policy, ProviderConfig } from '../engine/policy/model';
import type { DescribeSettings } from '../providers/adapter';
import type { RequestBody } from './request-body';

// How the pipeline has a body described: the proxy fills this port (a large body goes to a thread
// of its own there), so the pipeline never parses, counts or classifies a body itself.

/** Where a body came in. */
export interface BodyWhere {
  readonly style: ProviderConfig['style'];
  readonly provider: string;
  readonly route: string;
  readonly method: string;
  /** The route invokes no model (GET): the body is read and dropped, never parsed. */
  readonly passthrough: boolean;
  /** What the provider's bundle entry says about reading its calls (an Azure deployment map). */
  readonly settings?: DescribeSettings;
}

export interface Described {
  /** The body as it will be forwarded: parsed here, or its bytes and layout from a describe thread. */
  readonly body: RequestBody;
  readonly call: ModelCall;
  /**
   * The detectors that found something in the call's texts, when they ran with the description;
   * the texts were then left behind (`call.texts` is empty). Undefined: the engine runs them.
   */
  readonly detected?: readonly DetectorName[];
}

/** Reads a body into the call the engine decides. */
export type DescribeBody = (body: Buffer, where: BodyWhere, policy: Policy) => Promise<Described>;
