// Drives edits in a real VS Code (code-server) in Chromium, one scenario after another in one
// session, and prints one JSON line with what it saw (the test asserts on it): the files on
// disk after each step ("File: Save All Files" writes what the editor holds), the notifications,
// the status bar, and the times from Enter to the preview and to the applied edit.
// Usage: node edit.mjs CONFIG.json
//   url, chromium, profile, artifacts, timeoutMs, workspace, files (names to snapshot),
//   instruction, steps: a list of scenario names (see SCENARIOS), models: {name: path},
//   editKey (a key binding as Playwright presses it), previewShot (a screenshot's name)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openWorkbench } from './workbench.mjs';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const timeout = config.timeoutMs;
const result = { steps: {} };
let workbench;
let page;

/** The workspace's files as they are on disk. */
function disk() {
  return Object.fromEntries(config.files.map((name) => [name,
    readFileSync(join(config.workspace, name), 'utf8')]));
}

/** Save what the editor holds (open or not), then read the disk. */
async function savedFiles() {
  await workbench.runCommand('File: Save All Files');
  await page.waitForTimeout(800);
  return disk();
}

async function tabs() {
  return (await page.locator('.tabs-container .tab').allInnerTexts()).map((t) => t.trim());
}

async function dirtyTabs() {
  return page.locator('.tabs-container .tab.dirty').count();
}

/** Select from the fourth line to the end of the active editor (the function in dates.py). */
async function selectFunction() {
  await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+Home');
  for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Shift+Control+End');
}

/** The instruction picker is open: type the instruction (or take the first row as it is),
 * press Enter; returns when Enter was pressed. */
async function instruct(text) {
  const input = page.locator('.quick-input-widget', { hasText: 'lspilot: edit' });
  await input.waitFor({ timeout });
  if (text) await page.keyboard.type(text);
  await page.keyboard.press('Enter');
  return Date.now();
}

/** Pick "Other model…" in Select Edit Model and type a path. */
async function selectEditModel(path) {
  const from = workbench.lines.length;
  await workbench.runCommand('lspilot: Select Edit Model');
  const other = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Other model' });
  await other.first().waitFor({ timeout });
  const rows = await page.locator('.quick-input-list .monaco-list-row').allInnerTexts();
  await other.first().click();
  await page.locator('.quick-input-message', { hasText: 'A catalog name' }).waitFor({ timeout });
  await page.keyboard.press('Control+A');
  await page.keyboard.type(path);
  await page.keyboard.press('Enter');
  const name = path.split('/').pop();
  await page.locator('.statusbar', { hasText: `edit: ${name}` }).waitFor({ timeout });
  return { rows, statusBar: await workbench.statusBar(), from };
}

const refactorPreview = () => page.locator('.bulk-edit-panel, .pane-body', { hasText: 'Discard' });
const previewButton = (label) => page.locator('.monaco-button', { hasText: new RegExp(`^${label}$`) });

/** Wait for the refactor preview; returns the ms from `enter` and the screenshot's path. */
async function preview(enter, screenshot) {
  await previewButton('Apply').first().waitFor({ timeout });
  const ms = Date.now() - enter;
  await page.waitForTimeout(300);  // the tree of changes fills in
  const shot = screenshot ? await workbench.screenshot(screenshot) : undefined;
  const text = (await refactorPreview().first().innerText().catch(() => '')).replaceAll('\u00a0', ' ');
  return { ms, shot, text };
}

/** Tick every change in the refactor preview: changes that need confirmation start unticked
 * (VS Code's rule), and a file's box ticks its changes. */
async function tickAll() {
  const unticked = previewBoxes(':not(:checked)');
  for (let i = 0; i < 20 && (await unticked.count()) > 0; i++) {
    // A tick redraws the tree: the box found may be gone by the time of the click.
    await unticked.first().click({ timeout: 2000 }).catch(() => {});
    await page.waitForTimeout(200);
  }
  return previewBoxes(':checked').count();
}

/** The refactor preview's check boxes on screen (the tree keeps spare rows hidden). */
function previewBoxes(state) {
  return page.locator(`.bulk-edit-panel input.edit-checkbox${state}`).filter({ visible: true });
}

/** Flip a boolean setting in the Settings editor, as a user does; returns its new value. */
async function toggleSetting(key) {
  await workbench.runCommand('Preferences: Open User Settings');
  const search = page.locator('.settings-editor .suggest-input-container');
  await search.waitFor({ timeout });
  await search.click();
  await page.keyboard.type(key);
  const box = page.locator('.settings-editor .setting-item-bool .setting-value-checkbox').first();
  await box.waitFor({ timeout });
  await box.click();
  const checked = await box.getAttribute('aria-checked');
  await workbench.runCommand('View: Close Editor');
  await page.waitForTimeout(500);
  return checked === 'true';
}

async function undoHere() {
  await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+Z');
  // A workspace edit asks whether to undo it in all files or in this one.
  const dialog = page.locator('.monaco-dialog-box');
  const asked = await dialog.waitFor({ timeout: 3000 }).then(() => true, () => false);
  let question;
  if (asked) {
    question = (await dialog.innerText()).split('\n')[0];
    await dialog.locator('.monaco-button', { hasText: 'Undo this File' }).click();
    await dialog.waitFor({ state: 'hidden', timeout });
  }
  return question;
}

/** The lspilot notifications on screen now. */
async function notifications() {
  return (await page.locator('.notifications-toasts .notification-toast').allInnerTexts())
    .map((t) => t.replaceAll('\u00a0', ' ').trim());
}

const SCENARIOS = {
  /** The code action on a selection: asked for the instruction, previewed, discarded. */
  async codeActionPreviewDiscard(step) {
    await workbench.openFile('dates.py');
    await workbench.consoleLine('lspilot: ready');
    step.statusBar = await workbench.statusBar();
    await selectFunction();
    await workbench.runCommand('Refactor...');
    const action = page.locator('.action-widget .monaco-list-row', { hasText: 'Edit with lspilot' });
    await action.first().waitFor({ timeout });
    await page.keyboard.press('Enter');  // the only action, focused (the menu blocks clicks)
    const enter = await instruct(config.instruction);
    step.preview = await preview(enter, config.previewShot);
    const from = workbench.lines.length;
    await previewButton('Discard').first().click();
    step.result = await workbench.consoleLine('lspilot: nothing was applied', from);
    step.dirtyTabs = await dirtyTabs();
    step.files = await savedFiles();
  },

  /** "lspilot: Edit…" by the README's key binding; the recent instruction is offered first;
   * applied from the preview; undone with one Ctrl+Z in each file. */
  async keyPreviewApplyUndo(step) {
    await workbench.openFile('dates.py');
    await selectFunction();
    await page.keyboard.press(config.editKey);
    const picker = page.locator('.quick-input-widget', { hasText: 'lspilot: edit' });
    await picker.waitFor({ timeout });
    step.offered = (await page.locator('.quick-input-list .monaco-list-row').allInnerTexts())
      .map((t) => t.replaceAll('\n', ' ').trim());
    const enter = await instruct('');  // the first row: the recent instruction
    step.preview = await preview(enter);
    step.preview.unticked = await previewBoxes(':not(:checked)').count();
    step.preview.ticked = await tickAll();
    const from = workbench.lines.length;
    await previewButton('Apply').first().click();
    step.result = await workbench.consoleLine('lspilot: edit applied', from);
    step.tabs = await tabs();
    step.files = await savedFiles();
    step.undoQuestion = await undoHere();
    step.filesAfterFirstUndo = await savedFiles();
    await workbench.openFile('jobs.py');
    step.secondUndoQuestion = await undoHere();
    step.filesAfterUndo = await savedFiles();
  },

  /** The real model: Enter to the preview, Apply at once; first with the model's load, then
   * again. Times leave out what the test does meanwhile (the screenshot). */
  async realPreviewApply(step) {
    await workbench.openFile('dates.py');
    await workbench.consoleLine('lspilot: ready');
    step.statusBar = await workbench.statusBar();
    for (const run of ['cold', 'warm']) {
      const r = step[run] = {};
      await workbench.openFile('dates.py');
      await selectFunction();
      await workbench.runCommand('lspilot: Edit…');
      const enter = await instruct(run === 'cold' ? config.instruction : '');
      const shown = await preview(enter, run === 'cold' ? config.previewShot : undefined);
      Object.assign(r, { previewMs: shown.ms, shot: shown.shot, previewText: shown.text });
      await tickAll();
      const from = workbench.lines.length;
      const click = Date.now();
      await previewButton('Apply').first().click();
      r.result = await workbench.consoleLine('lspilot: edit applied', from);
      r.appliedMs = shown.ms + (Date.now() - click);
      r.files = await savedFiles();
      await workbench.openFile('dates.py');
      await undoHere();
      await workbench.openFile('jobs.py');
      await undoHere();
      step.filesAfterUndo = await savedFiles();
    }
  },

  /** With `lspilot.edit.preview` off the edit applies at once. */
  async noPreviewApplies(step) {
    step.previewSetting = await toggleSetting('lspilot.edit.preview');
    await workbench.openFile('dates.py');
    await selectFunction();
    await workbench.runCommand('lspilot: Edit…');
    const from = workbench.lines.length;
    const enter = await instruct('');
    step.result = await workbench.consoleLine('lspilot: edit applied', from);
    step.appliedMs = Date.now() - enter;
    step.previewShown = await previewButton('Discard').count();
    step.tabs = await tabs();
    step.dirtyTabs = await dirtyTabs();
    step.files = await savedFiles();
    await workbench.openFile('dates.py');
    step.undoQuestion = await undoHere();
    step.filesAfterFirstUndo = await savedFiles();
    await workbench.openFile('jobs.py');
    step.secondUndoQuestion = await undoHere();
    step.filesAfterUndo = await savedFiles();
    step.previewSettingAfter = await toggleSetting('lspilot.edit.preview');
  },

  /** "lspilot: Edit Files…" on a model that never stops; Cancel in the notification. */
  async editFilesCancel(step) {
    step.model = await selectEditModel(config.models.loop);
    await workbench.openFile('dates.py');
    await workbench.runCommand('lspilot: Edit Files…');
    const picker = page.locator('.quick-input-widget', { hasText: 'lspilot: files to edit' });
    await picker.waitFor({ timeout });
    step.choices = (await page.locator('.quick-input-list .monaco-list-row').allInnerTexts())
      .map((t) => t.replaceAll('\n', ' ').trim());
    await page.keyboard.press('Enter');
    await instruct('say it again and again');
    const writing = page.locator('.notification-toast', { hasText: /writing: \d+ tokens/ });
    await writing.first().waitFor({ timeout });
    step.progress = (await writing.first().innerText()).replaceAll('\n', ' ');
    await workbench.screenshot('vscode-edit-progress.png');
    const from = workbench.lines.length;
    await writing.first().locator('.monaco-button', { hasText: 'Cancel' }).click();
    step.result = await workbench.consoleLine('lspilot: edit cancelled', from);
    await page.waitForTimeout(1000);
    step.notifications = await notifications();
    step.dirtyTabs = await dirtyTabs();
    step.files = await savedFiles();
  },

  /** A model whose answer the server refuses: one notification says why. */
  async serverErrorOneMessage(step) {
    step.model = await selectEditModel(config.models.lazy);
    await workbench.openFile('dates.py');
    await selectFunction();
    await workbench.runCommand('lspilot: Edit…');
    await instruct('');
    const error = page.locator('.notification-toast', { hasText: 'lspilot' });
    await error.first().waitFor({ timeout });
    await page.waitForTimeout(2000);  // a second message, if any, would come now
    step.notifications = await notifications();
    await workbench.screenshot('vscode-edit-error.png');
    step.dirtyTabs = await dirtyTabs();
    step.files = await savedFiles();
  },
};

try {
  workbench = await openWorkbench(config);
  page = workbench.page;
  result.initial = disk();
  for (const name of config.steps) {
    const step = result.steps[name] = {};
    await SCENARIOS[name](step);
    // Close what a scenario left open (pickers, the preview, notifications).
    await page.keyboard.press('Escape');
  }
  result.ok = true;
} catch (error) {
  result.ok = false;
  result.error = String(error);
  await workbench?.screenshot('vscode-edit-failure.png').catch(() => {});
} finally {
  result.console = workbench?.lines ?? [];
  await workbench?.browser.close();
}
process.stdout.write(JSON.stringify(result) + '\n');
