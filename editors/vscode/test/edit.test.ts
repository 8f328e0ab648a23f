import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { WorkspaceEdit } from 'vscode-languageserver-protocol';

import {
  annotate, ANNOTATION_ID, codeActionArgument, EditProgress, errorText, fileItems, instructionItems,
  progressTitle, remember, staleDocuments, wasCancelled,
} from '../src/edit';

const DATES = 'file:///ws/dates.py';
const JOBS = 'file:///ws/jobs.py';
const line = (n: number) => ({ start: { line: n, character: 0 }, end: { line: n + 1, character: 0 } });

// What the server sends a VS Code client (tests/test_edits_lsp.py): the open file versioned,
// the file it brought in unversioned.
const RENAME: WorkspaceEdit = {
  documentChanges: [
    { textDocument: { uri: DATES, version: 3 }, edits: [{ range: line(3), newText: 'def parse_iso_date(text):\n' }] },
    { textDocument: { uri: JOBS, version: null }, edits: [{ range: line(0), newText: 'from dates import parse_iso_date\n' }] },
  ],
};

test('the code action\'s one argument is taken; anything else is not', () => {
  const argument = { range: { uri: DATES, range: line(3) } };
  assert.deepEqual(codeActionArgument([argument]), argument);
  assert.equal(codeActionArgument([]), undefined);
  assert.equal(codeActionArgument(['rename']), undefined);
  assert.equal(codeActionArgument([argument, argument]), undefined);
});

test('the progress title is the server\'s: the first 60 code points of the instruction', () => {
  assert.equal(progressTitle('rename it'), 'lspilot: rename it');
  const long = '🙂'.repeat(70);  // astral: two UTF-16 units each, one code point in Python
  assert.equal(progressTitle(long), `lspilot: ${'🙂'.repeat(60)}`);
});

test('recent instructions: newest first, once each, trimmed, at most the limit', () => {
  let recent: string[] = [];
  for (const instruction of ['a', 'b', ' a ', 'c']) recent = remember(recent, instruction, 2);
  assert.deepEqual(recent, ['c', 'a']);
});

test('the picker offers what is typed first, then the recent instructions', () => {
  assert.deepEqual(instructionItems('', ['x', 'y']).map((i) => i.label), ['x', 'y']);
  const rows = instructionItems(' add types ', ['x']);
  assert.deepEqual(rows.map((i) => [i.label, i.description]), [['add types', 'new instruction'], ['x', 'recent']]);
  assert.equal(rows[0].alwaysShow, true);
  // Typing a recent instruction again does not list it twice.
  assert.deepEqual(instructionItems('x', ['x']).map((i) => i.label), ['x']);
});

test('files: open editors first in tab order, then the rest by path, each once', () => {
  const rel = (uri: string) => uri.replace('file:///ws/', '');
  const rows = fileItems([JOBS, DATES, JOBS], ['file:///ws/b.py', DATES, 'file:///ws/a.py'], DATES, rel);
  assert.deepEqual(rows.map((r) => [r.label, r.description, r.picked]), [
    ['jobs.py', 'open', false], ['dates.py', 'open', true], ['a.py', '', false], ['b.py', '', false],
  ]);
});

test('a preview edit carries one annotation that needs confirmation on every change', () => {
  const edit = annotate(RENAME, 'rename parse_date', 'changed dates.py, jobs.py');
  assert.deepEqual(edit.changeAnnotations, {
    [ANNOTATION_ID]: { label: 'rename parse_date', needsConfirmation: true, description: 'changed dates.py, jobs.py' },
  });
  const changes = edit.documentChanges ?? [];
  assert.equal(changes.length, 2);
  for (const change of changes) {
    assert.ok('edits' in change);
    for (const e of change.edits) assert.equal((e as { annotationId?: string }).annotationId, ANNOTATION_ID);
  }
  // The versions stay, so the client can still refuse a stale document.
  assert.deepEqual(changes.map((c) => ('textDocument' in c ? c.textDocument.version : 'op')), [3, null]);
  // The server's edit is not changed in place.
  assert.equal('annotationId' in (RENAME.documentChanges?.[0] as { edits: object[] }).edits[0], false);
});

test('plain changes and file creations are annotated too', () => {
  const edit = annotate({
    changes: { [DATES]: [{ range: line(0), newText: 'x\n' }] },
  }, 'l', 'd');
  assert.deepEqual(edit.documentChanges, [
    { textDocument: { uri: DATES, version: null }, edits: [{ range: line(0), newText: 'x\n', annotationId: ANNOTATION_ID }] },
  ]);
  const created = annotate({ documentChanges: [{ kind: 'create', uri: 'file:///ws/new.py' }] }, 'l', 'd');
  assert.deepEqual(created.documentChanges, [{ kind: 'create', uri: 'file:///ws/new.py', annotationId: ANNOTATION_ID }]);
});

test('a document typed in since the server read it is stale; an unversioned one is not', () => {
  assert.deepEqual(staleDocuments(RENAME, (uri) => (uri === DATES ? 3 : undefined)), []);
  assert.deepEqual(staleDocuments(RENAME, (uri) => (uri === DATES ? 4 : 1)), [DATES]);
  // Closed meanwhile: the server read the editor's text, which is gone.
  assert.deepEqual(staleDocuments(RENAME, () => undefined), [DATES]);
});

test('errors read as one line from the server, never a stack', () => {
  const failed = Object.assign(new Error('lspilot: dates.py: the answer leaves code out\n  at x (y.js:1)'), { code: -32803 });
  assert.equal(errorText(failed), 'lspilot: dates.py: the answer leaves code out');
  assert.equal(errorText({ code: -32602, message: 'lspilot.edit: instruction must be a string' }),
    'lspilot.edit: instruction must be a string');
  assert.equal(errorText('Client is not running'), 'lspilot: Client is not running');
  assert.equal(errorText(new Error('')), 'lspilot: the edit failed');
  assert.equal(wasCancelled({ code: -32800, message: 'cancelled' }), true);
  assert.equal(wasCancelled(failed), false);
  assert.equal(wasCancelled(undefined), false);
});

test('the edit\'s own progress is taken, the edit model\'s load told, the rest left alone', () => {
  const progress = new EditProgress('lspilot: rename it');
  // Another progress with the same title that cannot be cancelled is not the edit's.
  assert.deepEqual(progress.route('x', { kind: 'begin', title: 'lspilot: rename it' }), { own: false });
  assert.deepEqual(progress.route('e', { kind: 'begin', title: 'lspilot: rename it', cancellable: true }), { own: true });
  assert.deepEqual(progress.route('e', { kind: 'report', message: 'writing: 12 tokens' }),
    { own: true, message: 'writing: 12 tokens' });
  assert.deepEqual(progress.route('m', { kind: 'begin', title: 'lspilot: qwen2.5-coder:1.5b (edit)' }),
    { own: false, message: 'loading qwen2.5-coder:1.5b (edit)' });
  assert.deepEqual(progress.route('m', { kind: 'report', message: 'loading', percentage: 40 }),
    { own: false, message: 'loading the edit model: loading 40%' });
  assert.deepEqual(progress.route('c', { kind: 'report', message: 'completion model' }), { own: false });
  assert.deepEqual(progress.route('e', { kind: 'end', message: 'ready to preview' }), { own: true, message: undefined });
  // A second edit's progress (another token) is not taken for this one.
  assert.deepEqual(progress.route('f', { kind: 'begin', title: 'lspilot: rename it', cancellable: true }), { own: false });
});
