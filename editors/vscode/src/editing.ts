// "lspilot: Edit…" and "lspilot: Edit Files…" in VS Code: ask for an instruction, run the
// server's `lspilot.edit` under a cancellable notification, then preview or apply. The server
// does the edit; this file only asks, shows and applies.
import * as vscode from 'vscode';
import { ExecuteCommandRequest, LanguageClient } from 'vscode-languageclient/node';
import type {
  WorkDoneProgressBegin, WorkDoneProgressEnd, WorkDoneProgressReport,
} from 'vscode-languageclient/node';

import {
  annotate, EDIT_COMMAND, EditArgument, EditProgress, EditReply, errorText, fileItems,
  InstructionItem, instructionItems, progressTitle, remember, staleDocuments, wasCancelled,
} from './edit';

const RECENT_KEY = 'lspilot.recentInstructions';

type ProgressValue = WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd;

/** The edit under way: which progress is its, and where to show it. */
interface Running {
  progress: EditProgress;
  report: (message: string) => void;
}

export class Editing {
  private running: Running | undefined;

  constructor(
    private readonly client: () => LanguageClient | undefined,
    private readonly state: vscode.Memento,
    private readonly output: vscode.LogOutputChannel,
  ) {}

  /** "lspilot: Edit…": the selection (or the whole file) of the active editor. */
  async editSelection(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    const client = this.client();
    if (!editor || !client) {
      void vscode.window.showErrorMessage('lspilot: open a file to edit first.');
      return;
    }
    const uri = editor.document.uri.toString();
    const argument: EditArgument = editor.selection.isEmpty
      ? { uris: [uri] }
      : { range: { uri, range: client.code2ProtocolConverter.asRange(editor.selection) } };
    await this.run(argument);
  }

  /** "lspilot: Edit Files…": pick files (open editors first), then ask. */
  async editFiles(): Promise<void> {
    const open = vscode.window.tabGroups.all
      .flatMap((group) => group.tabs)
      .map((tab) => (tab.input instanceof vscode.TabInputText ? tab.input.uri : undefined))
      .filter((uri): uri is vscode.Uri => uri?.scheme === 'file')
      .map((uri) => uri.toString());
    const workspace = (await vscode.workspace.findFiles('**/*', undefined, 5000))
      .map((uri) => uri.toString());
    const active = vscode.window.activeTextEditor?.document.uri.toString();
    const items = fileItems(open, workspace, active,
      (uri) => vscode.workspace.asRelativePath(vscode.Uri.parse(uri), false));
    const picked = await vscode.window.showQuickPick(items, {
      canPickMany: true,
      title: 'lspilot: files to edit',
      placeHolder: 'The files the edit may change (the server adds the ones they need)',
    });
    if (!picked || picked.length === 0) return;
    await this.run({ uris: picked.map((item) => item.uri) });
  }

  /** The server's code action runs `lspilot.edit` without an instruction: ask for one. */
  async fromCodeAction(argument: EditArgument): Promise<void> {
    await this.run(argument);
  }

  /** Take the `$/progress` of the edit under way into its notification; true when it is
   * the edit's own (not for the language client's status bar spinner). */
  progress(token: string | number, value: ProgressValue): boolean {
    if (!this.running) return false;
    const { own, message } = this.running.progress.route(token, value);
    if (message) this.running.report(message);
    return own;
  }

  private async run(argument: EditArgument): Promise<void> {
    const client = this.client();
    if (!client) {
      void vscode.window.showErrorMessage('lspilot: the server is not running.');
      return;
    }
    if (this.running) {
      void vscode.window.showErrorMessage('lspilot: an edit is running: wait for it or cancel it.');
      return;
    }
    const instruction = await this.ask();
    if (!instruction) return;
    await this.state.update(RECENT_KEY, remember(this.recent(), instruction));
    const preview = vscode.workspace.getConfiguration('lspilot').get<boolean>('edit.preview', true);
    const started = Date.now();
    let reply: EditReply;
    try {
      reply = await this.request(client, { ...argument, instruction, apply: !preview });
    } catch (error) {
      if (wasCancelled(error)) {
        this.tell('lspilot: edit cancelled; nothing was applied');
        return;
      }
      // One notification with the server's reason; the details go to the log.
      this.output.error(`lspilot.edit: ${String(error)}`);
      void vscode.window.showErrorMessage(errorText(error));
      return;
    }
    if (!preview) {
      this.finished(reply.applied === true, reply, started);
      return;
    }
    await this.previewAndApply(client, instruction, reply, started);
  }

  private recent(): string[] {
    return this.state.get<string[]>(RECENT_KEY, []);
  }

  /** The instruction: typed, or one of the recent ones. */
  private ask(): Promise<string | undefined> {
    const recent = this.recent();
    const pick = vscode.window.createQuickPick<InstructionItem>();
    pick.title = 'lspilot: edit';
    pick.placeholder = 'Say what to change, e.g. "rename parse_date to parse_iso_date everywhere"';
    pick.items = instructionItems('', recent);
    pick.onDidChangeValue((value) => (pick.items = instructionItems(value, recent)));
    return new Promise((resolve) => {
      pick.onDidAccept(() => {
        const chosen = (pick.selectedItems[0]?.label ?? pick.value).trim();
        resolve(chosen || undefined);
        pick.hide();
      });
      pick.onDidHide(() => {
        resolve(undefined);
        pick.dispose();
      });
      pick.show();
    });
  }

  /** Run `lspilot.edit` under a cancellable notification that shows the server's progress. */
  private request(client: LanguageClient, argument: EditArgument): Promise<EditReply> {
    const instruction = argument.instruction ?? '';
    const title = progressTitle(instruction);
    return Promise.resolve(vscode.window.withProgress({
      location: vscode.ProgressLocation.Notification,
      title,
      cancellable: true,
    }, async (progress, token) => {
      this.running = {
        progress: new EditProgress(title),
        report: (message) => progress.report({ message }),
      };
      progress.report({ message: 'starting' });
      const cancel = new vscode.CancellationTokenSource();
      const listener = token.onCancellationRequested(() => cancel.cancel());
      try {
        return (await client.sendRequest(ExecuteCommandRequest.type,
          { command: EDIT_COMMAND, arguments: [argument] }, cancel.token)) as EditReply;
      } finally {
        this.running = undefined;
        listener.dispose();
        cancel.dispose();
      }
    }));
  }

  /** Open the edit in the refactor preview; apply what the user ticks (changes that need
   * confirmation start unticked: VS Code's rule), as one undoable step per file. */
  private async previewAndApply(client: LanguageClient, instruction: string, reply: EditReply,
    started: number): Promise<void> {
    if (!reply.edit) {
      void vscode.window.showErrorMessage('lspilot: the server sent no edit to preview.');
      return;
    }
    const stale = staleDocuments(reply.edit, (uri) =>
      vscode.workspace.textDocuments.find((doc) => doc.uri.toString() === uri)?.version);
    if (stale.length > 0) {
      const names = stale.map((uri) => vscode.workspace.asRelativePath(vscode.Uri.parse(uri)));
      void vscode.window.showErrorMessage(`lspilot: ${names.join(', ')} changed while the edit ` +
        'was made; nothing was applied: run the edit again.');
      return;
    }
    const edit = await client.protocol2CodeConverter.asWorkspaceEdit(
      annotate(reply.edit, instruction, reply.message));
    if (!edit) return;
    console.log(`lspilot: edit ready to preview after ${Date.now() - started} ms`);
    const applied = await vscode.workspace.applyEdit(edit, { isRefactoring: true });
    this.finished(applied, reply, started);
  }

  private finished(applied: boolean, reply: EditReply, started: number): void {
    if (applied) {
      // Reaches the page console as "[Extension Host] lspilot: edit applied ..." (tests read it).
      console.log(`lspilot: edit applied to ${reply.files.length} files after ` +
        `${Date.now() - started} ms`);
      this.tell(`lspilot: ${reply.message}`);
    } else if (reply.edit) {
      this.tell('lspilot: nothing was applied (discarded, or no change ticked)');
    } else {
      void vscode.window.showWarningMessage(`lspilot: ${reply.message}`);
    }
  }

  /** A passing word in the status bar and the log (not a notification to dismiss). */
  private tell(message: string): void {
    console.log(message);
    this.output.info(message);
    vscode.window.setStatusBarMessage(message, 10_000);
  }
}
