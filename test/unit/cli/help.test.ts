import assert from 'node:assert/strict';
import type { CommandGroup, CommandSpec } from '../../../src/cli/args';
import { agentsSpec } from '../../../src/cli/agents';
import { auditGroup } from '../../../src/cli/audit';
import { hookSpec } from '../../../src/cli/hook';
import { identityGroup } from '../../../src/cli/identity';
import { mcpGroup } from '../../../src/cli/mcp';
import { policyGroup } from '../../../src/cli/policy';
import { scanSpec } from '../../../src/cli/scan';
import { serveSpec } from '../../../src/cli/serve';
import { simulateSpec } from '../../../src/cli/simulate';
import { keysGroup } from '../../../src/cli/keys';
import { tokenListSpec, tokenRevokeSpec, tokenSpec } from '../../../src/cli/token';
import { runTollgate } from '../../helpers/cli';

// The tables each command's parser reads: what --help must list.
const specs: CommandSpec[] = [serveSpec, tokenSpec, simulateSpec, scanSpec, hookSpec, agentsSpec, ...policyGroup.commands, ...auditGroup.commands, ...identityGroup.commands, tokenListSpec, tokenRevokeSpec, ...keysGroup.commands, ...mcpGroup.commands];
const groups: CommandGroup[] = [policyGroup, auditGroup, identityGroup, keysGroup, mcpGroup];

function exampleLines(help: string): string[] {
  const at = help.split('\n').findIndex((l) => /^examples?:$/.test(l));
  assert.ok(at >= 0, `no example section in:\n${help}`);
  return help.split('\n').slice(at + 1).filter((l) => l.startsWith('  ') && l.includes('tollgate '));
}

describe('tollgate <command> --help', () => {
  it('covers every command the top-level help lists', async () => {
    const r = await runTollgate(['help']);
    assert.equal(r.code, 0);
    const listed = r.stdout.split('\n').filter((l) => /^ {2}[a-z]/.test(l)).map((l) => l.trim().split(/\s+/)[0]!);
    assert.ok(listed.length >= 8, r.stdout);
    const covered = new Set([...specs.map((s) => s.name.split(' ')[0]!), ...groups.map((g) => g.name)]);
    for (const name of listed) assert.ok(covered.has(name), `'${name}' has no help table`);
  });

  for (const spec of specs) {
    for (const flag of ['--help', '-h']) {
      it(`tollgate ${spec.name} ${flag} lists every option the parser accepts and an example, exit 0`, async () => {
        const r = await runTollgate([...spec.name.split(' '), flag]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, '');
        assert.match(r.stdout, new RegExp(`^usage: tollgate ${spec.name}\\b`));
        const lines = r.stdout.split('\n');
        for (const [name, option] of Object.entries(spec.options)) {
          const line = lines.find((l) => new RegExp(`^ {2}(-\\w, )?--${name}\\b`).test(l));
          assert.ok(line, `--${name} is not listed in:\n${r.stdout}`);
          // A line of description after the flag, not the flag alone.
          assert.ok(line.trim().length > `--${name}`.length + 8 && line.includes(option.description), line);
        }
        assert.ok(lines.some((l) => /^ {2}-h, --help\b/.test(l)), r.stdout);
        const examples = exampleLines(r.stdout);
        assert.ok(examples.length >= 1);
        for (const e of examples) assert.ok(e.includes(`tollgate ${spec.name}`), `example does not run the command: ${e}`);
      });
    }
  }

  it('a help lists exactly the options its parser takes, nothing more', async () => {
    for (const spec of specs) {
      const r = await runTollgate([...spec.name.split(' '), '--help']);
      const listed = [...r.stdout.matchAll(/^ {2}(?:-\w, )?--([a-z][a-z-]*)/gm)].map((m) => m[1]!).sort();
      assert.deepEqual(listed, [...Object.keys(spec.options), 'help'].sort(), spec.name);
    }
  });

  for (const group of groups) {
    it(`tollgate ${group.name} --help lists each subcommand, exit 0`, async () => {
      for (const args of [[group.name, '--help'], [group.name, '-h'], ['help', group.name]]) {
        const r = await runTollgate(args);
        assert.equal(r.code, 0, r.stderr);
        for (const c of group.commands) assert.match(r.stdout, new RegExp(`^ {2}${c.name.slice(group.name.length + 1)} +\\S`, 'm'));
        assert.ok(exampleLines(r.stdout).length >= 1);
      }
    });
  }

  it('help comes before the checks of the other arguments', async () => {
    const r = await runTollgate(['token', '--ttl', 'forever', '--no-such-flag', '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^usage: tollgate token/);
  });

  it('an unknown flag is still a usage error, exit 2', async () => {
    const r = await runTollgate(['serve', '--frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Unknown option '--frobnicate'/);
  });
});
