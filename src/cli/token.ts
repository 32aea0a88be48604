import { randomUUID } from 'node:crypto';
import { isAgentName, normalizeUser } from '../engine/identity/identity';
import type { Revocation, RevocationTarget } from '../engine/identity/revocation';
import { RevocationSet } from '../engine/identity/revocation';
import type { TokenScope } from '../engine/identity/token-scope';
import { describeScope, ScopeError, scopedLifetimeProblem, usdCapProblem, validateScope } from '../engine/identity/token-scope';
import { DataDirError, resolveDataDir } from '../store/data-dir';
import { addRevocations, readRevocations, RevocationListError } from '../store/revocation-list';
import { KeyRingError, MAX_SESSION_TOKEN_TTL_MS, readKeyRing } from '../store/session-key';
import { identityOf, liveTokens, mintRegisteredToken, readRegistry, readTokenUse } from '../store/token-registry';
import type { MintedToken } from '../store/token-registry';
import type { TeamTokenList } from '../store/redis/tokens';
import { commandSpec, groupHelp, parseCommandArgs, parseDurationArg } from './args';
import type { CommandGroup } from './args';
import type { CliIo, CommandRunner } from './io';
import { UsageError } from './io';
import { shareWithTeam, teamOptions } from './team-revocations';
import { openTeamStore, teamStoreOptions } from './team-store';

export const tokenSpec = commandSpec({
  name: 'token',
  summary: "Print a session token for a person: the API key their code sends to the proxy (signed by the data dir's session key).",
  options: {
    user: { type: 'string', required: true, value: 'U', description: 'the person the token stands for (an e-mail)' },
    agent: { type: 'string', value: 'A', description: 'the workload calling for them (notebook, ci); limits per agent key on it' },
    role: { type: 'string', multiple: true, value: 'R', description: 'a role the person holds (repeat for several)' },
    tenant: { type: 'string', value: 'T', description: 'the tenant the person belongs to' },
    ttl: { type: 'string', default: '8h', value: 'DURATION', description: 'how long the token is valid (at most 30d; 24h with --max-usd)' },
    models: { type: 'string', value: 'GLOB,...', description: 'scope: only these models (within what the bundle grants)' },
    routes: { type: 'string', value: 'PATH,...', description: 'scope: only these routes (/v1/chat/completions, /v1/messages)' },
    tools: { type: 'string', value: 'GLOB,...', description: 'scope: only these tools (Bash, mcp__github__*)' },
    'max-usd': { type: 'string', value: 'N', description: 'scope: at most N USD over the whole life of the token' },
    'data-dir': { type: 'string', value: 'DIR', description: 'the data dir holding the session key (the same one serve uses)' },
    ...teamStoreOptions("the token is registered for the team's token list too"),
  },
  notes: [
    'A scope only narrows: a call must be allowed by the bundle and by the token. The token is recorded (never its text) for `tollgate token list` and `tollgate token revoke`.',
    'Also: tollgate token list, tollgate token revoke (see their --help).',
  ],
  examples: ['export TOLLGATE_TOKEN=$(tollgate token --user you@acme.dev --agent notebook)', 'tollgate token --user ci@acme.dev --agent ci --models "gpt-4o-mini" --routes /v1/chat/completions --max-usd 2 --ttl 1h'],
});

export const tokenListSpec = commandSpec({
  name: 'token list',
  summary: 'List the live tokens minted from this data dir (with --store: anywhere in the team): id, who, agent, scope, expiry and last use (as a proxy last noted it).',
  options: {
    format: { type: 'string', default: 'text', value: 'FORMAT', description: 'text or json' },
    'data-dir': { type: 'string', value: 'DIR', description: 'the data dir the tokens were minted from' },
    ...teamStoreOptions('the list holds the tokens minted anywhere in the team, with their last use on any proxy'),
  },
  examples: ['tollgate token list', 'tollgate token list --format json', 'tollgate token list --store redis://redis.internal:6379 --policy team.yaml'],
});

export const tokenRevokeSpec = commandSpec({
  name: 'token revoke',
  summary: 'Revoke tokens: one by its id, or every token of a person, an agent or a session issued up to now. Every proxy on the data dir (and, with --store, of the team) refuses them from its next request.',
  options: {
    id: { type: 'string', value: 'ID', description: 'the token id (jti), as token list shows it' },
    user: { type: 'string', value: 'U', description: "every token of this person (with --agent: only this person's agent)" },
    agent: { type: 'string', value: 'A', description: 'every token of this agent' },
    session: { type: 'string', value: 'S', description: 'every token of this session (the sid claim)' },
    reason: { type: 'string', value: 'TEXT', description: 'why, as the ledger records it' },
    'data-dir': { type: 'string', value: 'DIR', description: 'the data dir whose proxies refuse the tokens' },
    ...teamOptions,
  },
  notes: ['Each proxy records the revocation in its ledger when it takes it into force.'],
  examples: ['tollgate token revoke --id 3f2c9a0e-...', 'tollgate token revoke --user bob@acme.dev --store redis://redis.internal:6379 --policy team.yaml'],
});

export const tokenGroup: CommandGroup = {
  name: 'token',
  summary: 'Mint, list and revoke session tokens.',
  commands: [tokenSpec, tokenListSpec, tokenRevokeSpec],
  examples: ['tollgate token --user you@acme.dev', 'tollgate token list', 'tollgate token revoke --user bob@acme.dev'],
};

function list(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  return text.split(',').map((s) => s.trim());
}

function scopeOf(values: { models?: string; routes?: string; tools?: string; 'max-usd'?: string }): TokenScope | undefined {
  const scope: { models?: string[]; routes?: string[]; tools?: string[]; maxUsd?: number } = {};
  const models = list(values.models);
  const routes = list(values.routes);
  const tools = list(values.tools);
  if (models) scope.models = models;
  if (routes) scope.routes = routes;
  if (tools) scope.tools = tools;
  if (values['max-usd'] !== undefined) {
    const usd = Number(values['max-usd']);
    if (!/^\s*\d+(\.\d+)?\s*$/.test(values['max-usd']) || usdCapProblem(usd)) throw new UsageError(`invalid --max-usd '${values['max-usd']}': use a number of dollars (2, 0.50)`);
    scope.maxUsd = usd;
  }
  try {
    return validateScope(scope);
  } catch (err) {
    if (ScopeError.is(err)) throw new UsageError(`invalid scope: ${err.message.replace(/^(models|routes|tools)/, '--$1')}`);
    throw err;
  }
}

/** Failures reading the data dir: said in a line, exit 1. */
function dataDirFailure(io: CliIo, command: string, err: unknown): number {
  if (DataDirError.is(err) || KeyRingError.is(err) || RevocationListError.is(err)) {
    io.stderr.write(`tollgate ${command}: ${err.message}\n`);
    return 1;
  }
  throw err;
}

/** `tollgate token --user U [--agent A] [--role R]... [--tenant T] [--ttl 8h] [scope...] [--data-dir DIR]` */
async function mint(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, tokenSpec);
  if (!values.user) throw new UsageError('--user is required (the person the token stands for, e.g. an e-mail)');
  if (values.agent !== undefined && !isAgentName(values.agent)) throw new UsageError('--agent must be 1 to 64 letters, digits, ".", "_", ":", "/" or "-"');
  const ttlMs = parseDurationArg(values.ttl ?? '8h', '--ttl');
  if (ttlMs > MAX_SESSION_TOKEN_TTL_MS) throw new UsageError(`--ttl ${values.ttl} is longer than 30d, the longest a session token may live`);
  const scope = scopeOf(values);
  if (scopedLifetimeProblem(scope, ttlMs)) throw new UsageError(`--ttl ${values.ttl} is longer than 24h, the longest a token with --max-usd may live`);
  const team = await openTeamStore(values, io);
  try {
    let minted: { token: string; minted: MintedToken };
    try {
      minted = await mintRegisteredToken(resolveDataDir(values['data-dir'], io.env), { user: values.user, agent: values.agent, roles: values.role, tenant: values.tenant, ttlMs, now: Date.now(), scope });
    } catch (err) {
      return dataDirFailure(io, 'token', err);
    }
    try {
      await team?.tokens.register([minted.minted], Date.now());
    } catch (err) {
      // Asked for the team's list, the token is not handed out without it.
      io.stderr.write(`tollgate token: the team's store did not register the token, so it is not printed: ${(err as Error).message}\n`);
      return 1;
    }
    io.stdout.write(`${minted.token}\n`);
    return 0;
  } finally {
    await team?.close();
  }
}

/** The live tokens of the data dir's registry, and of the team's when given (with the team's revocations). */
function liveNow(dataDir: string, now: number, teamTokens: readonly MintedToken[] = [], teamRevocations: readonly Revocation[] = []): { live: MintedToken[]; unreadable: number } {
  const { tokens, unreadable } = readRegistry(dataDir);
  const byId = new Map(tokens.map((t) => [t.id, t]));
  for (const t of teamTokens) if (!byId.has(t.id)) byId.set(t.id, t);
  const revokedKeys = new Set(readKeyRing(dataDir).keys.filter((k) => k.revokedAt !== undefined).map((k) => k.kid));
  return { live: liveTokens([...byId.values()], new RevocationSet([...readRevocations(dataDir), ...teamRevocations]), revokedKeys, now), unreadable };
}

async function listCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, tokenListSpec);
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`invalid --format '${format}': use text or json`);
  const dataDir = resolveDataDir(values['data-dir'], io.env);
  const now = Date.now();
  let found: { live: MintedToken[]; unreadable: number };
  let used: Map<string, number>;
  const team = await openTeamStore(values, io);
  try {
    if (team) {
      let listed: TeamTokenList;
      let revocations: Revocation[];
      try {
        listed = await team.tokens.list();
        const kept = await team.revocations.all();
        revocations = kept.revocations;
        if (kept.unreadable > 0) io.stderr.write(`tollgate token list: ${kept.unreadable} team revocations in Redis do not read; the tokens they name may be listed as live (the proxies refuse them)\n`);
      } catch (err) {
        io.stderr.write(`tollgate token list: the team's store cannot be read: ${(err as Error).message}\n`);
        return 1;
      }
      try {
        found = liveNow(dataDir, now, listed.tokens, revocations);
      } catch (err) {
        return dataDirFailure(io, 'token list', err);
      }
      if (listed.unreadable > 0) io.stderr.write(`tollgate token list: ${listed.unreadable} entries of the team's token list in Redis do not read and are not shown\n`);
      used = readTokenUse(dataDir);
      for (const [id, at] of listed.uses) if ((used.get(id) ?? 0) < at) used.set(id, at);
    } else {
      try {
        found = liveNow(dataDir, now);
      } catch (err) {
        return dataDirFailure(io, 'token list', err);
      }
      used = readTokenUse(dataDir);
    }
  } finally {
    await team?.close();
  }
  const iso = (t: number | undefined): string | null => (t === undefined ? null : new Date(t).toISOString());
  if (format === 'json') {
    for (const t of found.live) {
      io.stdout.write(`${JSON.stringify({ id: t.id, user: t.user, agent: t.agent ?? null, session: t.session, roles: t.roles, scope: t.scope ?? null, issued_at: iso(t.issuedAt), expires_at: iso(t.expiresAt), last_used: iso(used.get(t.id)), kid: t.kid })}\n`);
    }
  } else {
    const rows = found.live.map((t) => [t.id, t.user, t.agent ?? 'default', describeScope(t.scope), iso(t.expiresAt)!, iso(used.get(t.id)) ?? 'never']);
    const head = ['ID', 'USER', 'AGENT', 'SCOPE', 'EXPIRES', 'LAST USED'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    for (const r of [head, ...rows]) io.stdout.write(`${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}\n`);
    if (rows.length === 0) io.stdout.write('(no live tokens)\n');
  }
  if (found.unreadable > 0) io.stderr.write(`tollgate token list: ${found.unreadable} lines of the token registry do not read and are not shown\n`);
  return 0;
}

async function revokeCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, tokenRevokeSpec);
  const given = (['id', 'agent', 'session'] as const).filter((k) => values[k] !== undefined);
  // --user alone revokes the person; with --agent it narrows the agent to that person's.
  if (given.length > 1 || (given.length === 0 && values.user === undefined)) throw new UsageError('give one of --id, --user, --agent or --session (--user may narrow --agent)');
  if (values.user !== undefined && (values.id !== undefined || values.session !== undefined)) throw new UsageError('--user goes alone, or with --agent');
  if (values.agent !== undefined && !isAgentName(values.agent)) throw new UsageError('--agent must be 1 to 64 letters, digits, ".", "_", ":", "/" or "-"');
  for (const [flag, v] of Object.entries({ id: values.id, user: values.user, session: values.session, reason: values.reason })) {
    if (v !== undefined && (v.trim() === '' || v.length > 256)) throw new UsageError(`--${flag} must be 1 to 256 characters`);
  }
  const dataDir = resolveDataDir(values['data-dir'], io.env);
  const now = Date.now();
  const user = values.user === undefined ? undefined : normalizeUser(values.user);
  let target: RevocationTarget;
  let value: string;
  let expiresAt = now + MAX_SESSION_TOKEN_TTL_MS;
  if (values.id !== undefined) {
    target = 'token';
    value = values.id;
    // A token the registry knows is forgotten once it expires; an unknown id is kept as long as any token lives.
    try {
      const minted = readRegistry(dataDir).tokens.find((t) => t.id === value);
      if (minted) expiresAt = minted.expiresAt + 60_000;
    } catch (err) {
      return dataDirFailure(io, 'token revoke', err);
    }
  } else if (values.agent !== undefined) {
    target = 'agent';
    value = values.agent;
  } else if (values.session !== undefined) {
    target = 'session';
    value = values.session;
  } else {
    target = 'user';
    value = user!;
  }
  const revocation: Revocation = {
    id: `rv_${randomUUID()}`, target, value, ...(target === 'agent' && user ? { user } : {}), revokedAt: now, expiresAt, ...(values.reason ? { reason: values.reason } : {}),
  };
  let live: MintedToken[];
  try {
    live = liveNow(dataDir, now).live;
    addRevocations(dataDir, [revocation], now);
  } catch (err) {
    return dataDirFailure(io, 'token revoke', err);
  }
  const just = new RevocationSet([revocation]);
  const covered = live.filter((t) => just.match(identityOf(t)));
  const shared = await shareWithTeam(values, [revocation], io);
  if (shared !== 0) return shared;
  io.stdout.write(`revoked (${revocation.id}): ${covered.length} live ${covered.length === 1 ? 'token' : 'tokens'} of this data dir ${covered.length === 1 ? 'is' : 'are'} refused from the next request${values.store ? ', on every proxy of the team' : ''}\n`);
  return 0;
}

/** `tollgate token ...`: mint by default; `list` and `revoke` are subcommands. */
export const run: CommandRunner = async (argv, io) => {
  const [sub, ...rest] = argv;
  if (sub === 'list') return listCommand(rest, io);
  if (sub === 'revoke') return revokeCommand(rest, io);
  if (sub === 'help') {
    io.stdout.write(groupHelp(tokenGroup));
    return 0;
  }
  return mint(argv, io);
};
