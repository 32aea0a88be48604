// The dashboard's channel inside the editor: postMessage to the extension host with the typed
// messages of src/protocol.ts, and the webview's own getState/setState for the filters.

import type { DashboardState, WebviewMessage } from '../../src/protocol';
import { ReadyCommand, RefreshCommand, RunCommand, StateNotification } from '../../src/protocol';
import type { HostChannel } from './host-channel';

export interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: unknown): void;
}

export function webviewChannel(vscode: VsCodeApi): HostChannel {
  return {
    hostLabel: 'proxy',
    subscribe(onState: (state: DashboardState) => void): () => void {
      const onMessage = (e: MessageEvent<unknown>): void => {
        if (StateNotification.is(e.data)) onState(e.data.params);
      };
      window.addEventListener('message', onMessage);
      vscode.postMessage(ReadyCommand.create({}));
      return () => window.removeEventListener('message', onMessage);
    },
    refresh: () => vscode.postMessage(RefreshCommand.create({})),
    savedView: () => vscode.getState(),
    saveView: (view) => vscode.setState(view),
    run: (command) => vscode.postMessage(RunCommand.create({ command })),
  };
}
