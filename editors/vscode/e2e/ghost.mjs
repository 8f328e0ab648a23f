// Drives a real VS Code (code-server) in Chromium: open a file, type, wait for the ghost text
// that the lspilot server produced, press Tab, save, show the last prompt. Prints one JSON line
// with what it saw.
// Usage: node ghost.mjs CONFIG.json  (url, file, keys, artifacts, timeoutMs)
import { readFileSync } from 'node:fs';
import { openWorkbench } from './workbench.mjs';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const result = {};
let workbench;
try {
  workbench = await openWorkbench(config);
  const { page, consoleLine, runCommand, screenshot } = workbench;
  result.console = workbench.lines;
  await workbench.openFile(config.file);
  await consoleLine('lspilot: ready');
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
  await screenshot('vscode-ghost-text.png');
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
  let from = workbench.lines.length;
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
  from = workbench.lines.length;
  await runCommand('lspilot: Restart Server');
  await consoleLine('lspilot: starting', from);
  await consoleLine('lspilot: ready', from);
  result.ok = true;
} catch (error) {
  result.ok = false;
  result.error = String(error);
  result.console ??= [];
  await workbench?.screenshot('vscode-failure.png').catch(() => {});
} finally {
  await workbench?.browser.close();
}
process.stdout.write(JSON.stringify(result) + '\n');
