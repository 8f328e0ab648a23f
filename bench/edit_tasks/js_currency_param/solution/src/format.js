'use strict';

// Formatting of amounts (integer cents) and quantities for the shop's pages.

const LOCALE = 'en-US';

function formatPrice(cents, currency = 'EUR') {
  if (!Number.isInteger(cents)) {
    throw new TypeError(`cents must be an integer, got ${cents}`);
  }
  const formatter = new Intl.NumberFormat(LOCALE, { style: 'currency', currency });
  return formatter.format(cents / 100);
}

function formatQuantity(count, unit) {
  if (count === 1) {
    return `1 ${unit}`;
  }
  return `${count} ${unit}s`;
}

function formatPercent(rate) {
  return `${Math.round(rate * 100)}%`;
}

function padRight(text, width) {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function padLeft(text, width) {
  return text.length >= width ? text : ' '.repeat(width - text.length) + text;
}

module.exports = { formatPrice, formatQuantity, formatPercent, padRight, padLeft };
