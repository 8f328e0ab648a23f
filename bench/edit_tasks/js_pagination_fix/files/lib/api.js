'use strict';

const { clampPerPage, paginate, sortBy, window } = require('./paginate');
const { readInt, readSort } = require('./query');

// GET /articles?page=N&per_page=M&sort=field|-field
function listHandler(articles, query) {
  const perPage = clampPerPage(readInt(query.per_page, 20));
  const pages = Math.max(1, Math.floor(articles.length / perPage));
  const page = Math.min(Math.max(readInt(query.page, 1), 1), pages);
  const { key, descending } = readSort(query.sort, 'published');
  const sorted = sortBy(articles, key, descending);
  return {
    page,
    pages,
    total: articles.length,
    links: window(page, pages),
    next: page < pages ? page + 1 : null,
    previous: page > 1 ? page - 1 : null,
    items: paginate(sorted, page, perPage).map((a) => ({ id: a.id, title: a.title })),
  };
}

function countHandler(articles, query) {
  const tag = typeof query.tag === 'string' ? query.tag : null;
  const matching = tag ? articles.filter((a) => a.tags.includes(tag)) : articles;
  return { tag, count: matching.length };
}

function notFound(path) {
  return { status: 404, error: `no route for ${path}` };
}

module.exports = { listHandler, countHandler, notFound };
