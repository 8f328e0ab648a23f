// Contributed settings -> the server's settings object. Pure, so node's test runner covers it.

/** Keys under `lspilot.server.` configure the client (how to start the server); never sent. */
export const CLIENT_ONLY_PREFIX = 'lspilot.server.';

/** Other settings of the client alone (the server would call them unknown). */
export const CLIENT_ONLY_KEYS: readonly string[] = ['lspilot.edit.preview'];

/** Whether a contributed setting stays in the client. */
export function clientOnly(key: string): boolean {
  return key.startsWith(CLIENT_ONLY_PREFIX) || CLIENT_ONLY_KEYS.includes(key);
}

/** The nested settings object the server reads (`{"models": {"autocomplete": ...}, ...}`). */
export function serverSettings(
  keys: readonly string[],
  get: (key: string) => unknown,
): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const key of keys) {
    if (!key.startsWith('lspilot.') || clientOnly(key)) {
      continue;
    }
    const value = get(key.slice('lspilot.'.length));
    if (value === undefined) {
      continue;
    }
    const path = key.slice('lspilot.'.length).split('.');
    let node = settings;
    for (const part of path.slice(0, -1)) {
      node = (node[part] ??= {}) as Record<string, unknown>;
    }
    node[path[path.length - 1]] = value;
  }
  return settings;
}
