// The guards: accumulators the bundle switches on by a setting rather than declares as a rule.
// Their ids name them in records and refusals. No limit or budget may take one: the loader
// refuses such a bundle at the id, and the engine refuses such a policy when it compiles it, so a
// recorded charge under a guard's id is always the guard's (see Engine.accumulatorFor).

/** Model calls sharing one W3C trace id (guards.max_calls_per_trace). */
export const TRACE_GUARD = 'max_calls_per_trace';

/** Distinct agent names a person gives in x-tollgate-agent within an hour (identity.max_agents_per_user). */
export const AGENT_NAME_GUARD = 'max_agents_per_user';

/** Suspension of an identity whose recent rate diverges from its own baseline (guards.divergence). */
export const DIVERGENCE_GUARD = 'divergence';

/** A token's own scope (the tollgate_scope claim): its models, routes and lifetime USD cap. */
export const TOKEN_SCOPE_GUARD = 'token-scope';

export type GuardId = typeof TRACE_GUARD | typeof AGENT_NAME_GUARD | typeof DIVERGENCE_GUARD | typeof TOKEN_SCOPE_GUARD;

export const GUARD_IDS: readonly GuardId[] = [TRACE_GUARD, AGENT_NAME_GUARD, DIVERGENCE_GUARD, TOKEN_SCOPE_GUARD];

export function isGuardId(id: string): id is GuardId {
  return (GUARD_IDS as readonly string[]).includes(id);
}

/** The window over which a person's agent names are counted. */
export const AGENT_NAME_WINDOW_MS = 3_600_000;

/** A policy whose rule takes a guard's id: its records could not tell the rule from the guard. */
export class GuardIdTakenError extends Error {
  readonly reason = 'guard-id-taken' as const;
  constructor(readonly id: GuardId) {
    super(`rule id '${id}' is reserved for the guard of that name`);
    this.name = 'GuardIdTakenError';
  }
  static is(err: unknown): err is GuardIdTakenError {
    return err instanceof GuardIdTakenError;
  }
}
