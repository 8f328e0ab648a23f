// The model picker's data: the server's model list as quick-pick items. Pure.

export interface ModelList {
  models: { id: string; description: string; cached: boolean }[];
  active: { autocomplete: string; edit: string | null };
}

/** The roles a model serves. */
export type Role = 'autocomplete' | 'edit';

export interface ModelChoice {
  label: string;
  description: string;
  detail?: string;
  id: string;
}

/** One choice per model, once each; the one active in `role` first and marked. */
export function modelChoices(list: ModelList, role: Role = 'autocomplete'): ModelChoice[] {
  const active = list.active[role];
  // The same model may be listed once per role it serves.
  const models = list.models.filter((model, i) =>
    list.models.findIndex((m) => m.id === model.id) === i);
  const choices = models.map((model) => ({
    label: model.id === active ? `$(check) ${model.id}` : model.id,
    description: model.cached ? 'cached' : 'download on first use',
    detail: model.description,
    id: model.id,
  }));
  return choices.sort((a, b) => Number(b.id === active) - Number(a.id === active));
}

/** What the fallback input box accepts: a catalog name (`family:size`) or a .gguf path. */
export function checkModelInput(value: string): string | undefined {
  const text = value.trim();
  if (!text) return 'Type a catalog name (e.g. qwen2.5-coder:0.5b) or the path of a .gguf file.';
  if (text.endsWith('.gguf') || /^[\w.-]+:[\w.-]+$/.test(text)) return undefined;
  return 'Expected a catalog name such as qwen2.5-coder:0.5b, or a path ending in .gguf.';
}
