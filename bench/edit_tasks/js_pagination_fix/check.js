'use strict';
// Run by check.py: node check.js PROJECT_DIR
const assert = require('node:assert/strict');
const path = require('node:path');

const root = process.argv[2];
const { paginate } = require(path.join(root, 'lib/paginate.js'));
const { listHandler } = require(path.join(root, 'lib/api.js'));

const numbers = Array.from({ length: 10 }, (_, i) => i + 1);
assert.deepEqual(paginate(numbers, 1, 4), [1, 2, 3, 4]);
assert.deepEqual(paginate(numbers, 3, 4), [9, 10]);
assert.deepEqual(paginate(numbers, 4, 4), []);

const articles = Array.from({ length: 45 }, (_, i) => ({
  id: i + 1, title: `Article ${i + 1}`, published: `2024-${String(i + 1).padStart(3, '0')}`, tags: [],
}));
const first = listHandler(articles, { page: '1', per_page: '20', sort: 'id' });
assert.equal(first.pages, 3);
assert.deepEqual(first.items.map((a) => a.id), Array.from({ length: 20 }, (_, i) => i + 1));
assert.equal(first.next, 2);
assert.equal(first.previous, null);
const last = listHandler(articles, { page: '3', per_page: '20', sort: 'id' });
assert.deepEqual(last.items.map((a) => a.id), [41, 42, 43, 44, 45]);
assert.equal(last.next, null);
assert.deepEqual(last.links, [1, 2, 3]);
const beyond = listHandler(articles, { page: '9', per_page: '20', sort: '-id' });
assert.equal(beyond.page, 3);
assert.deepEqual(beyond.items.map((a) => a.id), [5, 4, 3, 2, 1]);
const exact = listHandler(articles.slice(0, 40), { per_page: '20' });
assert.equal(exact.pages, 2);
const empty = listHandler([], {});
assert.deepEqual([empty.page, empty.pages, empty.items.length], [1, 1, 0]);
