import { parentPort } from 'node:worker_threads';
import { startedFromSource } from '../../workers/thread';
import type { BodyWhere, Described } from '../../pipeline/describe-port';
import type { WireFailure } from './job';
import type { DetectorName } from '../../engine/classify';
import { describeBody, toWire } from './job';
import { describeThreadMarker } from './role';

/*
 * A describe thread: parses, counts and classifies the bodies the request thread hands it, one
 * at a time, and sends back the parsed body, the call and the detectors' findings. It ends when
 * its port closes.
 */

export interface DescribeJob {
  readonly id: number;
  /** The body's bytes, transferred: the request thread keeps no copy. */
  readonly body: Uint8Array;
  readonly route: BodyWhere;
  /** The detectors of the policy in force. */
  readonly detectors: readonly DetectorName[];
}

export type DescribeReply =
  | { readonly id: number; readonly described: Described }
  | { readonly id: number; readonly failure: WireFailure };

export function serveDescribeThread(): void {
  const port = parentPort;
  if (!port) return;
  port.on('message', (job: DescribeJob) => {
    try {
      const described = describeBody(Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength), job.route, job.detectors);
      // The bytes go back as they came (moved, not copied), for the request thread to forward.
      port.postMessage({ id: job.id, described } satisfies DescribeReply, described.body.kind === 'raw' ? [job.body.buffer as ArrayBuffer] : []);
    } catch (err) {
      port.postMessage({ id: job.id, failure: toWire(err) } satisfies DescribeReply);
    }
  });
}

// Loaded directly as a worker script when running from TypeScript sources (tests, tsx).
if (startedFromSource(describeThreadMarker)) serveDescribeThread();
