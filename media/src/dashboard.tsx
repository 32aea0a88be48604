// The dashboard webview's entry point: the shared app over the editor's postMessage channel.

import { render } from 'preact';
import { App } from './app';
import type { VsCodeApi } from './webview-channel';
import { webviewChannel } from './webview-channel';

declare function acquireVsCodeApi(): VsCodeApi;

render(<App channel={webviewChannel(acquireVsCodeApi())} />, document.getElementById('root')!);
