import type * as vscode from 'vscode';
import type { Policy } from '../engine/policy/model';
import type { StateSnapshot } from '../contracts/admin';
export interface LiveIdentity { readonly user: string; readonly agent: string; readonly roles: readonly string[] }
/** What the views know now: the policy in force, this developer's identity and the proxy's last snapshot. */
export interface LiveState {
  policy(): Policy | undefined;
  identity(): LiveIdentity | undefined;
  snapshot(): StateSnapshot | undefined;
  readonly onDidChange: vscode.Event<void>;
}
