// The guards: accumulators the bundle switches on by a setting rather than declares as a rule.
// Their ids name them in records and refusals, so no limit or budget may take one.

/** Model calls sharing one W3C trace id (guards.max_calls_per_trace). */
export const TRACE_GUARD = 'max_calls_per_trace';

/** Distinct agent names a person gives in x-tollgate-agent within an hour (identity.max_agents_per_user). */
export const AGENT_NAME_GUARD = 'max_agents_per_user';

export const GUARD_IDS: readonly string[] = [TRACE_GUARD, AGENT_NAME_GUARD];

/** The window over which a person's agent names are counted. */
export const AGENT_NAME_WINDOW_MS = 3_600_000;
