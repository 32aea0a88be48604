// The kinds of error the proxy answers in a provider's own shape.
export type ErrorKind =
  | 'rate-limit'
  | 'budget'
  | 'trace'
  | 'entitlement'
  /** The caller itself is refused (a web page, a name that is not the proxy's). */
  | 'forbidden'
  | 'context'
  | 'identity'
  | 'bad-request'
  | 'too-large'
  | 'not-found'
  | 'upstream'
  | 'timeout'
  | 'unavailable';

/**
 * Numbers a provider's own error shape states, where a kind of error has them: a context overflow
 * names the prompt's size and the limit it went over. Absent fields are not stated.
 */
export interface ErrorDetails {
  /** The prompt's input tokens, as counted. */
  readonly inputTokens?: number;
  /** The most input tokens allowed (the team's context cap). */
  readonly maxInputTokens?: number;
  /** What an entitlement refusal denies: the error's code names it (route_not_entitled). */
  readonly notEntitled?: EntitlementSubject;
}

/** What an entitlement covers: a route, a provider, a model, a tool the request declares. */
export type EntitlementSubject = 'route' | 'provider' | 'model' | 'tool';

/** The code an entitlement refusal carries where the provider's error shape has one; a model when unnamed. */
export function notEntitledCode(subject: EntitlementSubject | undefined): string {
  return `${subject ?? 'model'}_not_entitled`;
}

/** Why the policy refused a call: the engine's refusals, and the proxy's refusal of an unverified caller. */
export type RefusalKind = 'rate-limit' | 'budget' | 'trace' | 'entitlement' | 'context' | 'identity' | 'suspended';

export interface RefusalAnswer {
  readonly status: number;
  /** Which of the provider's error shapes answers it. */
  readonly error: ErrorKind;
}

// The one map from a refusal to its answer: a new refusal kind is added here and nowhere else
// (each provider adapter already answers every ErrorKind).
const answers: Record<RefusalKind, RefusalAnswer> = {
  'rate-limit': { status: 429, error: 'rate-limit' },
  budget: { status: 429, error: 'budget' },
  trace: { status: 429, error: 'trace' },
  // No waiting helps: the caller is not allowed this at all.
  entitlement: { status: 403, error: 'entitlement' },
  // Answered as the provider answers a prompt over the model's context window, so clients compact or
  // trim the prompt instead of treating the refusal as an authentication or permission failure.
  context: { status: 400, error: 'context' },
  identity: { status: 401, error: 'identity' },
  // A suspended identity (guards.divergence): 403, not 429. Waiting does not lift it, and SDKs and
  // coding agents retry a 429 on their own, which is the very runaway the suspension stops; a 403
  // is a permission error they stop on, and nothing is retried until a person resumes it.
  suspended: { status: 403, error: 'forbidden' },
};

export function refusalAnswer(kind: RefusalKind): RefusalAnswer {
  return answers[kind];
}
