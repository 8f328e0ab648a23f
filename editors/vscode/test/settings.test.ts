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
    assert.match(command.command, /^lspilot\.editor\./);
  }
});
