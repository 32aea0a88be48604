import * as assert from 'node:assert/strict';
import { loadPolicy } from '../../../src/engine/policy/loader';
import type { Identity } from '../../../src/engine/identity/identity';
import { approvalRuleFor, mcpToolName, toolEntitlementFor } from '../../../src/engine/tools';
import { policyFrom, referenceText } from '../../helpers/policy';

const TOOLS = `
tools:
  on_undeclared: strip
  default:
    allow: [Read, Grep, "mcp__docs__*"]
  roles:
    ml-engineers: { allow: ["*"] }
  users:
    Carol@Acme.dev: { allow: [Bash] }
  approval: [Bash, "mcp__*__write*"]
  record_arguments: ["mcp__docs__*"]
mcp:
  servers:
    everything: { command: [npx, -y, "@modelcontextprotocol/server-everything", stdio], env: { LOG: "\${HOME}" } }
    docs: { url: "https://docs.acme.dev/mcp", headers: { Authorization: "Bearer \${DOCS_TOKEN}" } }
`;

/** The reference bundle without its own tools section, which each test here gives. */
/** The reference bundle without its own tools and mcp sections, which TOOLS gives instead. */
const base = referenceText.replace(/\ntools:\n(?: .*\n)*/, '\n').replace(/^mcp:\n(?: {2}.*\n)*/m, '');

function person(user: string, roles: string[] = []): Identity {
  return { user, agent: 'default', session: 's', roles, issuer: 'tollgate' };
}


describe('tool entitlements', () => {
  const policy = policyFrom(base + TOOLS);

  it('allows the default list, widened by roles and by the person', () => {
    const alice = toolEntitlementFor(policy, person('alice@acme.dev'));
    assert.equal(alice.allowed('Read'), true);
    assert.equal(alice.allowed(mcpToolName('docs', 'search')), true);
    assert.equal(alice.allowed('Bash'), false);
    assert.equal(alice.allowed(mcpToolName('everything', 'echo')), false);
    assert.equal(toolEntitlementFor(policy, person('bob@acme.dev', ['ml-engineers'])).allowed('Bash'), true);
    assert.equal(toolEntitlementFor(policy, person('carol@acme.dev')).allowed('Bash'), true, 'a person entry is keyed lower-cased, as identities are');
  });

  it('marks the tools a person approves and those whose arguments are kept', () => {
    const e = toolEntitlementFor(policy, person('bob@acme.dev', ['ml-engineers']));
    assert.equal(e.needsApproval('Bash'), true);
    assert.equal(e.needsApproval(mcpToolName('fs', 'write_file')), true);
    assert.equal(e.needsApproval('Read'), false);
    assert.equal(e.recordsArguments(mcpToolName('docs', 'search')), true);
    assert.equal(e.recordsArguments('Bash'), false);
    assert.equal(e.onUndeclared, 'strip');
  });

  it('allows every tool when the bundle has no tools section', () => {
    const e = toolEntitlementFor(policyFrom(base), person('alice@acme.dev'));
    assert.equal(e.allowed('Bash'), true);
    assert.equal(e.needsApproval('Bash'), false);
    assert.equal(e.onUndeclared, 'refuse');
  });

  it('compiles MCP servers without resolving their environment references', () => {
    const servers = policy.mcp?.servers;
    assert.deepEqual(servers?.get('everything'), { name: 'everything', transport: 'stdio', command: ['npx', '-y', '@modelcontextprotocol/server-everything', 'stdio'], env: { LOG: '${HOME}' } });
    assert.deepEqual(servers?.get('docs'), { name: 'docs', transport: 'http', url: 'https://docs.acme.dev/mcp', headers: { authorization: 'Bearer ${DOCS_TOKEN}' } });
  });

  it('rejects a server with both a url and a command, an empty command and a bad server name', () => {
    for (const bad of [
      'mcp:\n  servers:\n    x: { url: "https://a.dev/mcp", command: [a] }\n',
      'mcp:\n  servers:\n    x: { command: [] }\n',
      'mcp:\n  servers:\n    "../x": { url: "https://a.dev/mcp" }\n',
      'tools:\n  on_undeclared: ignore\n',
    ]) {
      const r = loadPolicy(base + bad);
      assert.equal(r.ok, false, bad);
    }
  });

  describe('approval rules and timeout', () => {
    const withApproval = (extra: string): string => base + TOOLS.replace('  record_arguments:', `${extra}  record_arguments:`);
    const errorsOf = (extra: string): string[] => {
      const r = loadPolicy(withApproval(extra));
      return r.ok ? [] : r.errors.map((e) => e.message);
    };

    it('defaults the timeout to 60s and compiles rules, people lower-cased', () => {
      assert.equal(policy.tools?.approvalTimeoutMs, 60_000);
      assert.deepEqual(policy.tools?.approvalRules, []);
      const p = policyFrom(withApproval('  approval_timeout: 2m\n  approval_rules:\n    - { id: ops-writes, tool: "mcp__*__write*", users: [Ops@Acme.dev], agents: [ci] }\n    - { id: ml-bash, tool: [Bash], roles: [ml-engineers] }\n'));
      assert.equal(p.tools?.approvalTimeoutMs, 120_000);
      assert.deepEqual(p.tools?.approvalRules, [
        { id: 'ops-writes', tools: ['mcp__*__write*'], users: ['ops@acme.dev'], agents: ['ci'] },
        { id: 'ml-bash', tools: ['Bash'], roles: ['ml-engineers'] },
      ]);
      const ops = { ...person('ops@acme.dev'), agent: 'ci' };
      assert.equal(approvalRuleFor(p, ops, mcpToolName('fs', 'write_file'))?.id, 'ops-writes');
      assert.equal(approvalRuleFor(p, { ...ops, agent: 'notebook' }, mcpToolName('fs', 'write_file')), undefined);
      assert.equal(approvalRuleFor(p, person('bob@acme.dev', ['ml-engineers']), 'Bash')?.id, 'ml-bash');
      assert.equal(approvalRuleFor(p, person('alice@acme.dev'), 'Bash'), undefined);
    });

    it('refuses a timeout outside 1s..10m or not a duration, a rule naming nobody, an unknown role, unknown fields and duplicate ids', () => {
      assert.match(errorsOf('  approval_timeout: 500ms\n').join('\n'), /approval_timeout 500ms must be between 1s and 10m/);
      assert.match(errorsOf('  approval_timeout: 1h\n').join('\n'), /between 1s and 10m/);
      assert.match(errorsOf('  approval_timeout: soon\n').join('\n'), /invalid duration 'soon'/);
      assert.match(errorsOf('  approval_rules:\n    - { id: all, tool: Bash }\n').join('\n'), /approval rule 'all' names nobody: give users, roles or agents/);
      assert.match(errorsOf('  approval_rules:\n    - { id: r, tool: Bash, roles: [wizards] }\n').join('\n'), /unknown role 'wizards'/);
      assert.notEqual(errorsOf('  approval_rules:\n    - { id: r, tool: Bash, user: a@b.c }\n').length, 0);
      assert.notEqual(errorsOf('  approval_rules:\n    - { id: r, tool: Bash, users: [] }\n').length, 0);
      assert.notEqual(errorsOf('  approval_rules:\n    - { tool: Bash, users: [a@b.c] }\n').length, 0);
      assert.match(errorsOf('  approval_rules:\n    - { id: r, tool: Bash, users: [a@b.c] }\n    - { id: r, tool: Bash, users: [d@b.c] }\n').join('\n'), /duplicate id 'r'/);
    });

    it('warns of a rule naming a tool that never needs approval', () => {
      const r = loadPolicy(withApproval('  approval_rules:\n    - { id: r, tool: Read, users: [a@b.c] }\n'));
      assert.ok(r.ok);
      assert.match(r.warnings.map((w) => w.message).join('\n'), /names 'Read', which tools.approval does not list/);
    });
  });
});
