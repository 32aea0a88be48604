// What the dashboard needs from whoever hosts it. The editor's webview talks to the extension host
// through postMessage (webview-channel.ts); a browser talks to a gateway's admin API over HTTP
// (browser-channel.ts). The app (app.tsx) sees only this interface, so both run the same code.

import type { ResumeRequest } from '../../src/contracts/admin';
import type { DashboardCommand, DashboardState } from '../../src/protocol';

export interface HostChannel {
  /** What the header calls the thing that answers: the editor's own `proxy`, or a team `gateway`. */
  readonly hostLabel: string;
  /** Starts delivering whole states; returns the function that stops. */
  subscribe(onState: (state: DashboardState) => void): () => void;
  /** Asks for a fresh state now. */
  refresh(): void;
  /** The view's own settings (filters) as last saved, for the page to restore. */
  savedView(): unknown;
  saveView(view: unknown): void;
  /** Runs one of the editor's commands; absent in a browser, where there is no editor to run them. */
  readonly run?: (command: DashboardCommand) => void;
  /**
   * Lifts a suspension (guards.divergence) through the admin API: resolves with what was lifted,
   * rejects with the gateway's reason. Absent in the editor, where the notice offers the command.
   */
  readonly resume?: (target: ResumeRequest) => Promise<string>;
  /** Forgets the credentials and goes back to the login form; absent in the editor. */
  readonly signOut?: () => void;
}
