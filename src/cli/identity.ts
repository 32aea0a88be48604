import type { ResumptionBody } from '../contracts/audit-records';
import type { PendingResumption, ResumeTarget, Suspension, SuspensionRegistry } from '../engine/divergence/suspension';
import { isAgentName, normalizeUser } from '../engine/identity/identity';
import { resolveDataDir } from '../store/data-dir';
import { LedgerError } from '../store/ledger/errors';
import { Ledger } from '../store/ledger/ledger';
import { FileSuspensionRegistry, SuspensionFileError } from '../store/suspensions/file-registry';
import type { CommandGroup } from './args';
import { commandSpec, groupHelpAnswer, parseCommandArgs } from './args';
import type { CliIo, CommandRunner } from './io';
import { UsageError } from './io';
import { counted } from '../contracts/wording';
import { StoreError } from '../store/redis/errors';
import { openTeamStore, teamStoreOptions } from './team-store';

export const resumeSpec = commandSpec({
  name: 'identity resume',
  summary: 'Lift the suspension of a person or an agent (guards.divergence): their calls are decided again from the next one on, on every proxy sharing the data dir (with --store: on every proxy of the team).',
  notes: [
    '--user U alone lifts the person\'s own suspension; --agent A lifts agent A\'s (of the person --user names, or of everyone).',
    'The resumption is a ledger record: written here when no proxy holds the data dir, else by a running proxy (of the team, with --store) within seconds.',
  ],
  options: {
    user: { type: 'string', value: 'U', description: 'the person (an e-mail)' },
    agent: { type: 'string', value: 'A', description: 'the agent (x-tollgate-agent, or the token\'s agent)' },
    'data-dir': { type: 'string', value: 'DIR', description: 'the data dir of the proxy that suspended them (the same one serve uses)' },
    ...teamStoreOptions('a suspension any proxy of the team made is lifted on all of them'),
  },
  examples: ['tollgate identity resume --agent batch-eval --user bob@acme.dev', 'tollgate identity resume --user bob@acme.dev --store redis://redis.internal:6379 --policy team.yaml'],
});

export const identityGroup: CommandGroup = {
  name: 'identity',
  summary: 'Manage the identities the proxy has suspended.',
  commands: [resumeSpec],
  examples: ['tollgate identity resume --user bob@acme.dev'],
};

function describe(s: Suspension): string {
  return `${s.key} (suspended at ${s.since} by guard '${s.guard}')`;
}

function resumptionBody(p: PendingResumption): ResumptionBody {
  const s = p.suspension;
  return { kind: 'resumption', guard: s.guard, key: s.key, identity: { user: s.user, agent: s.agent }, suspended_at: s.since, via: p.via };
}

/**
 * Records the resumptions in the data dir's ledger. A running proxy holds the ledger, so then they
 * are queued in the registry for that proxy to record; returns where they went.
 */
async function record(dataDir: string, registry: SuspensionRegistry, pending: PendingResumption[]): Promise<'ledger' | 'queued'> {
  let ledger: Ledger;
  try {
    ledger = await Ledger.open(dataDir, { index: false });
  } catch (err) {
    if (!LedgerError.is(err, 'locked')) throw err;
    await registry.queueRecords(pending);
    return 'queued';
  }
  try {
    await Promise.all(pending.map((p) => ledger.append(resumptionBody(p)).durable));
  } finally {
    await ledger.close();
  }
  return 'ledger';
}

async function resume(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, resumeSpec);
  if (values.user === undefined && values.agent === undefined) throw new UsageError('name whom to resume: --user U, or --agent A [--user U]');
  if (values.agent !== undefined && !isAgentName(values.agent)) throw new UsageError('--agent must be 1 to 64 letters, digits, ".", "_", ":", "/" or "-"');
  if (values.user !== undefined && normalizeUser(values.user) === '') throw new UsageError('--user must name a person');
  const target: ResumeTarget = { ...(values.user !== undefined ? { user: normalizeUser(values.user) } : {}), ...(values.agent !== undefined ? { agent: values.agent } : {}) };
  const dataDir = resolveDataDir(values['data-dir'], io.env);
  const team = await openTeamStore(values, io);
  try {
    if (team) return await resumeIn(team.suspensions, "the team's store", target, io, async (pending) => {
      // The team's proxies record it (the first to take the queue): no ledger of this machine need be one of theirs.
      await team.suspensions.queueRecords(pending);
      return 'queued';
    });
    const registry = FileSuspensionRegistry.inDataDir(dataDir);
    return await resumeIn(registry, dataDir, target, io, (pending) => record(dataDir, registry, pending));
  } finally {
    await team?.close();
  }
}

async function resumeIn(registry: SuspensionRegistry, where: string, target: ResumeTarget, io: CliIo, recordAll: (pending: PendingResumption[]) => Promise<'ledger' | 'queued'>): Promise<number> {
  const now = Date.now();
  const lifted = await registry.resume(target);
  if (lifted.length === 0) {
    const who = target.agent !== undefined ? `agent ${target.agent}${target.user !== undefined ? ` of ${target.user}` : ''}` : `${target.user}`;
    io.stderr.write(`tollgate identity resume: no suspension in force for ${who} in ${where}${registry instanceof FileSuspensionRegistry ? " (a team's proxies keep theirs in their store: add --store)" : ''}\n`);
    return 1;
  }
  const recorded = await recordAll(lifted.map((suspension) => ({ suspension, at: now, via: 'cli' })));
  for (const s of lifted) io.stdout.write(`resumed ${describe(s)}\n`);
  io.stdout.write(
    recorded === 'ledger'
      ? `${counted(lifted.length, 'resumption')} recorded in the ledger\n`
      : `${counted(lifted.length, 'resumption')} queued for ${registry instanceof FileSuspensionRegistry ? 'the running proxy' : 'a proxy of the team'} to record in its ledger\n`,
  );
  return 0;
}

/** `tollgate identity resume (--user U | --agent A [--user U]) [--data-dir DIR | --store URL [--policy FILE]]` */
export const run: CommandRunner = async (argv, io) => {
  const [sub, ...rest] = argv;
  const help = groupHelpAnswer(identityGroup, sub, io.stdout);
  if (help !== undefined) return help;
  try {
    switch (sub) {
      case 'resume':
        return await resume(rest, io);
      default:
        throw new UsageError(`unknown subcommand '${sub}': identity resume`);
    }
  } catch (err) {
    if (SuspensionFileError.is(err) || LedgerError.is(err) || StoreError.is(err)) {
      io.stderr.write(`tollgate identity ${sub ?? ''}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
};
