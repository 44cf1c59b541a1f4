import type { BatchResult, Sink, SinkEntry } from '@walbox/sink-kit';
import type { DescribeSinkOptions, SinkHarness } from './sink-harness.js';

/** What the cases share: the harness and sink made before them, and a namespace per case. */
export interface Suite {
  readonly name: string;
  readonly options: Required<Pick<DescribeSinkOptions, 'convergeTimeoutMs'>> & DescribeSinkOptions;
  harness(): SinkHarness;
  sink(): Sink;
  /** A namespace no other case of this run has written to. */
  fresh(): string;
  /** Applies `batch` (frozen, as the dispatcher passes it) and returns the ids of the entries that failed. */
  applyFailing(batch: SinkEntry[], target?: Sink): Promise<string[]>;
  /** Applies `batch` and expects no entry to fail. */
  apply(batch: SinkEntry[], target?: Sink): Promise<void>;
  read(namespace: string, key: string): Promise<unknown>;
}

export function failedIds(result: void | BatchResult): string[] {
  return (result?.failed ?? []).map((f) => f.id);
}
