// What the status bar shows, from whichever signal the server gives. Pure.

export type State = 'starting' | 'idle' | 'loading' | 'ready' | 'error' | 'stopped';

/** The server's state as the client knows it; mirrors the `lspilot/status` notification. */
export interface Status {
  state: State;
  model?: string;
  backend?: string;
  template?: string | null;
  latencyMs?: number | null;
  tokensPerSecond?: number | null;
  message?: string | null;
  /** The edit role's model and its slot's state (`idle` until the first edit loads it). */
  editModel?: string | null;
  editState?: string | null;
}

/** A model's short name: a catalog name as is, a .gguf path by its file name. */
export function modelLabel(model: string | undefined): string {
  if (!model) {
    return '';
  }
  const parts = model.split(/[\\/]/);
  return parts[parts.length - 1];
}

const ICONS: Record<State, string> = {
  starting: '$(loading~spin)',
  idle: '$(circle-outline)',
  loading: '$(loading~spin)',
  ready: '$(sparkle)',
  error: '$(error)',
  stopped: '$(debug-stop)',
};

/** The status bar text: icon, model, and the state or last latency. */
export function statusText(status: Status): string {
  const model = modelLabel(status.model);
  const head = `${ICONS[status.state]} lspilot${model ? ` ${model}` : ''}`;
  if (status.state === 'ready') {
    return status.latencyMs != null ? `${head} · ${Math.round(status.latencyMs)} ms` : head;
  }
  return `${head} · ${status.state}`;
}

/** The tooltip: every known field, one per line. */
export function statusTooltip(status: Status): string {
  const lines = [`lspilot: ${status.state}`];
  if (status.model) lines.push(`model: ${status.model}`);
  if (status.backend) lines.push(`backend: ${status.backend}`);
  if (status.template) lines.push(`template: ${status.template}`);
  if (status.latencyMs != null) lines.push(`last completion: ${Math.round(status.latencyMs)} ms`);
  if (status.tokensPerSecond != null) {
    lines.push(`speed: ${status.tokensPerSecond.toFixed(1)} tokens/s`);
  }
  if (status.message) lines.push(status.message);
  lines.push('Click to select a model.');
  return lines.join('\n');
}

/** Fold a `$/progress` payload from the model load into the status (the fallback signal). */
export function fromProgress(
  status: Status,
  progress: { kind: string; title?: string; message?: string; percentage?: number },
): Status {
  if (progress.kind === 'begin') {
    const model = progress.title?.replace(/^lspilot: /, '') || status.model;
    return { ...status, state: 'loading', model, message: progress.message ?? null };
  }
  if (progress.kind === 'report') {
    const pct = progress.percentage != null ? ` ${progress.percentage}%` : '';
    return { ...status, state: 'loading', message: `${progress.message ?? ''}${pct}`.trim() };
  }
  // The server ends the load with "MODEL ready (TEMPLATE)" or "MODEL failed".
  const message = progress.message ?? '';
  if (/ failed$/.test(message)) {
    return { ...status, state: 'error', message };
  }
  const ready = /^(.*) ready \((.*)\)$/.exec(message);
  if (ready) {
    return { ...status, state: 'ready', model: ready[1], template: ready[2], message: null };
  }
  return status;
}

const EDIT_ICONS: Record<string, string> = {
  loading: '$(loading~spin)',
  error: '$(error)',
};

/** The edit model's status bar text: its name, and its state unless idle or ready. */
export function editStatusText(status: Status): string {
  const state = status.editState ?? 'idle';
  const model = modelLabel(status.editModel ?? undefined) || 'none';
  const head = `${EDIT_ICONS[state] ?? '$(edit)'} edit: ${model}`;
  return state === 'idle' || state === 'ready' ? head : `${head} · ${state}`;
}

/** The edit model's tooltip. */
export function editStatusTooltip(status: Status): string {
  const state = status.editState ?? 'idle';
  const lines = [`lspilot edit model: ${status.editModel || 'none'}`,
    state === 'idle' ? 'loads on the first edit' : `state: ${state}`,
    'Click to select the edit model.'];
  return lines.join('\n');
}
