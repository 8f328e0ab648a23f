import assert from 'node:assert/strict';
import { test } from 'node:test';

import { contextTable } from '../src/explain';

test('no context says so', () => {
  assert.deepEqual(contextTable(null), ['## Context', '', 'None: the file\'s own text only.', '']);
});

test('snippets that went in come first, with score, source, place and reason', () => {
  const snippet = {
    source: 'definition', path: 'shop/geometry.py', lines: [4, 6] as [number, number],
    score: 0.9, reason: 'defines scale | vector', tokens: 38, included: true,
  };
  const rows = contextTable({
    snippets: [snippet], leftOut: [{ ...snippet, source: 'usage', score: 0.25, included: false }],
    gatherMs: 1.5,
  });
  assert.equal(rows[2], 'Gathered in 1.5 ms.');
  assert.equal(rows[6], '| in | 0.90 | definition | shop/geometry.py:4-6 | 38 | defines scale \\| vector |');
  assert.equal(rows[7], '| out | 0.25 | usage | shop/geometry.py:4-6 | 38 | defines scale \\| vector |');
});
