'use strict';

const { formatPrice, formatQuantity, padLeft, padRight } = require('./format');

class Cart {
  constructor(currency = 'EUR') {
    this.currency = currency;
    this.lines = [];
  }

  add(name, cents, quantity = 1) {
    if (quantity < 1) {
      throw new RangeError('quantity must be at least 1');
    }
    const line = this.lines.find((l) => l.name === name && l.cents === cents);
    if (line) {
      line.quantity += quantity;
    } else {
      this.lines.push({ name, cents, quantity });
    }
    return this;
  }

  subtotal() {
    return this.lines.reduce((sum, l) => sum + l.cents * l.quantity, 0);
  }

  itemCount() {
    return this.lines.reduce((sum, l) => sum + l.quantity, 0);
  }

  lineText(line) {
    const label = `${line.name} (${formatQuantity(line.quantity, 'item')})`;
    return padRight(label, 28) + padLeft(formatPrice(line.cents * line.quantity), 12);
  }

  summary() {
    return `${formatQuantity(this.itemCount(), 'item')}, ${formatPrice(this.subtotal())}`;
  }
}

module.exports = { Cart };
