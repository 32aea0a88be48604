import * as assert from 'node:assert/strict';
import { loadPolicy } from '../../../src/engine/policy/loader';
import type { Identity } from '../../../src/engine/identity/identity';
import { mcpToolName, toolEntitlementFor } from '../../../src/engine/tools';
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
});
