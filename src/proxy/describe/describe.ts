import { availableParallelism } from 'node:os';
import { detectorsOf } from '../../engine/classify';
import type { Policy } from '../../engine/policy/model';
import type { BodyWhere, Described } from '../../pipeline/describe-port';
import { describeBody } from './job';
import { DescribePool } from './pool';

/**
 * Bodies up to this size are described on the request thread, where a small call keeps its fast
 * path: text the tokenizer has never seen counts at about 0.3 MB/s on a busy two-core machine
 * (bench/README.md), so 8 KiB of it takes about 25 ms there. Larger bodies are parsed, counted
 * and classified on a describe thread, so no body holds up the requests around it.
 */
export const IN_THREAD_LIMIT = 8 * 1024;

/** A thread per spare core, at most two: the ledger keeps threads of its own. */
function poolSize(): number {
  return Math.max(1, Math.min(2, availableParallelism() - 1));
}

let shared: DescribePool | undefined;

function pool(): DescribePool {
  shared ??= new DescribePool(poolSize());
  return shared;
}

/** Starts a describe thread now: loading one takes a good part of a second. */
export function warmDescribeThreads(): void {
  pool().warm();
}

/**
 * Reads a request body into the parsed JSON and the call the engine decides, with the
 * detectors' findings when they already ran. A large body's bytes move to a describe thread.
 */
export async function describeRequest(body: Buffer, route: BodyWhere, policy: Policy): Promise<Described> {
  if (body.length <= IN_THREAD_LIMIT || route.passthrough) return describeBody(body, route);
  return pool().run(body, route, detectorsOf(policy));
}
