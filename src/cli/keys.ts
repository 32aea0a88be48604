import { randomUUID } from 'node:crypto';
import type { Revocation } from '../engine/identity/revocation';
import { DataDirError, resolveDataDir } from '../store/data-dir';
import { addRevocations, RevocationListError } from '../store/revocation-list';
import { KeyRingError, MAX_SESSION_TOKEN_TTL_MS, rotateSessionKeys } from '../store/session-key';
import { commandSpec, groupHelpAnswer, parseCommandArgs } from './args';
import type { CommandGroup } from './args';
import type { CliIo, CommandRunner } from './io';
import { UsageError } from './io';
import { shareWithTeam, teamOptions } from './team-revocations';

export const keysRotateSpec = commandSpec({
  name: 'keys rotate',
  summary: 'Make a new session signing key. Tokens signed by the previous keys stay valid until they expire, unless --revoke-old refuses them from the next request.',
  options: {
    'revoke-old': { type: 'boolean', default: false, description: 'revoke every previous key: the tokens they signed are refused at once' },
    'data-dir': { type: 'string', value: 'DIR', description: 'the data dir holding the session keys (the same one serve uses)' },
    ...teamOptions,
  },
  notes: ['A running proxy signs nothing; it verifies with the new key as soon as a token names it, and publishes both in GET /_tollgate/jwks.json.'],
  examples: ['tollgate keys rotate', 'tollgate keys rotate --revoke-old'],
});

export const keysGroup: CommandGroup = {
  name: 'keys',
  summary: 'Rotate the key that signs session tokens.',
  commands: [keysRotateSpec],
  notes: ['The bundle can rotate on a schedule: identity.session_keys.rotate_every: 30d.'],
  examples: ['tollgate keys rotate --revoke-old'],
};

async function rotate(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, keysRotateSpec);
  const dataDir = resolveDataDir(values['data-dir'], io.env);
  const now = Date.now();
  let revocations: Revocation[];
  try {
    const r = rotateSessionKeys(dataDir, { now, revokeOld: values['revoke-old'] });
    // A revoked key is also a revocation: proxies take it into force on their next request, and
    // record it, even those that read the ring only when a token names a key they do not know.
    revocations = r.revoked.map((kid) => ({ id: `rv_${randomUUID()}`, target: 'key', value: kid, revokedAt: now, expiresAt: now + MAX_SESSION_TOKEN_TTL_MS, reason: 'keys rotate --revoke-old' }));
    if (revocations.length > 0) addRevocations(dataDir, revocations, now);
    io.stdout.write(`session key ${r.current} signs new tokens from now\n`);
    if (r.retired.length > 0) io.stdout.write(`${r.retired.join(', ')}: no longer signs; ${values['revoke-old'] ? 'revoked' : 'its tokens stay valid until they expire'}\n`);
    if (r.revoked.length > 0 && r.retired.length === 0) io.stdout.write(`revoked: ${r.revoked.join(', ')}\n`);
    if (r.dropped.length > 0) io.stdout.write(`dropped (every token they signed has expired): ${r.dropped.join(', ')}\n`);
  } catch (err) {
    if (DataDirError.is(err) || KeyRingError.is(err) || RevocationListError.is(err)) {
      io.stderr.write(`tollgate keys rotate: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  return shareWithTeam(values, revocations, io);
}

export const run: CommandRunner = async (argv, io) => {
  const [sub, ...rest] = argv;
  const help = groupHelpAnswer(keysGroup, sub, io.stdout);
  if (help !== undefined) return help;
  switch (sub) {
    case 'rotate':
      return rotate(rest, io);
    default:
      throw new UsageError(`unknown subcommand '${sub}': use tollgate keys rotate`);
  }
};
