'use strict';

// Reading query-string values, which arrive as strings or not at all.

function readInt(value, fallback) {
  if (typeof value === 'number' && Number.isInteger(value)) {
    return value;
  }
  if (typeof value !== 'string' || !/^-?\d+$/.test(value.trim())) {
    return fallback;
  }
  return Number.parseInt(value, 10);
}

function readSort(value, fallback) {
  if (typeof value !== 'string' || value.length === 0) {
    return { key: fallback, descending: false };
  }
  if (value.startsWith('-')) {
    return { key: value.slice(1) || fallback, descending: true };
  }
  return { key: value, descending: false };
}

function readList(value) {
  if (typeof value !== 'string') {
    return [];
  }
  return value.split(',').map((part) => part.trim()).filter(Boolean);
}

module.exports = { readInt, readSort, readList };
