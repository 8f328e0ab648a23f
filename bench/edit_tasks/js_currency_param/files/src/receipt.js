'use strict';

const { formatPercent, formatPrice, padLeft, padRight } = require('./format');

const TAX_RATE = 0.2;

function taxOf(cents) {
  return Math.round(cents * TAX_RATE);
}

function receipt(cart, paidCents) {
  const subtotal = cart.subtotal();
  const tax = taxOf(subtotal);
  const total = subtotal + tax;
  if (paidCents < total) {
    throw new RangeError(`paid ${paidCents} of ${total}`);
  }
  const rows = cart.lines.map((line) => cart.lineText(line));
  rows.push(padRight('Subtotal', 28) + padLeft(formatPrice(subtotal), 12));
  rows.push(padRight(`Tax ${formatPercent(TAX_RATE)}`, 28) + padLeft(formatPrice(tax), 12));
  rows.push(padRight('Total', 28) + padLeft(formatPrice(total), 12));
  rows.push(padRight('Paid', 28) + padLeft(formatPrice(paidCents), 12));
  rows.push(padRight('Change', 28) + padLeft(formatPrice(paidCents - total), 12));
  return rows.join('\n');
}

function shortReceipt(cart) {
  const total = cart.subtotal() + taxOf(cart.subtotal());
  return `${cart.itemCount()} item(s), total ${formatPrice(total)} incl. tax`;
}

module.exports = { receipt, shortReceipt, taxOf, TAX_RATE };
