import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { serverSettings } from '../src/settings';

const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
const properties: Record<string, { default: unknown }> = pkg.contributes.configuration.properties;

test('defaults become the nested object the server reads, without client-only keys', () => {
  const settings = serverSettings(Object.keys(properties), (key) => properties[`lspilot.${key}`].default);
  assert.equal((settings.models as Record<string, unknown>).autocomplete, 'qwen2.5-coder:0.5b');
  assert.equal((settings.completion as Record<string, unknown>).maxTokens, 64);
  assert.equal(settings.logLevel, 'info');
  assert.equal('server' in settings, false);
  // The preview is the client's: the server would call `edit.preview` an unknown setting.
  assert.equal((settings.edit as Record<string, unknown>).preview, undefined);
  assert.equal((settings.edit as Record<string, unknown>).maxTokens, 3072);
  assert.equal((settings.models as Record<string, unknown>).edit, 'qwen2.5-coder:1.5b');
});

test('unset values are left out', () => {
  const settings = serverSettings(['lspilot.completion.maxTokens', 'lspilot.logLevel'], (key) =>
    key === 'logLevel' ? 'debug' : undefined,
  );
  assert.deepEqual(settings, { logLevel: 'debug' });
});

test('every contributed command has the lspilot category', () => {
  for (const command of pkg.contributes.commands) {
    assert.equal(command.category, 'lspilot');
    // Not `lspilot.*`: the language client registers the server's commands (`lspilot.edit`).
    assert.match(command.command, /^lspilot\.editor\./);
  }
});

test('menus name contributed commands', () => {
  const commands = new Set(pkg.contributes.commands.map((c: { command: string }) => c.command));
  for (const items of Object.values(pkg.contributes.menus) as { command: string }[][]) {
    for (const item of items) assert.ok(commands.has(item.command), item.command);
  }
  assert.deepEqual(pkg.contributes.menus['editor/context'].map((i: { command: string }) => i.command),
    ['lspilot.editor.edit']);
});
