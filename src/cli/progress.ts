import type { ChunkedOptions } from '../chunked-work.js';
import { Progress } from '../observability/progress.js';
import { type Output, terminalSafe } from './output.js';

/**
 * The progress of a chunked action on stderr (stdout keeps the result): a live line on a terminal, a line
 * every 5 s and the final one on a pipe, NDJSON with --json; nothing with --no-progress. `run` hands the
 * action its onProgress; the progress line is drawn once the action has counted its total.
 */
export async function withProgress<T>(
  out: Output,
  label: string,
  enabled: boolean,
  run: (onProgress: ChunkedOptions['onProgress']) => Promise<T>,
): Promise<T> {
  if (!enabled) return run(undefined);
  let progress: Progress | undefined;
  let done = 0;
  try {
    const result = await run((n, total) => {
      progress ??= new Progress({ label: terminalSafe(label), total, json: out.json });
      done = n;
      progress.update(n);
    });
    progress?.finish(done);
    return result;
  } catch (err) {
    progress?.abandon();
    throw err;
  }
}
