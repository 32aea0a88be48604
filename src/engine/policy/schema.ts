import Type from 'typebox';

// The policy bundle's one source of truth: this TypeBox schema is the TypeScript type (Static),
// the runtime validator (compiled by Ajv) and the JSON Schema shipped for editors
// (schemas/tollgate-policy.schema.json is generated from it and a test keeps them equal).

const Id = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', description: 'Rule id: letters, digits, ".", "_" and "-".' });
const Glob = Type.String({ minLength: 1, description: 'A name or a glob: "*" matches any run of characters, "?" one.' });
const GlobList = Type.Array(Glob);
const OneOrMany = <T extends Type.TSchema>(item: T, options?: { description: string }): Type.TUnion<[T, Type.TArray<T>]> => Type.Union([item, Type.Array(item)], options);

export const DimensionSchema = Type.Union(
  [Type.Literal('agent'), Type.Literal('user'), Type.Literal('role'), Type.Literal('classification'), Type.Literal('session'), Type.Literal('tenant')],
  { description: 'What a limit accumulates against: agent is the pair (user, agent); role is each matching role the person holds.' },
);
const Per = Type.Union([DimensionSchema, Type.Array(DimensionSchema, { minItems: 1 })], {
  description: 'One dimension, or several combined into one key (per: [user, agent]).',
});

const Rate = Type.String({ description: 'N/unit with unit s, min, h or day, e.g. 60/min.' });
const Duration = Type.String({ description: 'A duration: 30s, 1m, 1h, 1d (also ms and w).' });
const DateLike = Type.String({ description: 'An ISO 8601 date (2026-12-31, inclusive through that UTC day) or date-time.' });

const When = Type.Object(
  {
    classification: Type.Optional(OneOrMany(Type.String())),
    model: Type.Optional(OneOrMany(Glob)),
    provider: Type.Optional(OneOrMany(Type.String())),
    route: Type.Optional(OneOrMany(Glob)),
    tool: Type.Optional(
      OneOrMany(Glob, {
        description:
          'Tools, by name or glob: a model call counts when it declares a matching tool (after any stripping), an MCP call when it calls one; with cost: tool_calls only the calls of matching tools are charged.',
      }),
    ),
  },
  { additionalProperties: false, description: 'Which requests the rule counts; every given field must match.' },
);

const Match = Type.Object(
  {
    role: Type.Optional(OneOrMany(Type.String())),
    user: Type.Optional(OneOrMany(Glob)),
    agent: Type.Optional(OneOrMany(Glob)),
    tenant: Type.Optional(OneOrMany(Type.String())),
  },
  { additionalProperties: false, description: 'Which identities the rule applies to; every given field must match.' },
);

const Cost = Type.Union([Type.Literal('requests'), Type.Literal('tokens'), Type.Literal('usd'), Type.Literal('tool_calls')], {
  description:
    'What one request deducts: 1, its tokens (input + output), its price in USD (tokens and USD are multiplied by the classification weight), or the tool calls it makes. ' +
    'A model call\'s tool calls are known only from its response: a call declaring tools is admitted while the limit has room for one, and is charged at settle the tool calls the response asks for ' +
    '(which may take the limit past its allowance), so the next call of a runaway tool loop is refused until the limit frees up. An MCP tools/call counts 1.',
});

export const LimitSchema = Type.Object(
  {
    id: Id,
    description: Type.Optional(Type.String()),
    per: Per,
    algorithm: Type.Union([Type.Literal('token-bucket'), Type.Literal('sliding-window')]),
    rate: Type.Optional(Rate),
    burst: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Token bucket capacity.' })),
    window: Type.Optional(Duration),
    limit: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Sliding window: most cost admitted in any window.' })),
    cost: Cost,
    cache_reads: Type.Optional(
      Type.Union([Type.Literal('count'), Type.Literal('skip')], {
        description: 'A token limit counts all input, cache reads included (count, the default); skip leaves cache reads out, as the provider\'s own input-token limits do.',
      }),
    ),
    when: Type.Optional(When),
    match: Type.Optional(Match),
  },
  { additionalProperties: false },
);

export const BudgetSchema = Type.Object(
  {
    id: Id,
    description: Type.Optional(Type.String()),
    per: Per,
    period: Type.String({ description: 'day, week or month (UTC calendar; weeks start on Monday), or a rolling duration such as 24h or 7d.' }),
    limit_usd: Type.Number({ exclusiveMinimum: 0 }),
    alert_at: Type.Optional(Type.Array(Type.Number({ exclusiveMinimum: 0, maximum: 1 }))),
    on_exceed: Type.Union([Type.Literal('refuse'), Type.Literal('downgrade')]),
    downgrade_to: Type.Optional(Type.String()),
    when: Type.Optional(When),
    match: Type.Optional(Match),
  },
  { additionalProperties: false },
);

const Entitlement = Type.Object(
  {
    models: Type.Optional(GlobList),
    routes: Type.Optional(GlobList),
    providers: Type.Optional(Type.Array(Type.String())),
    max_input_tokens: Type.Optional(Type.Integer({ minimum: 1, description: 'A larger prompt is refused (403).' })),
    max_output_tokens: Type.Optional(Type.Integer({ minimum: 1, description: 'The request\'s output field is clamped to this.' })),
  },
  { additionalProperties: false },
);

const HeaderName = Type.String({ pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$', description: 'An HTTP header name.' });

const Provider = Type.Object(
  {
    upstream: Type.String({ format: 'uri', description: 'Base URL of the provider; the path after /<provider> is appended.' }),
    // The styles are the provider registry's (src/providers/registry.ts), checked where it is known.
    style: Type.String({ pattern: '^[a-z][a-z0-9-]*$', description: 'Wire format: the name of a registered provider style (openai covers any OpenAI-compatible server).' }),
    key_env: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Environment variable holding the real upstream key.' })),
    headers: Type.Optional(
      Type.Record(HeaderName, Type.String(), {
        description: 'Headers sent upstream on every call, whatever the client sent (openai-organization, openai-project: which account is billed is the bundle\'s choice).',
      }),
    ),
    deployments: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' }), Type.String({ minLength: 1 }), {
        description: 'Azure OpenAI (style azure-openai): each deployment name and the model it serves, so entitlements and prices see the model. A deployment not listed is refused.',
      }),
    ),
    forward_headers: Type.Optional(
      Type.Array(HeaderName, {
        description: 'Client headers passed upstream beyond the style\'s own (anthropic-version, anthropic-beta) and trace context; a header the bundle sets in headers always wins.',
      }),
    ),
  },
  { additionalProperties: false },
);

const Issuer = Type.Object(
  {
    issuer: Type.String({ minLength: 1 }),
    audience: OneOrMany(Type.String({ minLength: 1 })),
    jwks: Type.Optional(Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) }, { description: 'Inline JSON Web Key Set (public keys only).' })),
    public_key: Type.Optional(Type.String({ description: 'A PEM public key (SPKI). Give this or jwks, not both.' })),
    algorithms: Type.Optional(Type.Array(Type.String({ enum: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] }), {
      minItems: 1, description: 'Algorithms the issuer signs with; default RS256. Every key must verify one of them (ES256 needs a P-256 key, EdDSA an Ed25519 key, RS and PS an RSA key of 2048 bits or more).',
    })),
    user_claim: Type.Optional(Type.String({ minLength: 1, description: 'Claim naming the person; default email. Only this claim is read: a token without it is refused.' })),
    roles_claim: Type.Optional(Type.String({ minLength: 1, description: 'Claim listing the person\'s roles; default roles.' })),
    tenant_claim: Type.Optional(Type.String({ minLength: 1, description: 'Claim naming the tenant; default tenant.' })),
    agent_claim: Type.Optional(Type.String({ minLength: 1, description: 'Claim naming the workload acting for the person; none by default (the agent is then x-tollgate-agent or default).' })),
    clock_tolerance_s: Type.Optional(Type.Integer({ minimum: 0, maximum: 300 })),
  },
  { additionalProperties: false },
);

const Identity = Type.Object(
  {
    required: Type.Boolean({ description: 'Refuse (401) a request without a verified identity.' }),
    roles: Type.Optional(Type.Record(Type.String(), Type.Array(Type.String()), { description: 'Roles per person (e-mail).' })),
    issuers: Type.Optional(Type.Array(Issuer, { description: 'Identity providers whose JWTs are accepted.' })),
    declared_roles: Type.Optional(Type.Array(Type.String(), { description: 'Roles that only identity-provider tokens carry, declared so rules may name them.' })),
    max_agents_per_user: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'Most distinct agent names a person may give in x-tollgate-agent within an hour; a further name is refused (429), so rotating names cannot multiply a per-agent allowance.',
      }),
    ),
    session_keys: Type.Optional(
      Type.Object(
        {
          rotate_every: Type.Optional({ ...Duration, description: 'Rotate the key that signs session tokens when it is older than this (30d); tokens signed by the previous key stay valid until they expire.' }),
        },
        { additionalProperties: false, description: 'The key the proxy signs session tokens with (tollgate keys rotate does the same by hand).' },
      ),
    ),
  },
  { additionalProperties: false },
);

const Price = Type.Object(
  {
    input: Type.Number({ minimum: 0, description: 'Uncached input.' }),
    output: Type.Number({ minimum: 0, description: 'Output, reasoning included.' }),
    cache_read: Type.Optional(Type.Number({ minimum: 0, description: 'Input read from the prompt cache; billed as input when absent.' })),
    cache_write: Type.Optional(Type.Number({ minimum: 0, description: 'Input written to the prompt cache (5-minute); billed as input when absent.' })),
    cache_write_1h: Type.Optional(Type.Number({ minimum: 0, description: 'Input written to Anthropic\'s 1-hour cache; billed as cache_write when absent.' })),
  },
  { additionalProperties: false, description: 'USD per 1M tokens; overrides the catalogue\'s price for the model.' },
);

const ClassificationLabel = Type.Object(
  {
    detectors: Type.Array(Type.Union([Type.Literal('email'), Type.Literal('credit-card'), Type.Literal('us-ssn'), Type.Literal('phone')]), { minItems: 1 }),
    weight: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Multiplies the tokens and USD a tagged request deducts.' })),
  },
  { additionalProperties: false },
);

export const DivergenceMeasureSchema = Type.Union([Type.Literal('calls'), Type.Literal('tokens'), Type.Literal('usd')], {
  description: 'calls: model calls decided (refused ones included, as the ledger counts them); tokens: input + output used; usd: what the calls cost.',
});

const DivergenceFloor = Type.Object(
  {
    calls: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Calls in the window below which nobody is suspended (default 100).' })),
    tokens: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Tokens in the window below which nobody is suspended (default 1000000).' })),
    usd: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'USD in the window below which nobody is suspended (default 10).' })),
  },
  {
    additionalProperties: false,
    description: 'Per measure, the amount in the window an identity may always reach, whatever its baseline: a new agent (no baseline) is suspended only past it, so its first burst is not divergence.',
  },
);

const Divergence = Type.Object(
  {
    per: Type.Array(Type.Union([Type.Literal('agent'), Type.Literal('user')]), {
      minItems: 1,
      uniqueItems: true,
      description: 'Which identities are watched, each on its own (not combined as a limit\'s per): agent is the pair (user, agent), user the person across all their agents.',
    }),
    measure: Type.Array(DivergenceMeasureSchema, {
      minItems: 1,
      uniqueItems: true,
      description: 'What is compared; any one measure passing its threshold suspends the identity.',
    }),
    window: Type.String({ description: 'The recent rate: what the identity did in the last window (1m to 1d), e.g. 1h.' }),
    baseline: Type.String({
      description: 'How far back the identity\'s own baseline reaches (longer than window, at most 7d): the median, over the hours it was active, of what it did per hour, scaled to the window.',
    }),
    ratio: Type.Number({ exclusiveMinimum: 1, description: 'Suspended when the window\'s amount passes ratio x baseline (and the floor), e.g. 10.' }),
    floor: Type.Optional(DivergenceFloor),
  },
  {
    additionalProperties: false,
    description: 'Suspends an identity whose recent rate diverges from its own history: refused (403, rule divergence) until `tollgate identity resume` or the admin API lifts it. Suspension and resumption are ledger records.',
  },
);

const Guards = Type.Object(
  {
    max_calls_per_trace: Type.Optional(Type.Integer({ minimum: 1, description: 'Model calls sharing one W3C trace id.' })),
    trace_ttl: Type.Optional(Duration),
    reserve_output_tokens: Type.Optional(Type.Integer({ minimum: 0, description: 'Worst-case output held when the request names no maximum.' })),
    divergence: Type.Optional(Divergence),
  },
  { additionalProperties: false },
);

const Store = Type.Object(
  {
    on_unavailable: Type.Optional(
      Type.Union([Type.Literal('refuse'), Type.Literal('local')], {
        description: 'When a shared store (tollgate serve --store redis://...) cannot be reached: refuse requests with 503 (default), or enforce with this proxy\'s own local accumulators until it is back.',
      }),
    ),
  },
  { additionalProperties: false, description: 'How the proxy behaves when its shared accumulator store is unavailable.' },
);

const Network = Type.Object(
  {
    allowed_origins: Type.Optional(
      Type.Array(Type.String({ pattern: '^https?://[^/?#\\s]+$' }), {
        description: 'Web origins (scheme://host[:port]) whose pages may call the proxy from a browser. Empty by default: a request carrying any other Origin is refused.',
      }),
    ),
    allowed_hosts: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description: 'Names the proxy is reached by besides its bound address and localhost (a gateway\'s DNS name). A request whose Host names anything else is refused, which stops DNS rebinding.',
      }),
    ),
  },
  { additionalProperties: false, description: 'Which browsers and names may reach the proxy.' },
);

const Telemetry = Type.Object(
  {
    identity: Type.Optional(
      Type.Union([Type.Literal('pseudonym'), Type.Literal('user'), Type.Literal('none')], {
        description: 'How traces name the person behind a call: a keyed pseudonym (default), the address itself, or not at all. The agent is always named.',
      }),
    ),
    per_person_metrics: Type.Optional(
      Type.Boolean({ description: 'Label Tollgate\'s own metrics (decisions, USD, accumulator fill) with the person, as traces name them. Off by default: one label value per person is unbounded cardinality.' }),
    ),
    exported: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description: 'Limits and budgets (by id) whose fill is exported as metrics, one series per accumulator key (per person only with per_person_metrics).',
      }),
    ),
    metrics_endpoint: Type.Optional(
      Type.Object(
        {
          auth: Type.Union([Type.Literal('token'), Type.Literal('none')], {
            description: 'GET /_tollgate/metrics (Prometheus text format): its own bearer token, the data dir\'s metrics-token file (default), or none.',
          }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, description: 'What the proxy tells OpenTelemetry and Prometheus: traces and metrics export when the standard OTEL_EXPORTER_OTLP_* variables are set.' },
);

const ToolAllow = Type.Object(
  { allow: GlobList },
  { additionalProperties: false, description: 'Tools (by name, or glob) this identity may declare to a model and call over MCP.' },
);

const ApprovalRuleSchema = Type.Object(
  {
    id: Id,
    tool: OneOrMany(Glob, { description: 'The tools (mcp__<server>__<tool>, by name or glob) whose calls this rule approves.' }),
    users: Type.Optional(Type.Array(Glob, { minItems: 1, description: 'People (e-mail, or a glob) it approves for.' })),
    roles: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'Roles it approves for: a person holding any of them.' })),
    agents: Type.Optional(Type.Array(Glob, { minItems: 1, description: 'Agents it approves for, as the session token names them (an agent named only in x-tollgate-agent does not count).' })),
  },
  {
    additionalProperties: false,
    description: 'Calls the bundle itself approves, needing no person: every list given must match (users, roles, agents), and at least one must be given.',
  },
);

const Tools = Type.Object(
  {
    on_undeclared: Type.Optional(
      Type.Union([Type.Literal('refuse'), Type.Literal('strip')], {
        description: 'A model request declaring a tool outside the identity\'s list: refuse it (403, naming the tool; the default) or send it without those tools.',
      }),
    ),
    default: Type.Optional(ToolAllow),
    roles: Type.Optional(Type.Record(Type.String(), ToolAllow, { description: 'Tools each role adds to the default list.' })),
    users: Type.Optional(Type.Record(Type.String(), ToolAllow, { description: 'Tools each person (e-mail) adds.' })),
    approval: Type.Optional(
      Type.Array(Glob, { description: 'Tools a person approves call by call (in the editor); elsewhere refused unless an approval rule or an approval token allows them.' }),
    ),
    approval_timeout: Type.Optional({
      ...Duration,
      description: 'How long a call needing approval waits for a person before it is refused (1s to 10m; default 60s).',
    }),
    approval_rules: Type.Optional(Type.Array(ApprovalRuleSchema, { description: 'Calls of tools under approval that need no person: for whom, which tools.' })),
    record_arguments: Type.Optional(
      Type.Array(Glob, { description: 'Tools whose call arguments the audit record keeps (redacted by the key scanner\'s rules); for every other tool only their SHA-256 is kept.' }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Which tools each identity may use. A model-declared tool is named as the agent names it (Bash, web_search); an MCP tool as mcp__<server>__<tool>.',
  },
);

const EnvName = Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' });

const McpRemoteServer = Type.Object(
  {
    url: Type.String({ format: 'uri', description: 'A remote MCP server (Streamable HTTP).' }),
    headers: Type.Optional(
      Type.Record(HeaderName, Type.String(), { description: 'Headers sent to the server; ${NAME} in a value is read from the proxy\'s environment, so a credential is never written in the bundle.' }),
    ),
  },
  { additionalProperties: false },
);

const McpLocalServer = Type.Object(
  {
    command: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'A local stdio MCP server the proxy starts on first use: the program and its arguments.' }),
    env: Type.Optional(Type.Record(EnvName, Type.String(), { description: 'Environment for the server; ${NAME} in a value is read from the proxy\'s environment.' })),
  },
  { additionalProperties: false },
);

const Mcp = Type.Object(
  {
    servers: Type.Record(Type.String({ pattern: '^[a-z0-9][a-z0-9_-]*$' }), Type.Union([McpRemoteServer, McpLocalServer]), {
      additionalProperties: false,
      description: 'MCP servers the proxy fronts, each at /mcp/<name> on its own port, their tools named mcp__<name>__<tool>.',
    }),
  },
  { additionalProperties: false, description: 'The MCP gateway: tool servers under the same identities, limits and ledger as model calls.' },
);

const ExceptionSchema = Type.Object(
  {
    id: Type.Optional(Id),
    identity: Type.Object(
      { user: Type.Optional(Glob), agent: Type.Optional(Glob), role: Type.Optional(Type.String()) },
      { additionalProperties: false, minProperties: 1 },
    ),
    limit: Id,
    rate: Type.Optional(Rate),
    burst: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    window: Type.Optional(Duration),
    max: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Overrides a sliding window\'s limit.' })),
    limit_usd: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Overrides a budget\'s limit.' })),
    expires: DateLike,
    reason: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false },
);

export const PolicySchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    version: Type.Literal(1),
    name: Type.String({ minLength: 1 }),
    description: Type.Optional(Type.String()),
    providers: Type.Record(Type.String({ pattern: '^[a-z0-9][a-z0-9_-]*$' }), Provider, { additionalProperties: false, minProperties: 1 }),
    identity: Identity,
    prices: Type.Optional(
      Type.Record(Type.String(), Price, {
        description: 'USD per 1M tokens per model (a name, or a glob), over the price catalogue shipped with the product; a dated snapshot takes its model\'s price. `default` prices every model named neither here nor in the catalogue; without it, a model priced nowhere is refused wherever a USD budget or limit would count it.',
      }),
    ),
    classification: Type.Optional(Type.Record(Type.String(), ClassificationLabel)),
    limits: Type.Optional(Type.Array(LimitSchema)),
    budgets: Type.Optional(Type.Array(BudgetSchema)),
    entitlements: Type.Optional(
      Type.Object(
        {
          default: Type.Optional(Entitlement),
          roles: Type.Optional(Type.Record(Type.String(), Entitlement)),
          users: Type.Optional(Type.Record(Type.String(), Entitlement)),
        },
        { additionalProperties: false },
      ),
    ),
    guards: Type.Optional(Guards),
    store: Type.Optional(Store),
    network: Type.Optional(Network),
    telemetry: Type.Optional(Telemetry),
    tools: Type.Optional(Tools),
    mcp: Type.Optional(Mcp),
    exceptions: Type.Optional(Type.Array(ExceptionSchema)),
  },
  { additionalProperties: false, title: 'Tollgate policy bundle' },
);

export type PolicyDocument = Type.Static<typeof PolicySchema>;
export type LimitDocument = Type.Static<typeof LimitSchema>;
export type BudgetDocument = Type.Static<typeof BudgetSchema>;
export type Dimension = Type.Static<typeof DimensionSchema>;
export type EntitlementDocument = Type.Static<typeof Entitlement>;
export type ExceptionDocument = Type.Static<typeof ExceptionSchema>;
export type IssuerDocument = Type.Static<typeof Issuer>;
export type WhenDocument = Type.Static<typeof When>;
export type MatchDocument = Type.Static<typeof Match>;
export type PriceDocument = Type.Static<typeof Price>;
export type ClassificationDocument = Type.Static<typeof ClassificationLabel>;
export type StoreDocument = Type.Static<typeof Store>;
export type TelemetryDocument = Type.Static<typeof Telemetry>;
export type ToolsDocument = Type.Static<typeof Tools>;
export type ApprovalRuleDocument = Type.Static<typeof ApprovalRuleSchema>;
export type DivergenceDocument = Type.Static<typeof Divergence>;
export type DivergenceMeasure = Type.Static<typeof DivergenceMeasureSchema>;
export type McpServerDocument = Type.Static<typeof McpRemoteServer> | Type.Static<typeof McpLocalServer>;

/** The schema as draft-07 JSON, the form shipped to editors. */
/**
 * The bundle's JSON Schema for editors. Given the registered provider styles, a provider's `style`
 * lists them, so an editor completes and checks the name; the loader checks it either way.
 */
export function policyJsonSchema(styles?: readonly string[]): Record<string, unknown> {
  const schema = JSON.parse(JSON.stringify(PolicySchema)) as { properties: { providers: { patternProperties: Record<string, { properties: { style: Record<string, unknown> } }> } } };
  if (styles) {
    for (const provider of Object.values(schema.properties.providers.patternProperties)) {
      const style: Record<string, unknown> = { ...provider.properties.style, enum: [...styles] };
      delete style.pattern;
      provider.properties.style = style;
    }
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://tollgate.dev/schemas/tollgate-policy.schema.json',
    ...(schema as unknown as Record<string, unknown>),
  };
}
