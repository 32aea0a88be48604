import { isThreadOf } from '../../workers/thread';

// Kept apart from thread.ts so the command line can tell it was started as a describe thread
// without loading the providers for every other command.
export const describeThreadMarker = 'tollgate-describe-thread';

/** True inside a thread the describe pool started. */
export function isDescribeThread(): boolean {
  return isThreadOf(describeThreadMarker);
}
