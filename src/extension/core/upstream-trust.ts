// Where the person's upstream keys may go. A cloned repository chooses upstreams (its tollgate.yaml,
// its .vscode/settings.json `tollgate.proxy.upstreams`), so a key is sent without asking only to
// the provider's own API host; any other host gets it only once the person has approved that host
// for that workspace, and until then the proxy runs for that provider without the key. In an
// untrusted workspace the workspace chooses no policy at all. No vscode import: plain mocha tests
// the decisions, and the editor adapter only asks and remembers.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { registeredAdapters } from '../../providers/registry';
import { WITHHELD_KEYS_ENV } from '../../pipeline/missing-key';
import { choosePolicyFile, writeFileAtomic } from './policy-keeper';
import { SET_UPSTREAM_KEY_COMMAND } from '../../contracts/command-titles';

/**
 * The hosts each provider serves its API from, by the provider's name when it is one of these
 * (so a provider named `openai` gets no other provider's host), else by its wire style: each
 * style's own (src/providers/<style>/adapter.ts).
 */
function officialHostsOf(name: string): readonly string[] | undefined {
  return registeredAdapters().find((a) => a.style === name)?.officialHosts;
}

/** One DNS label: what `*` in a host pattern stands for. */
const dnsLabel = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Whether a host is one an official host names: the same host, or for `*.suffix` one label before
 * the suffix. Azure OpenAI has no single host (each resource is `<name>.openai.azure.com`); a key
 * sent to a resource that is not the person's is checked by Azure's own front end and refused
 * there, never shown to that resource's owner, so any resource host is as safe as the provider's own.
 */
function hostMatches(pattern: string, host: string): boolean {
  if (!pattern.startsWith('*.')) return pattern === host;
  const suffix = pattern.slice(1);
  return host.endsWith(suffix) && dnsLabel.test(host.slice(0, -suffix.length));
}

/** Whether `url` is the provider's own API: https, the default port, no credentials, an official host. */
export function isOfficialUpstream(provider: string, style: string, url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== 'https:' || u.port !== '' || u.username !== '' || u.password !== '') return false;
  const kind = officialHostsOf(provider) !== undefined ? provider : style;
  return officialHostsOf(kind)?.some((pattern) => hostMatches(pattern, u.hostname)) ?? false;
}

/** The origin an approval names (scheme, host, port): approving https://gw.example does not approve http://gw.example. */
export function upstreamOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

export interface ProviderUpstream {
  readonly name: string;
  readonly style: string;
  readonly upstream: string;
  readonly keyEnv?: string;
}

export interface UpstreamApproval {
  readonly provider: string;
  readonly origin: string;
  /** ISO 8601, for people reviewing their approvals. */
  readonly approvedAt: string;
}

export type KeyVerdict = 'official' | 'approved' | 'unapproved';

export interface UpstreamKeyPlan {
  readonly provider: string;
  readonly style: string;
  readonly keyEnv: string;
  /** The upstream calls go to: the setting's override, else the policy's. */
  readonly url: string;
  readonly origin: string;
  readonly verdict: KeyVerdict;
}

/** For each provider that takes a key, where its calls go and whether the key may go there. */
export function planUpstreamKeys(providers: Iterable<ProviderUpstream>, overrides: Readonly<Record<string, string>>, approvals: readonly UpstreamApproval[]): UpstreamKeyPlan[] {
  const plans: UpstreamKeyPlan[] = [];
  for (const p of providers) {
    if (!p.keyEnv) continue;
    const url = overrides[p.name] ?? p.upstream;
    const origin = upstreamOrigin(url);
    const verdict: KeyVerdict = isOfficialUpstream(p.name, p.style, url) ? 'official' : approvals.some((a) => a.provider === p.name && a.origin === origin) ? 'approved' : 'unapproved';
    plans.push({ provider: p.name, style: p.style, keyEnv: p.keyEnv, url, origin, verdict });
  }
  return plans;
}

/** The key a variable would carry to the proxy if nothing were withheld, and where it comes from. */
interface CandidateKey {
  readonly value: string;
  /** The provider it was stored for in SecretStorage; undefined when inherited from the editor's environment. */
  readonly storedFor?: string;
}

function candidateKeys(plans: readonly UpstreamKeyPlan[], inherited: Readonly<Record<string, string | undefined>>, stored: ReadonlyMap<string, string>): Map<string, CandidateKey> {
  const keys = new Map<string, CandidateKey>();
  for (const plan of plans) {
    const value = inherited[plan.keyEnv];
    if (value && !keys.has(plan.keyEnv)) keys.set(plan.keyEnv, { value });
  }
  // Keys the developer entered win over whatever the editor inherited.
  for (const plan of plans) {
    const value = stored.get(plan.provider);
    if (value) keys.set(plan.keyEnv, { value, storedFor: plan.provider });
  }
  return keys;
}

/**
 * The proxy's environment: stored keys where they may go, over ones the editor inherited. A
 * variable that an unapproved upstream would read carries no key at all, not even an inherited one
 * (a workspace's bundle may name any variable as a provider's `key_env`, one another provider uses
 * included), and a note lets calls say why.
 */
export function keyEnvironment(plans: readonly UpstreamKeyPlan[], inherited: Readonly<Record<string, string | undefined>>, stored: ReadonlyMap<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...inherited };
  const blocked = new Set(plans.filter((p) => p.verdict === 'unapproved').map((p) => p.keyEnv));
  for (const [name, key] of candidateKeys(plans, inherited, stored)) env[name] = key.value;
  for (const name of blocked) delete env[name];
  const withheld = Object.fromEntries(plans.filter((p) => p.verdict === 'unapproved').map((p) => [p.provider, p.origin]));
  delete env[WITHHELD_KEYS_ENV];
  if (Object.keys(withheld).length > 0) env[WITHHELD_KEYS_ENV] = JSON.stringify(withheld);
  return env;
}

export interface PendingApproval {
  readonly plan: UpstreamKeyPlan;
  /** Whose key would go there: stored for this provider, or inherited from the editor's environment. */
  readonly storedFor?: string;
}

/** The unapproved upstreams that would get a key if approved: the ones worth asking about. */
export function awaitingApproval(plans: readonly UpstreamKeyPlan[], inherited: Readonly<Record<string, string | undefined>>, stored: ReadonlyMap<string, string>): PendingApproval[] {
  const keys = candidateKeys(plans, inherited, stored);
  return plans.flatMap((plan) => {
    const key = plan.verdict === 'unapproved' ? keys.get(plan.keyEnv) : undefined;
    return key ? [{ plan, storedFor: key.storedFor }] : [];
  });
}

/** Whether two plans send keys to the same places: a policy that changes this needs a proxy started afresh. */
export function samePlans(a: readonly UpstreamKeyPlan[], b: readonly UpstreamKeyPlan[]): boolean {
  const text = (plans: readonly UpstreamKeyPlan[]): string => JSON.stringify(plans.map((p) => [p.provider, p.keyEnv, p.origin, p.verdict]).sort());
  return text(a) === text(b);
}

/** The question the editor asks before a key goes to a host other than the provider's own. */
export function approvalQuestion(pending: PendingApproval): { readonly message: string; readonly detail: string } {
  const { plan, storedFor } = pending;
  const host = hostOf(plan.origin);
  const own = (officialHostsOf(plan.provider) ?? officialHostsOf(plan.style))?.[0];
  const whose = storedFor ? `your ${storedFor} API key` : `the key in ${plan.keyEnv}`;
  const source = storedFor ? `the ${storedFor} key you stored with "${SET_UPSTREAM_KEY_COMMAND.title}"` : `the key in the editor's environment variable ${plan.keyEnv}`;
  return {
    message: `Send ${whose} to ${host}?`,
    detail: [
      `This workspace sends ${plan.provider} calls to ${plan.origin}${own ? `, not to ${own}` : ''} (its tollgate.yaml or the tollgate.proxy.upstreams setting).`,
      `If you allow it, Tollgate's proxy sends ${source} to ${host} with every ${plan.provider} call from this workspace. Allow only a host you know, such as your team's gateway.`,
      `Until you do, ${plan.provider} calls answer that the key is withheld. "Tollgate: Revoke Upstream Host Approvals…" takes an approval back.`,
    ].join('\n\n'),
  };
}

function hostOf(origin: string): string {
  try {
    return new URL(origin).host;
  } catch {
    return origin;
  }
}

/** Identifies a workspace: its .code-workspace file, else its folders; an empty window is one workspace of its own. */
export function workspaceId(folders: readonly string[], workspaceFile?: string): string {
  if (workspaceFile) return workspaceFile;
  return folders.length > 0 ? [...folders].sort().join('\n') : '(no folder)';
}

/**
 * The policy file for the workspace's trust: trusted, the setting, the workspace's tollgate.yaml or
 * the reference; untrusted, only an absolute path from the person's own settings, else the reference
 * (a relative setting would resolve into the workspace).
 */
export function policyFileFor(trusted: boolean, setting: string, folders: readonly string[], reference: string, exists?: (file: string) => boolean): string {
  if (trusted) return choosePolicyFile(setting, folders, reference, exists);
  return setting && path.isAbsolute(setting) ? setting : reference;
}

/** The approvals' file name in the extension's global storage. */
export const APPROVALS_FILE = 'upstream-approvals.json';

interface ApprovalFileShape {
  readonly version: 1;
  readonly workspaces: Record<string, UpstreamApproval[]>;
}

/**
 * Approvals kept in one file in the extension's global storage, one list per workspace: outside
 * every workspace (a repository cannot ship an approval), readable by the person, and read afresh
 * on each use so windows of other workspaces never overwrite each other's lists.
 */
export class UpstreamApprovals {
  constructor(private readonly file: string) {}

  list(workspace: string): UpstreamApproval[] {
    return [...(this.read().workspaces[workspace] ?? [])];
  }

  approve(workspace: string, provider: string, origin: string, now: number): void {
    const all = this.read();
    const kept = (all.workspaces[workspace] ?? []).filter((a) => !(a.provider === provider && a.origin === origin));
    this.write({ version: 1, workspaces: { ...all.workspaces, [workspace]: [...kept, { provider, origin, approvedAt: new Date(now).toISOString() }] } });
  }

  /** Revokes the given approvals of one workspace; returns how many there were. */
  revoke(workspace: string, which: ReadonlyArray<{ readonly provider: string; readonly origin: string }>): number {
    const all = this.read();
    const before = all.workspaces[workspace] ?? [];
    const after = before.filter((a) => !which.some((w) => w.provider === a.provider && w.origin === a.origin));
    const workspaces = { ...all.workspaces, [workspace]: after };
    if (after.length === 0) delete workspaces[workspace];
    this.write({ version: 1, workspaces });
    return before.length - after.length;
  }

  private read(): ApprovalFileShape {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      return { version: 1, workspaces: {} };
    }
    try {
      const parsed = JSON.parse(text) as Partial<ApprovalFileShape>;
      const workspaces: Record<string, UpstreamApproval[]> = {};
      for (const [id, list] of Object.entries(parsed.workspaces ?? {})) {
        if (!Array.isArray(list)) continue;
        workspaces[id] = list.filter((a): a is UpstreamApproval => typeof a?.provider === 'string' && typeof a.origin === 'string' && typeof a.approvedAt === 'string');
      }
      return { version: 1, workspaces };
    } catch {
      // A damaged file approves nothing; the person is asked again.
      return { version: 1, workspaces: {} };
    }
  }

  private write(shape: ApprovalFileShape): void {
    writeFileAtomic(this.file, `${JSON.stringify(shape, null, 2)}\n`);
  }
}
