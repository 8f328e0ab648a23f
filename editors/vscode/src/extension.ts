// The lspilot VS Code extension: starts `lspilot serve`, passes settings, shows the server's
// state in the status bar, and offers its commands (edits in ./editing). The server owns
// everything else.
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State as ClientState,
} from 'vscode-languageclient/node';

import { codeActionArgument, EDIT_COMMAND } from './edit';
import { Editing } from './editing';
import { checkModelInput, modelChoices, ModelList, Role } from './models';
import { serverSettings } from './settings';
import { contextTable } from './explain';
import {
  editStatusText, editStatusTooltip, fromProgress, Status, statusText, statusTooltip,
} from './status';

let client: LanguageClient | undefined;
let status: Status = { state: 'starting' };
let statusItem: vscode.StatusBarItem;
let editItem: vscode.StatusBarItem;
let editing: Editing;
let output: vscode.LogOutputChannel;
// Once the server sends `lspilot/status`, it is the only source of truth for the status bar.
let serverNotifies = false;
let polling = false;

function settingKeys(context: vscode.ExtensionContext): string[] {
  return Object.keys(context.extension.packageJSON.contributes.configuration.properties);
}

function currentSettings(context: vscode.ExtensionContext): Record<string, unknown> {
  const config = vscode.workspace.getConfiguration('lspilot');
  return serverSettings(settingKeys(context), (key) => config.get(key));
}

function show(next: Status): void {
  const before = status.state;
  status = next;
  statusItem.text = statusText(status);
  statusItem.tooltip = statusTooltip(status);
  editItem.text = editStatusText(status);
  editItem.tooltip = editStatusTooltip(status);
  if (status.state !== before) {
    // Reaches the developer console as "[Extension Host] lspilot: ready ..." (tests wait on it).
    console.log(`lspilot: ${status.state} ${status.model ?? ''}`);
    output.info(`status: ${status.state} ${status.model ?? ''} ${status.message ?? ''}`);
  }
}

function serverCommands(): string[] {
  return client?.initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
}

async function execute(command: string, ...args: unknown[]): Promise<unknown> {
  if (!client) throw new Error('lspilot is not running');
  return client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
}

type StatusReply = Pick<Status, 'state' | 'model' | 'template'> & {
  edit?: { model: string | null; state: string };
};

/** Ask `lspilot.status` until the model is ready or failed (servers without `lspilot/status`). */
async function pollStatus(): Promise<void> {
  if (polling) return;
  polling = true;
  try {
    while (client?.state === ClientState.Running && !serverNotifies) {
      const reply = (await execute('lspilot.status')) as StatusReply;
      if (serverNotifies) break;
      show({
        ...status, state: reply.state, model: reply.model, template: reply.template,
        editModel: reply.edit?.model ?? status.editModel,
        editState: reply.edit?.state ?? status.editState,
      });
      if (reply.state === 'ready' || reply.state === 'error') break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } catch (error) {
    output.warn(`status poll: ${String(error)}`);
  } finally {
    polling = false;
  }
}

function createClient(context: vscode.ExtensionContext): LanguageClient {
  const config = vscode.workspace.getConfiguration('lspilot');
  const serverOptions: ServerOptions = {
    command: config.get<string>('server.path') || 'lspilot',
    args: ['serve', ...(config.get<string[]>('server.args') ?? [])],
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
    initializationOptions: currentSettings(context),
    outputChannel: output,
    middleware: {
      // VS Code shows the server's inline completions; asking for the same completion again
      // as a completion item would run the model twice per keystroke and cancel each other.
      provideCompletionItem: () => undefined,
      handleWorkDoneProgress: (token, params, next) => {
        // An edit's progress shows in its own cancellable notification, not as a spinner; the
        // end still goes through, so that the client forgets the token.
        const edit = editing.progress(token, params);
        if (edit && params.kind !== 'end') return;
        const load = !edit && !(params.kind === 'begin' && params.title.endsWith('(edit)'));
        if (!serverNotifies && load) {
          show(fromProgress(status, params));
          if (params.kind === 'end') void pollStatus();
        }
        next(token, params);
      },
      // The server's code action runs `lspilot.edit` without an instruction: ask for one.
      executeCommand: async (command, args, next) => {
        const argument = command === EDIT_COMMAND ? codeActionArgument(args) : undefined;
        if (argument && argument.instruction === undefined) {
          await editing.fromCodeAction(argument);
          return undefined;
        }
        return next(command, args);
      },
      provideInlineCompletionItems: async (document, position, context_, token, next) => {
        const started = Date.now();
        const result = await next(document, position, context_, token);
        if (!serverNotifies && !token.isCancellationRequested) {
          show({ ...status, latencyMs: Date.now() - started });
        }
        return result;
      },
    },
  };
  const created = new LanguageClient('lspilot', 'lspilot', serverOptions, clientOptions);
  created.onNotification('lspilot/status', (params: Status) => {
    serverNotifies = true;
    show({ ...params });
  });
  // The server has a newer suggestion for a document's cursor (after a typed-ahead hit).
  created.onNotification('lspilot/refresh', (params: { uri: string }) => {
    const editor = vscode.window.activeTextEditor;
    if (editor && editor.document.uri.toString() === params.uri) {
      void vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
    }
  });
  return created;
}

async function start(context: vscode.ExtensionContext): Promise<void> {
  serverNotifies = false;
  show({ state: 'starting', model: status.model, editModel: status.editModel });
  client = createClient(context);
  try {
    await client.start();
  } catch (error) {
    const path = vscode.workspace.getConfiguration('lspilot').get<string>('server.path');
    show({ ...status, state: 'error', message: String(error) });
    void vscode.window.showErrorMessage(
      `lspilot: could not start \`${path} serve\` (${String(error)}). ` +
        'Install lspilot or set "lspilot.server.path".',
    );
    return;
  }
  void pollStatus();
}

const MODEL_SETTING: Record<Role, string> = {
  autocomplete: 'models.autocomplete',
  edit: 'models.edit',
};

async function selectModel(role: Role): Promise<void> {
  // A model picked from the server's list goes through lspilot.selectModel; a name or path
  // that the user types is the role's setting (`models.autocomplete`, `models.edit`), which
  // every server reads.
  const title = role === 'edit' ? 'lspilot: edit model' : 'lspilot: autocomplete model';
  const commands = serverCommands();
  if (commands.includes('lspilot.listModels') && commands.includes('lspilot.selectModel')) {
    const list = (await execute('lspilot.listModels')) as ModelList;
    const other = {
      label: '$(edit) Other model…', description: 'a catalog name or a .gguf path', id: '',
      alwaysShow: true,
    };
    const choices = [...modelChoices(list, role), other];
    const choice = await vscode.window.showQuickPick(choices, { title });
    if (!choice) return;
    if (choice.id) {
      await execute('lspilot.selectModel', { id: choice.id, role });
      void pollStatus();
      return;
    }
  }
  const config = vscode.workspace.getConfiguration('lspilot');
  const value = await vscode.window.showInputBox({
    title,
    prompt: 'A catalog name (see `lspilot models list`) or the path of a .gguf file',
    value: config.get<string>(MODEL_SETTING[role]),
    validateInput: checkModelInput,
  });
  if (value) {
    // The configuration listener sends it to the server (workspace/didChangeConfiguration).
    await config.update(MODEL_SETTING[role], value.trim(), vscode.ConfigurationTarget.Global);
  }
}

async function showLastPrompt(): Promise<void> {
  const last = (await execute('lspilot.explainCompletion')) as Record<string, unknown> | null;
  if (!last) {
    void vscode.window.showInformationMessage('lspilot: no completion yet.');
    return;
  }
  const { prompt, completion, context, ...rest } = last;
  const facts = Object.entries(rest).map(([key, value]) => `- ${key}: ${JSON.stringify(value)}`);
  const content = [
    '# lspilot: last completion', '', ...facts, '', ...contextTable(context), '## Prompt', '',
    '````', String(prompt), '````', '', '## Completion', '', '````', String(completion), '````',
    '',
  ].join('\n');
  const doc = await vscode.workspace.openTextDocument({ content, language: 'markdown' });
  await vscode.window.showTextDocument(doc, { preview: true });
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel('lspilot', { log: true });
  const right = vscode.StatusBarAlignment.Right;
  statusItem = vscode.window.createStatusBarItem('lspilot.status', right, 100);
  statusItem.name = 'lspilot';
  statusItem.command = 'lspilot.editor.selectModel';
  statusItem.show();
  editItem = vscode.window.createStatusBarItem('lspilot.editStatus', right, 99);
  editItem.name = 'lspilot edit model';
  editItem.command = 'lspilot.editor.selectEditModel';
  editItem.show();
  editing = new Editing(() => client, context.globalState, output);
  context.subscriptions.push(
    output,
    statusItem,
    editItem,
    vscode.commands.registerCommand('lspilot.editor.selectModel',
      () => selectModel('autocomplete')),
    vscode.commands.registerCommand('lspilot.editor.selectEditModel', () => selectModel('edit')),
    vscode.commands.registerCommand('lspilot.editor.edit', () => editing.editSelection()),
    vscode.commands.registerCommand('lspilot.editor.editFiles', () => editing.editFiles()),
    vscode.commands.registerCommand('lspilot.editor.showLastPrompt', showLastPrompt),
    vscode.commands.registerCommand('lspilot.editor.restartServer', async () => {
      await client?.stop();
      await start(context);
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (!event.affectsConfiguration('lspilot') || !client) return;
      if (event.affectsConfiguration('lspilot.server')) {
        await client.stop();
        await start(context);
        return;
      }
      await client.sendNotification(DidChangeConfigurationNotification.type, {
        settings: currentSettings(context),
      });
      void pollStatus();
    }),
  );
  await start(context);
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
