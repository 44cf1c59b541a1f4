import type { EventEmitter } from 'node:events';
import type { Entry } from '../entry.js';
import type { PartitionRef, StepOutcome } from './step-types.js';

export interface DispatcherEvents {
  delivered: [{ namespace: string; target: string; partition: number; entries: readonly Entry[] }];
  retried: [{ target: string; entry: Entry; attempt: number; error: string; nextAttemptAt: Date }];
  'dead-lettered': [{ target: string; entry: Entry; attempts: number; error: string; blocked: boolean }];
  'batch-failed': [{ namespace: string; target: string; partition: number; failures: number; retryAt: Date }];
  /** A lease this process held lapsed (a slow heartbeat, a pause) and another dispatcher took the partition over. */
  'lease-lost': [PartitionRef];
  error: [Error];
  started: [];
  stopped: [];
}

/** Emits what one drain step did: its deliveries, retries, dead letters and a whole-batch failure. */
export function emitStep(events: EventEmitter<DispatcherEvents>, ref: PartitionRef, o: StepOutcome): void {
  if (o.delivered.length > 0) events.emit('delivered', { ...ref, entries: o.delivered });
  for (const r of o.retried) events.emit('retried', { target: ref.target, ...r });
  for (const d of o.deadLettered) events.emit('dead-lettered', { target: ref.target, ...d });
  if (o.batchFailed && o.cursor.retryAt) {
    events.emit('batch-failed', { ...ref, failures: o.cursor.failures, retryAt: o.cursor.retryAt });
  }
}
