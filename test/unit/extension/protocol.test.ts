import * as assert from 'node:assert/strict';
import { ReadyCommand, RefreshCommand, RunCommand, StateNotification } from '../../../src/protocol';

describe('webview protocol guards', () => {
  it('recognises each message by method and shape', () => {
    const state = StateNotification.create({ proxy: { phase: 'running', restarts: 0 }, policy: {} });
    assert.ok(StateNotification.is(state));
    assert.ok(!ReadyCommand.is(state));
    assert.ok(ReadyCommand.is(ReadyCommand.create({})));
    assert.ok(RefreshCommand.is({ method: 'webview/refresh', params: {} }));
  });

  it('rejects malformed messages and commands outside the allow-list', () => {
    for (const junk of [null, 1, 'host/state', {}, { method: 'host/state' }, { method: 'host/state', params: { proxy: null } }]) assert.ok(!StateNotification.is(junk));
    assert.ok(RunCommand.is({ method: 'webview/run', params: { command: 'tollgate.showLog' } }));
    assert.ok(!RunCommand.is({ method: 'webview/run', params: { command: 'workbench.action.terminal.sendSequence' } }));
  });
});
