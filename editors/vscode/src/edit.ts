// The pure parts of "lspilot: Edit…": what to ask, what to send, what to preview and what to
// tell. The server does the edit (`lspilot.edit`); nothing here imports `vscode`, so node's
// test runner covers it.
import type {
  AnnotatedTextEdit,
  CreateFile,
  DeleteFile,
  Range,
  RenameFile,
  SnippetTextEdit,
  TextDocumentEdit,
  TextEdit,
  WorkspaceEdit,
} from 'vscode-languageserver-protocol';

/** The server's command, offered by its code action without an instruction. */
export const EDIT_COMMAND = 'lspilot.edit';

/** `lspilot.edit`'s one argument. */
export interface EditArgument {
  instruction?: string;
  uris?: string[];
  range?: { uri: string; range: Range };
  apply?: boolean;
}

/** `lspilot.edit`'s answer: applied by the server (`apply: true`) or the edit to preview. */
export interface EditReply {
  applied?: boolean;
  edit?: WorkspaceEdit;
  files: string[];
  message: string;
}

/** The argument of a code action's `lspilot.edit`, or undefined for anything else. */
export function codeActionArgument(args: readonly unknown[]): EditArgument | undefined {
  const [first] = args;
  if (args.length !== 1 || typeof first !== 'object' || first === null) return undefined;
  return first as EditArgument;
}

type ProgressValue =
  | { kind: 'begin'; title: string; cancellable?: boolean; message?: string; percentage?: number }
  | { kind: 'report'; message?: string; percentage?: number }
  | { kind: 'end'; message?: string };

/** Sorts the `$/progress` that arrives while an edit runs: the edit's own (its title, and
 * cancellable), shown in its notification and nowhere else, and the edit model's load, also
 * told in the notification. */
export class EditProgress {
  private token: string | number | undefined;
  private loadToken: string | number | undefined;

  constructor(private readonly title: string) {}

  /** Whether the progress is the edit's own, and what to show in its notification. */
  route(token: string | number, value: ProgressValue): { own: boolean; message?: string } {
    if (value.kind === 'begin') {
      if (this.token === undefined && value.cancellable && value.title === this.title) {
        this.token = token;
        return { own: true };
      }
      if (value.title.endsWith('(edit)')) {
        this.loadToken = token;
        return { own: false, message: `loading ${value.title.replace(/^lspilot: /, '')}` };
      }
      return { own: false };
    }
    if (token === this.token) {
      return { own: true, message: value.kind === 'report' ? value.message : undefined };
    }
    if (token === this.loadToken && value.kind === 'report') {
      const percent = value.percentage != null ? ` ${value.percentage}%` : '';
      return { own: false, message: `loading the edit model: ${value.message ?? ''}${percent}` };
    }
    return { own: false };
  }
}

/** The title the server gives the edit's `$/progress` (its first 60 code points, as Python
 * slices a string), so the client can tell that progress from a model load's. */
export function progressTitle(instruction: string): string {
  return `lspilot: ${Array.from(instruction).slice(0, 60).join('')}`;
}

export const RECENT_LIMIT = 20;

/** The recent instructions with `instruction` first, once, at most `limit`. */
export function remember(recent: readonly string[], instruction: string,
  limit = RECENT_LIMIT): string[] {
  const text = instruction.trim();
  return [text, ...recent.filter((r) => r !== text)].slice(0, limit);
}

export interface InstructionItem {
  label: string;
  description?: string;
  alwaysShow?: boolean;
}

/** The instruction picker's rows: what is typed (a new instruction), then the recent ones. */
export function instructionItems(value: string, recent: readonly string[]): InstructionItem[] {
  const typed = value.trim();
  const rows: InstructionItem[] = recent.map((label) => ({ label, description: 'recent' }));
  if (typed && !recent.includes(typed)) {
    rows.unshift({ label: typed, description: 'new instruction', alwaysShow: true });
  }
  return rows;
}

export interface FileItem {
  label: string;
  description: string;
  uri: string;
  picked: boolean;
}

/** The files to pick from: open editors first (the active one picked), then the workspace's
 * other files, each once, by path. */
export function fileItems(open: readonly string[], workspace: readonly string[],
  active: string | undefined, relative: (uri: string) => string): FileItem[] {
  const row = (uri: string, description: string): FileItem =>
    ({ label: relative(uri), description, uri, picked: uri === active });
  const opened = [...new Set(open)];
  const others = [...new Set(workspace)].filter((uri) => !opened.includes(uri))
    .sort((a, b) => relative(a).localeCompare(relative(b)));
  return [...opened.map((uri) => row(uri, 'open')), ...others.map((uri) => row(uri, ''))];
}

/** The annotation every change of a previewed edit carries. */
export const ANNOTATION_ID = 'lspilot.edit';

type FileOperation = CreateFile | RenameFile | DeleteFile;

/** The edit with one change annotation on every change, `needsConfirmation` set, so that VS
 * Code opens it in the refactor preview; plain `changes` become `documentChanges` (only
 * those carry annotations). */
export function annotate(edit: WorkspaceEdit, label: string, description: string): WorkspaceEdit {
  const changes: (TextDocumentEdit | FileOperation)[] = [];
  for (const change of edit.documentChanges ?? []) {
    if ('kind' in change) {
      changes.push({ ...change, annotationId: ANNOTATION_ID });
    } else {
      changes.push({ ...change, edits: change.edits.map(annotated) });
    }
  }
  for (const [uri, edits] of Object.entries(edit.changes ?? {})) {
    changes.push({ textDocument: { uri, version: null }, edits: edits.map(annotated) });
  }
  return {
    documentChanges: changes,
    changeAnnotations: { [ANNOTATION_ID]: { label, needsConfirmation: true, description } },
  };
}

function annotated<T extends TextEdit | AnnotatedTextEdit | SnippetTextEdit>(edit: T): T {
  return { ...edit, annotationId: ANNOTATION_ID };
}

/** The documents whose version moved since the server read them: applying the edit there
 * would change the wrong text. `version` is the document's version now (undefined: not open). */
export function staleDocuments(edit: WorkspaceEdit,
  version: (uri: string) => number | undefined): string[] {
  const stale: string[] = [];
  for (const change of edit.documentChanges ?? []) {
    if ('kind' in change) continue;
    const { uri, version: read } = change.textDocument;
    if (read !== null && version(uri) !== read) stale.push(uri);
  }
  return stale;
}

/** JSON-RPC's RequestCancelled: the user cancelled the edit. */
export const REQUEST_CANCELLED = -32800;

/** Whether a failed request was cancelled (nothing to report but that). */
export function wasCancelled(error: unknown): boolean {
  return typeof error === 'object' && error !== null &&
    (error as { code?: unknown }).code === REQUEST_CANCELLED;
}

/** One line for the user from whatever a request failed with: the server's message (it says
 * what was not applied and why), never a stack trace. */
export function errorText(error: unknown): string {
  let text: string;
  if (typeof error === 'object' && error !== null && 'message' in error) {
    text = String((error as { message: unknown }).message);
  } else {
    text = String(error);
  }
  text = text.split('\n')[0].trim() || 'the edit failed';
  return text.startsWith('lspilot') ? text : `lspilot: ${text}`;
}
