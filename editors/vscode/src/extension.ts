// The lspilot VS Code extension: starts `lspilot serve`, passes settings, shows the server's
// state in the status bar, and offers three commands. The server owns everything else.
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State as ClientState,
} from 'vscode-languageclient/node';

import { checkModelInput, modelChoices, ModelList } from './models';
import { serverSettings } from './settings';
import { contextTable } from './explain';
import { fromProgress, Status, statusText, statusTooltip } from './status';

let client: LanguageClient | undefined;
let status: Status = { state: 'starting' };
let statusItem: vscode.StatusBarItem;
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

type StatusReply = Pick<Status, 'state' | 'model' | 'template'>;

/** Ask `lspilot.status` until the model is ready or failed (servers without `lspilot/status`). */
async function pollStatus(): Promise<void> {
  if (polling) return;
  polling = true;
  try {
    while (client?.state === ClientState.Running && !serverNotifies) {
      const reply = (await execute('lspilot.status')) as StatusReply;
      if (serverNotifies) break;
      show({ ...status, state: reply.state, model: reply.model, template: reply.template });
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
        if (!serverNotifies) {
          show(fromProgress(status, params));
          if (params.kind === 'end') void pollStatus();
        }
        next(token, params);
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
  return created;
}

async function start(context: vscode.ExtensionContext): Promise<void> {
  serverNotifies = false;
  show({ state: 'starting', model: status.model });
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

async function selectModel(): Promise<void> {
  // A model picked from the server's list goes through lspilot.selectModel; a name or path
  // that the user types is the `models.autocomplete` setting, which every server reads.
  const commands = serverCommands();
  if (commands.includes('lspilot.listModels') && commands.includes('lspilot.selectModel')) {
    const list = (await execute('lspilot.listModels')) as ModelList;
    const other = {
      label: '$(edit) Other model…', description: 'a catalog name or a .gguf path', id: '',
      alwaysShow: true,
    };
    const choice = await vscode.window.showQuickPick([...modelChoices(list), other], {
      title: 'lspilot: autocomplete model',
    });
    if (!choice) return;
    if (choice.id) {
      await execute('lspilot.selectModel', { id: choice.id, role: 'autocomplete' });
      void pollStatus();
      return;
    }
  }
  const config = vscode.workspace.getConfiguration('lspilot');
  const value = await vscode.window.showInputBox({
    title: 'lspilot: autocomplete model',
    prompt: 'A catalog name (see `lspilot models list`) or the path of a .gguf file',
    value: config.get<string>('models.autocomplete'),
    validateInput: checkModelInput,
  });
  if (value) {
    // The configuration listener sends it to the server (workspace/didChangeConfiguration).
    await config.update('models.autocomplete', value.trim(), vscode.ConfigurationTarget.Global);
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
  context.subscriptions.push(
    output,
    statusItem,
    vscode.commands.registerCommand('lspilot.editor.selectModel', selectModel),
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
