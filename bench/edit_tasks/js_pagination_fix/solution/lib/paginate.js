'use strict';

// Splitting sorted lists into pages for the listing endpoints.

const DEFAULT_PER_PAGE = 20;
const MAX_PER_PAGE = 100;

function clampPerPage(perPage) {
  if (!Number.isInteger(perPage) || perPage < 1) {
    return DEFAULT_PER_PAGE;
  }
  return Math.min(perPage, MAX_PER_PAGE);
}

// The items on page `page` (pages are numbered from 1).
function paginate(items, page, perPage) {
  const size = clampPerPage(perPage);
  const start = (page - 1) * size;
  return items.slice(start, start + size);
}

function sortBy(items, key, descending = false) {
  const sorted = [...items].sort((a, b) => {
    if (a[key] < b[key]) return -1;
    if (a[key] > b[key]) return 1;
    return 0;
  });
  return descending ? sorted.reverse() : sorted;
}

function window(current, pages, width = 2) {
  // Page numbers around the current one, for the page links.
  const first = Math.max(1, current - width);
  const last = Math.min(pages, current + width);
  const numbers = [];
  for (let n = first; n <= last; n += 1) numbers.push(n);
  return numbers;
}

module.exports = { paginate, clampPerPage, sortBy, window, DEFAULT_PER_PAGE, MAX_PER_PAGE };
