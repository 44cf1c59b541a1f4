/** What an append listener hears: the schema appended to, and each entry's namespace. */
export type AppendListener = (
  schema: string,
  entries: ReadonlyArray<{ namespace: string; duplicate: boolean }>,
) => void;

const listeners = new Set<AppendListener>();

/**
 * Calls `listener` after each append statement of this process returns (before the caller's transaction
 * commits: a rolled-back append was heard too). For the appended-entries counter; returns the unsubscribe.
 */
export function onAppended(listener: AppendListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function notifyAppended(
  schema: string,
  entries: ReadonlyArray<{ namespace: string; duplicate: boolean }>,
): void {
  for (const listener of listeners) {
    try {
      listener(schema, entries);
    } catch {
      // A metrics listener must never fail an append.
    }
  }
}
