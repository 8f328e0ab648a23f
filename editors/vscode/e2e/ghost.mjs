// Drives a real VS Code (code-server) in Chromium: open a file, type, wait for the ghost text
// that the lspilot server produced, press Tab, save, show the last prompt. Prints one JSON line
// with what it saw.
// Usage: node ghost.mjs CONFIG.json  (url, file, keys, artifacts, timeoutMs)
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
mkdirSync(config.artifacts, { recursive: true });
const console_ = [];
const browser = await chromium.launchPersistentContext(config.profile, {
  executablePath: config.chromium,
  headless: true,
  viewport: { width: 1280, height: 800 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = browser.pages()[0] ?? (await browser.newPage());
const ready = new Promise((resolve, reject) => {
  page.on('console', (message) => {
    const text = message.text();
    console_.push(text);
    if (text.includes('lspilot: ready')) resolve(text);
    if (text.includes('lspilot: error')) reject(new Error(`the extension reported: ${text}`));
  });
});
const result = { console: console_ };

/** Wait for a console line containing `text` that comes after the first `from` lines. */
async function consoleLine(text, from) {
  const deadline = Date.now() + config.timeoutMs;
  while (Date.now() < deadline) {
    const line = console_.slice(from).find((l) => l.includes(text));
    if (line) return line;
    await page.waitForTimeout(50);
  }
  throw new Error(`no console line with ${JSON.stringify(text)}`);
}

/** Run a command from the palette by its title. */
async function runCommand(title) {
  await page.keyboard.press('F1');
  await page.locator('.quick-input-widget input').waitFor({ timeout: config.timeoutMs });
  await page.keyboard.type(title);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first()
    .waitFor({ timeout: config.timeoutMs });
  await page.keyboard.press('Enter');
}
try {
  await page.goto(config.url);
  await page.waitForSelector('.monaco-workbench', { timeout: config.timeoutMs });
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: config.file });
  await row.first().click({ timeout: config.timeoutMs });
  await page.waitForSelector('.monaco-editor .view-lines', { timeout: config.timeoutMs });
  let timer;
  await Promise.race([ready, new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error('no "lspilot: ready" from the extension')), config.timeoutMs);
  })]);
  clearTimeout(timer);
  const editor = page.locator('.monaco-editor textarea').first();
  await editor.focus();
  await page.keyboard.press('Control+End');
  await page.keyboard.type(config.keys, { delay: 40 });
  const typedAt = Date.now();
  const ghost = page.locator('.ghost-text-decoration, .ghost-text').first();
  await ghost.waitFor({ state: 'visible', timeout: config.timeoutMs });
  result.ghostMs = Date.now() - typedAt;
  // The first line is inline decorations (one span per token); further lines are a view zone.
  const inline = (await page.locator('.ghost-text-decoration').allTextContents()).join('');
  const below = await page.locator('.ghost-text .view-line').allTextContents();
  result.ghostText = [inline, ...below].join('\n').replaceAll('\u00a0', ' ');
  await page.screenshot({ path: join(config.artifacts, 'vscode-ghost-text.png') });
  // The latency can reach the status bar a little after the ghost text (lspilot/status is
  // throttled to one a second).
  const latency = page.locator('.statusbar', { hasText: /lspilot .+ · \d+ ms/ });
  await latency.waitFor({ timeout: 10_000 });
  result.statusBar = (await latency.innerText()).replaceAll('\u00a0', ' ');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+S');
  await page.waitForTimeout(500);
  // The command palette runs the extension's "Show Prompt" command over the real server.
  await runCommand('lspilot: Show Prompt of the Last Completion');
  const shown = page.locator('.monaco-editor .view-lines', { hasText: 'lspilot: last completion' });
  await shown.first().waitFor({ timeout: config.timeoutMs });
  result.lastCompletion = (await shown.first().innerText()).replaceAll('\u00a0', ' ');
  // Select Model (the input-box path on a server without lspilot.listModels) sends the new
  // model as a setting; the status bar follows the server's state.
  let from = console_.length;
  await runCommand('lspilot: Select Model');
  // A server with lspilot.listModels gets a list first, whose "Other model…" leads here.
  const box = page.locator('.quick-input-message', { hasText: 'A catalog name' });
  const otherRow = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Other model' });
  await box.or(otherRow).first().waitFor({ timeout: config.timeoutMs });
  if (await otherRow.isVisible()) {
    await otherRow.first().click();
    await box.waitFor({ timeout: config.timeoutMs });
  }
  await page.keyboard.press('Control+A');
  await page.keyboard.type(config.model);
  await page.keyboard.press('Enter');
  await consoleLine('lspilot: ready', from);
  result.statusAfterSelect = (await page.locator('.statusbar').innerText()).replaceAll('\u00a0', ' ');
  // Restart Server stops and starts the server; it reports ready again.
  from = console_.length;
  await runCommand('lspilot: Restart Server');
  await consoleLine('lspilot: starting', from);
  await consoleLine('lspilot: ready', from);
  result.ok = true;
} catch (error) {
  result.ok = false;
  result.error = String(error);
  await page.screenshot({ path: join(config.artifacts, 'vscode-failure.png') }).catch(() => {});
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result) + '\n');
