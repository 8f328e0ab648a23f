import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  editStatusText, editStatusTooltip, fromProgress, modelLabel, Status, statusText, statusTooltip,
} from '../src/status';

test('a .gguf path shows as its file name, a catalog name as is', () => {
  assert.equal(modelLabel('/home/me/models/tiny.gguf'), 'tiny.gguf');
  assert.equal(modelLabel('qwen2.5-coder:0.5b'), 'qwen2.5-coder:0.5b');
  assert.equal(modelLabel(undefined), '');
});

test('the text shows model, then the state, or the latency once ready', () => {
  assert.equal(statusText({ state: 'loading', model: 'qwen2.5-coder:0.5b' }),
    '$(loading~spin) lspilot qwen2.5-coder:0.5b · loading');
  assert.equal(statusText({ state: 'ready', model: 'qwen2.5-coder:0.5b', latencyMs: 123.4 }),
    '$(sparkle) lspilot qwen2.5-coder:0.5b · 123 ms');
  assert.equal(statusText({ state: 'ready', model: 'm' }), '$(sparkle) lspilot m');
  assert.equal(statusText({ state: 'starting' }), '$(loading~spin) lspilot · starting');
});

test('the tooltip lists what the server reported', () => {
  const tip = statusTooltip({ state: 'ready', model: 'm', backend: 'llama.cpp', template: 'qwen2.5-coder',
    latencyMs: 80, tokensPerSecond: 41.25, message: null });
  assert.match(tip, /backend: llama\.cpp/);
  assert.match(tip, /template: qwen2\.5-coder/);
  assert.match(tip, /speed: 41\.3 tokens\/s/);
});

test('the model load as $/progress drives the state when there is no status notification', () => {
  let status: Status = { state: 'starting' };
  status = fromProgress(status, { kind: 'begin', title: 'lspilot: qwen2.5-coder:0.5b' });
  assert.deepEqual([status.state, status.model], ['loading', 'qwen2.5-coder:0.5b']);
  status = fromProgress(status, { kind: 'report', message: 'loading', percentage: 50 });
  assert.equal(status.message, 'loading 50%');
  const ready = fromProgress(status, { kind: 'end', message: 'qwen2.5-coder:0.5b ready (qwen2.5-coder)' });
  assert.deepEqual([ready.state, ready.template], ['ready', 'qwen2.5-coder']);
  const failed = fromProgress(status, { kind: 'end', message: 'qwen2.5-coder:0.5b failed' });
  assert.equal(failed.state, 'error');
});

test('the edit model shows by name, with its state while it loads or failed', () => {
  const status: Status = { state: 'ready', editModel: 'qwen2.5-coder:1.5b', editState: 'idle' };
  assert.equal(editStatusText(status), '$(edit) edit: qwen2.5-coder:1.5b');
  assert.match(editStatusTooltip(status), /loads on the first edit/);
  assert.equal(editStatusText({ ...status, editState: 'loading' }), '$(loading~spin) edit: qwen2.5-coder:1.5b · loading');
  assert.equal(editStatusText({ ...status, editModel: '/m/edit.gguf', editState: 'error' }), '$(error) edit: edit.gguf · error');
  assert.equal(editStatusText({ state: 'starting' }), '$(edit) edit: none');
});
