import assert from 'node:assert/strict';
import { test } from 'node:test';

import { checkModelInput, modelChoices } from '../src/models';

test('the active model comes first and is marked; cached models say so', () => {
  const choices = modelChoices({
    models: [
      { id: 'qwen2.5-coder:0.5b', description: 'small', cached: true },
      { id: 'qwen2.5-coder:1.5b', description: 'bigger', cached: false },
    ],
    active: { autocomplete: 'qwen2.5-coder:1.5b', edit: null },
  });
  assert.deepEqual(choices.map((c) => c.id), ['qwen2.5-coder:1.5b', 'qwen2.5-coder:0.5b']);
  assert.equal(choices[0].label, '$(check) qwen2.5-coder:1.5b');
  assert.equal(choices[0].description, 'download on first use');
  assert.equal(choices[1].description, 'cached');
});

test('the fallback input takes a catalog name or a .gguf path', () => {
  assert.equal(checkModelInput('qwen2.5-coder:1.5b'), undefined);
  assert.equal(checkModelInput(' /models/my model.gguf '), undefined);
  assert.notEqual(checkModelInput(''), undefined);
  assert.notEqual(checkModelInput('not a model'), undefined);
});

test('the edit role marks its own active model; a model listed twice shows once', () => {
  const choices = modelChoices({
    models: [
      { id: 'qwen2.5-coder:0.5b', description: 'small', cached: true },
      { id: 'qwen2.5-coder:1.5b', description: 'bigger', cached: true },
      { id: 'qwen2.5-coder:1.5b', description: 'bigger', cached: true },
    ],
    active: { autocomplete: 'qwen2.5-coder:0.5b', edit: 'qwen2.5-coder:1.5b' },
  }, 'edit');
  assert.deepEqual(choices.map((c) => c.label), ['$(check) qwen2.5-coder:1.5b', 'qwen2.5-coder:0.5b']);
});
