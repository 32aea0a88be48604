import type { ErrorDetails, RefusalKind } from '../../contracts/refusal';

/** A rule's refusal of a call before anything is held: no waiting helps, so nothing is charged. */
export interface CheckRefusal {
  readonly refusal: RefusalKind;
  /** The rule (or bundle section) that refused, as the record and the x-tollgate-rule header name it. */
  readonly rule: string;
  readonly reason: string;
  /** The numbers the provider's error shape states (a context overflow's size and limit). */
  readonly details?: ErrorDetails;
}
