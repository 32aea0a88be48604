// The policy in force and the rule that a bad edit never replaces it. Every offered text is
// validated by the engine's loader; only a bundle that loads is written to the file the proxy
// serves, so the proxy never sees (and never fails open on) an invalid bundle.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Policy } from '../../engine/policy/model';
import type { PolicyIssue } from '../../engine/policy/loader';
import { formatIssue, loadPolicy } from '../../engine/policy/loader';
import { registeredStyles } from '../../providers/registry';

export interface PolicyInForce {
  readonly policy: Policy;
  readonly text: string;
  /** Where it came from (a path), for people. */
  readonly source: string;
}

export interface PolicyRejection {
  readonly source: string;
  readonly errors: readonly string[];
}

export interface PolicyVerdict {
  readonly accepted: boolean;
  /** Errors and warnings at their positions, for diagnostics. */
  readonly issues: readonly PolicyIssue[];
  readonly inForce: PolicyInForce | undefined;
}

export class PolicyKeeper {
  private current: PolicyInForce | undefined;
  private lastRejection: PolicyRejection | undefined;

  get inForce(): PolicyInForce | undefined {
    return this.current;
  }

  get rejected(): PolicyRejection | undefined {
    return this.lastRejection;
  }

  /** Validates without changing what is in force (live diagnostics while typing). */
  static check(text: string, now: number = Date.now()): readonly PolicyIssue[] {
    const result = loadPolicy(text, now, registeredStyles());
    return result.ok ? result.warnings : [...result.errors, ...result.warnings];
  }

  /** Offers a saved bundle: accepted, it is in force; refused, the previous one stays and the refusal is remembered. */
  offer(text: string, source: string, now: number = Date.now()): PolicyVerdict {
    const result = loadPolicy(text, now, registeredStyles());
    if (result.ok) {
      this.current = { policy: result.policy, text, source };
      this.lastRejection = undefined;
      return { accepted: true, issues: result.warnings, inForce: this.current };
    }
    const name = path.basename(source);
    this.lastRejection = { source, errors: result.errors.map((e) => formatIssue(name, e)) };
    return { accepted: false, issues: [...result.errors, ...result.warnings], inForce: this.current };
  }
}

/** Which bundle to use: the setting, else the first workspace folder's tollgate.yaml, else the bundled reference. */
export function choosePolicyFile(setting: string, workspaceFolders: readonly string[], reference: string, exists: (file: string) => boolean = fs.existsSync): string {
  if (setting) {
    if (path.isAbsolute(setting)) return setting;
    for (const folder of workspaceFolders) {
      const candidate = path.join(folder, setting);
      if (exists(candidate)) return candidate;
    }
    return workspaceFolders[0] ? path.join(workspaceFolders[0], setting) : path.resolve(setting);
  }
  for (const folder of workspaceFolders) {
    const candidate = path.join(folder, 'tollgate.yaml');
    if (exists(candidate)) return candidate;
  }
  return reference;
}

/** Writes via a temporary file and rename, so the proxy's file watcher never reads half a bundle. */
export function writeFileAtomic(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, file);
}
