import { mintSessionToken } from '../engine/identity/tokens';
import { DataDirError, resolveDataDir } from '../store/data-dir';
import { loadSessionKeys } from '../store/session-key';
import { commandSpec, parseCommandArgs, parseDurationArg } from './args';
import type { CommandRunner } from './io';
import { UsageError } from './io';

export const tokenSpec = commandSpec({
  name: 'token',
  summary: "Print a session token for a person: the API key their code sends to the proxy (signed by the data dir's session key).",
  options: {
    user: { type: 'string', required: true, value: 'U', description: 'the person the token stands for (an e-mail)' },
    agent: { type: 'string', value: 'A', description: 'the workload calling for them (notebook, ci); limits per agent key on it' },
    role: { type: 'string', multiple: true, value: 'R', description: 'a role the person holds (repeat for several)' },
    tenant: { type: 'string', value: 'T', description: 'the tenant the person belongs to' },
    ttl: { type: 'string', default: '8h', value: 'DURATION', description: 'how long the token is valid' },
    'data-dir': { type: 'string', value: 'DIR', description: 'the data dir holding the session key (the same one serve uses)' },
  },
  examples: ['export TOLLGATE_TOKEN=$(tollgate token --user you@acme.dev --agent notebook)'],
});

/** `tollgate token --user U [--agent A] [--role R]... [--tenant T] [--ttl 8h] [--data-dir DIR]` */
export const run: CommandRunner = async (argv, io) => {
  const { values } = parseCommandArgs(argv, tokenSpec);
  if (!values.user) throw new UsageError('--user is required (the person the token stands for, e.g. an e-mail)');
  if (values.agent !== undefined && !/^[A-Za-z0-9._:/-]{1,64}$/.test(values.agent)) throw new UsageError('--agent must be 1 to 64 letters, digits, ".", "_", ":", "/" or "-"');
  const ttlMs = parseDurationArg(values.ttl ?? '8h', '--ttl');
  let keys: ReturnType<typeof loadSessionKeys>;
  try {
    keys = loadSessionKeys(resolveDataDir(values['data-dir'], io.env));
  } catch (err) {
    if (!DataDirError.is(err)) throw err;
    io.stderr.write(`tollgate token: ${err.message}\n`);
    return 1;
  }
  const token = await mintSessionToken(keys, { user: values.user, agent: values.agent, roles: values.role, tenant: values.tenant, ttlMs, now: Date.now() });
  io.stdout.write(`${token}\n`);
  return 0;
};
