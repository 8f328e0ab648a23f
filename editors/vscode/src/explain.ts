/** The context part of `lspilot.explainCompletion`, for the Show Prompt view. */

interface Snippet {
  source: string; path: string; lines: [number, number]; score: number; reason: string;
  tokens: number; included: boolean;
}

/** The context snippets offered for the prompt, as a Markdown table (what went in first). */
export function contextTable(context: unknown): string[] {
  if (!context || typeof context !== 'object') {
    return ['## Context', '', 'None: the file\'s own text only.', ''];
  }
  const { snippets = [], leftOut = [], gatherMs } = context as {
    snippets?: Snippet[]; leftOut?: Snippet[]; gatherMs?: number;
  };
  const rows = [...snippets, ...leftOut].map((s) =>
    `| ${s.included ? 'in' : 'out'} | ${s.score.toFixed(2)} | ${s.source} | ` +
    `${s.path}:${s.lines[0]}-${s.lines[1]} | ${s.tokens} | ${s.reason.replace(/\|/g, '\\|')} |`);
  return ['## Context', '', `Gathered in ${gatherMs ?? 0} ms.`, '',
    '| | score | source | where | tokens | why |', '|---|---|---|---|---|---|', ...rows, ''];
}
