import { mintSessionToken } from '../engine/identity/tokens';
import { DataDirError, resolveDataDir } from '../store/data-dir';
import { loadSessionKeys } from '../store/session-key';
import { parseCommandArgs, parseDurationArg } from './args';
import type { CommandRunner } from './io';
import { UsageError } from './io';

/** `tollgate token --user U [--agent A] [--role R]... [--tenant T] [--ttl 8h] [--data-dir DIR]` */
export const run: CommandRunner = async (argv, io) => {
  const { values } = parseCommandArgs(argv, {
    user: { type: 'string' },
    agent: { type: 'string' },
    role: { type: 'string', multiple: true },
    tenant: { type: 'string' },
    ttl: { type: 'string', default: '8h' },
    'data-dir': { type: 'string' },
  });
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
