'use strict';
// Run by check.py: node check.js PROJECT_DIR
const assert = require('node:assert/strict');
const path = require('node:path');

const root = process.argv[2];
const { formatPrice } = require(path.join(root, 'src/format.js'));
const { Cart } = require(path.join(root, 'src/cart.js'));
const { receipt, shortReceipt } = require(path.join(root, 'src/receipt.js'));

assert.equal(formatPrice(1250), '€12.50');
assert.equal(formatPrice(1250, 'USD'), '$12.50');
assert.equal(formatPrice(-5, 'GBP'), '-£0.05');
assert.throws(() => formatPrice(1.5, 'USD'), TypeError);

const cart = new Cart('USD').add('Notebook', 450, 2).add('Pen', 199).add('Notebook', 450);
assert.equal(cart.summary(), '4 items, $15.49');
assert.match(cart.lineText(cart.lines[0]), /^Notebook \(3 items\) +\$13\.50$/);
const text = receipt(cart, 2000).split('\n');
assert.equal(text.length, 7);
assert.deepEqual(text.slice(2).map((row) => row.split(/\s{2,}/).pop()),
  ['$15.49', '$3.10', '$18.59', '$20.00', '$1.41']);
assert.equal(shortReceipt(cart), '4 item(s), total $18.59 incl. tax');

const euros = new Cart().add('Tea', 350);
assert.equal(euros.summary(), '1 item, €3.50');
assert.ok(receipt(euros, 500).endsWith('€0.80'));
