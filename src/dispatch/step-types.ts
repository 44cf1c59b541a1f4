import type { Entry } from '../entry.js';
import type { LogPosition } from '../snapshot-reader.js';

export interface PartitionRef {
  namespace: string;
  target: string;
  partition: number;
}

export interface CursorState {
  position: LogPosition;
  /** Consecutive failures of the whole batch offered (while probing: of the one entry offered). */
  failures: number;
  retryAt: Date | null;
  /**
   * Set while probing a batch that kept failing: the id of the last log entry it read ('0' if none). One
   * entry at a time is offered until the log has been read past it.
   */
  probeUntilId: string | null;
}

/** A parked entry: queued behind its key, delayed, waiting for its retry, or blocking its key. */
export interface ParkRecord {
  key: string;
  entry_id: string;
  not_before: Date | null;
  attempts: number;
  blocked: boolean;
  last_error: string | null;
  first_failed_at: Date | null;
}

export interface DeadRecord {
  entry_id: string;
  key: string;
  status: 'dead' | 'blocking';
  attempts: number;
  last_error: string;
  first_failed_at: Date | null;
}

/** Everything one step decided; written atomically by record_step. */
export interface StepOutcome {
  cursor: CursorState;
  delivered: Entry[];
  unpark: string[];
  park: ParkRecord[];
  dead: DeadRecord[];
  retried: Array<{ entry: Entry; attempt: number; error: string; nextAttemptAt: Date }>;
  deadLettered: Array<{ entry: Entry; attempts: number; error: string; blocked: boolean }>;
  /** True when the whole batch failed and the cursor backs off; false when it read less than a batch. */
  batchFailed: boolean;
  /** Entries read or re-offered this step; 0 means the partition is idle. */
  work: number;
  /** The partition had parked entries when the step began (or parks some now): only then can one fall due. */
  hasParked: boolean;
}

/** A parked entry of the partition, read with its parking record, in entry id order. */
export interface ParkedEntry {
  entry: Entry;
  attempts: number;
  firstFailedAt: Date | null;
  /** Its not_before has passed (or it has none). */
  due: boolean;
}

/** What a step read before deciding anything. */
export interface Gathered {
  /** The database clock, for delays and backoff. */
  now: Date;
  /** The partition had parked entries at the step's start. */
  hasParked: boolean;
  /** Parked entries of the keys whose head is due and not blocked, in id order, at most a batch. */
  parked: ParkedEntry[];
  /** The read of the log (none when due parked entries filled the batch). */
  read: { entries: Entry[]; next: LogPosition } | undefined;
  /** For each key read from the log: how many of its entries are parked. */
  parkedPerKey: ReadonlyMap<string, number>;
}

/** What the sink said about the batch offered. */
export type Applied = { ok: true; failed: ReadonlyMap<string, unknown> } | { ok: false; error: unknown };
