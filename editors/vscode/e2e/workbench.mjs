// A real VS Code (code-server) in Chromium, as the e2e scripts drive it: the page, the
// extension host's console lines, and the few gestures they share.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

/** Open the workbench at `config.url`; resolves once it is drawn. */
export async function openWorkbench(config) {
  mkdirSync(config.artifacts, { recursive: true });
  const lines = [];
  const browser = await chromium.launchPersistentContext(config.profile, {
    executablePath: config.chromium,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.on('console', (message) => lines.push(message.text()));
  const timeout = config.timeoutMs;

  /** The first console line containing `text` after the first `from` lines. */
  async function consoleLine(text, from = 0, ms = timeout) {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const line = lines.slice(from).find((l) => l.includes(text));
      if (line) return line;
      if (text.startsWith('lspilot: ready')) {
        const failed = lines.slice(from).find((l) => l.includes('lspilot: error'));
        if (failed) throw new Error(`the extension reported: ${failed}`);
      }
      await page.waitForTimeout(50);
    }
    throw new Error(`no console line with ${JSON.stringify(text)}`);
  }

  /** Run a command from the palette by its exact title (not a longer one that the typed
   * text also matches, such as "File: Save All in Group" for "File: Save All"). */
  async function runCommand(title) {
    await page.keyboard.press('F1');
    await page.locator('.quick-input-widget input').waitFor({ timeout });
    await page.keyboard.type(title);
    const exact = new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
    const row = page.locator('.quick-input-list .monaco-list-row')
      .filter({ has: page.locator('.label-name', { hasText: exact }) });
    await row.first().waitFor({ timeout });
    await row.first().click();
  }

  /** Click a file in the explorer and wait for its editor. */
  async function openFile(name) {
    const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: name });
    await row.first().click({ timeout });
    await page.locator('.tabs-container .tab.active', { hasText: name }).waitFor({ timeout });
    await page.waitForSelector('.monaco-editor .view-lines', { timeout });
  }

  /** The status bar's text, spaces as spaces. */
  async function statusBar() {
    return (await page.locator('.statusbar').innerText()).replaceAll('\u00a0', ' ');
  }

  async function screenshot(name) {
    const path = join(config.artifacts, name);
    await page.screenshot({ path });
    return path;
  }

  await page.goto(config.url);
  await page.waitForSelector('.monaco-workbench', { timeout });
  return { page, browser, lines, consoleLine, runCommand, openFile, statusBar, screenshot };
}
