import type { Entry, EntryRow } from '../entry.js';
import { ENTRY_COLUMNS, entryFromRow } from '../entry.js';
import type { Queryable } from '../executor.js';
import type { NamespaceConfig } from '../namespace-config.js';
import { type LogPosition, readBatch } from '../snapshot-reader.js';
import { backoffMs } from './backoff.js';
import type { BatchResult, Sink } from './sink.js';
import { startStep } from './step-start.js';

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

interface ParkedRow extends EntryRow {
  parked_key: string;
  entry_id: string;
  not_before: Date | null;
  attempts: number;
  first_failed_at: Date | null;
  due: boolean;
}

export interface StepDeps {
  db: Queryable;
  /** Quoted schema. */
  schema: string;
  sink: Sink;
  applyTimeoutMs: number;
  signal: AbortSignal;
  /** The lease holder's id: a step offers nothing to the sink unless this lease is still live. */
  owner: string;
}

/** Thrown when the drain lease lapsed (another dispatcher may hold it now); same code as record_step's. */
export class LeaseLostError extends Error {
  readonly code = 'WB010';
}

/**
 * One drain step of a (namespace, target, partition) whose lease the caller holds: offer the sink the due
 * parked entries and the next window of the log, in log order per key, and decide what happens to each.
 * Pure decisions plus reads; the caller persists the outcome with record_step.
 */
export async function drainStep(
  deps: StepDeps,
  ref: PartitionRef,
  ns: NamespaceConfig,
  cursor: CursorState,
  batchSize: number,
): Promise<StepOutcome> {
  const { db, schema } = deps;
  // After the retry budget of a whole-batch failure is spent, probe one entry at a time, until every entry
  // of the failed batch has gone alone: the one that still fails alone is the one that exhausts its retries.
  const probing = cursor.probeUntilId !== null;
  const limit = probing ? 1 : batchSize;
  // The clock, a snapshot, the lease check and, when nothing is parked, the read itself: one statement.
  const first = await startStep(db, schema, ref, deps.owner, cursor.position, limit);
  const { now, snap, hasParked, held } = first;
  if (!held)
    throw new LeaseLostError(`drain lease of ${ref.namespace}/${ref.target}/${ref.partition} lapsed`);
  const start: LogPosition = { ...cursor.position, cur: cursor.position.cur ?? snap };

  const { rows: parkedRows } = !hasParked
    ? { rows: [] as ParkedRow[] }
    : await db.query<ParkedRow>(
        `select ${ENTRY_COLUMNS}, p.key as parked_key, p.entry_id::text, p.not_before, p.attempts, p.first_failed_at,
            (p.not_before is null or p.not_before <= $4) as due
       from ${schema}.parked p
       join ${schema}.entries e on e.id = p.entry_id
      where p.namespace = $1 and p.target = $2 and p.partition = $3
        and p.key in (select h.key from (
              select distinct on (key) key, not_before, blocked from ${schema}.parked
               where namespace = $1 and target = $2 and partition = $3
               order by key, entry_id) h
             where not h.blocked and (h.not_before is null or h.not_before <= $4))
      order by p.entry_id
      limit $5`,
        [ref.namespace, ref.target, ref.partition, now, limit],
        { prepare: true },
      );

  const deliver: Entry[] = [];
  const fromParked = new Map<string, ParkedRow>();
  const stuck = new Set<string>(); // keys whose next entry may not go out this step
  const offeredFromParked = new Map<string, number>();
  for (const row of parkedRows) {
    const key = row.parked_key;
    if (stuck.has(key) || !row.due) {
      stuck.add(key);
      continue;
    }
    deliver.push(entryFromRow(row));
    fromParked.set(row.entry_id, row);
    offeredFromParked.set(key, (offeredFromParked.get(key) ?? 0) + 1);
  }

  const park: ParkRecord[] = [];
  const parkBehind = (e: Entry, notBefore: Date | null = null) =>
    park.push({
      key: e.key,
      entry_id: e.id,
      not_before: notBefore,
      attempts: 0,
      blocked: false,
      last_error: null,
      first_failed_at: null,
    });

  let position = cursor.position;
  let readCount = 0;
  let probeUntilId = cursor.probeUntilId;
  // The last log entry this step read ('0' if none): where a probe of this batch would end.
  let readUntilId = '0';
  if (deliver.length < limit) {
    // Read with the first statement when nothing was parked (then nothing was delivered from parked either).
    const read = first.read ?? (await readBatch(db, schema, ref, start, limit - deliver.length, ref.target));
    position = read.next;
    readCount = read.entries.length;
    readUntilId = read.entries.at(-1)?.id ?? '0';
    // Due parked entries go first, so by the time a probe reads the log every parked entry of the failed
    // batch has gone alone. Log entries are read in id order within the window, which holds every log entry
    // of the failed batch (its snapshot, or a newer one if the window was not yet open): reading one past
    // the last of them, or to the window's end, passes the batch.
    if (probing && (readCount === 0 || BigInt(readUntilId) >= BigInt(cursor.probeUntilId!))) {
      probeUntilId = null;
    }
    const keys = [...new Set(read.entries.map((e) => e.key))];
    const parkedCounts = new Map<string, number>();
    if (hasParked && keys.length > 0) {
      const { rows } = await db.query<{ key: string; n: number }>(
        `select key, count(*)::int as n from ${schema}.parked
          where namespace = $1 and target = $2 and partition = $3 and key = any($4::text[])
          group by key`,
        [ref.namespace, ref.target, ref.partition, keys],
        { prepare: true },
      );
      for (const r of rows) parkedCounts.set(r.key, r.n);
    }
    for (const e of read.entries) {
      const waiting = (parkedCounts.get(e.key) ?? 0) > (offeredFromParked.get(e.key) ?? 0);
      if (stuck.has(e.key) || waiting) {
        parkBehind(e, e.deliverAt); // queued behind its key, and still not before its own deliver time
        stuck.add(e.key);
      } else if (e.deliverAt && e.deliverAt > now) {
        parkBehind(e, e.deliverAt);
        stuck.add(e.key);
      } else {
        deliver.push(e);
      }
    }
  }

  // While probing, the failures of the entry offered alone. Above the limit they are the whole batch's,
  // just spent: they do not count, each entry alone gets the whole retry budget.
  const priorFailures = probing && cursor.failures > ns.retry.limit ? 0 : cursor.failures;
  const outcome: StepOutcome = {
    cursor: { position, failures: 0, retryAt: null, probeUntilId },
    delivered: [],
    unpark: [],
    park,
    dead: [],
    retried: [],
    deadLettered: [],
    batchFailed: false,
    work: deliver.length + readCount,
    hasParked: hasParked || park.length > 0,
  };
  if (deliver.length === 0) return outcome;

  let result: void | BatchResult;
  try {
    result = await applyWithTimeout(deps, ref, deliver);
  } catch (err) {
    if (deps.signal.aborted) {
      // Stopping, not failing: record nothing, so the next holder offers the same entries without backoff.
      return { ...outcome, cursor, park: [], work: 0 };
    }
    const failures = priorFailures + 1;
    // A probe is retried alone, as a batch of one, until its entry's retries are spent.
    const spent = probing && (fromParked.get(deliver[0]!.id)?.attempts ?? 0) + failures > ns.retry.limit;
    if (!spent) {
      // The target is down or rejects the batch: nothing moves; the same entries are offered again later.
      // Once the retry budget of a whole batch is spent, it is probed, up to the last log entry it read.
      const startProbe = !probing && failures > ns.retry.limit;
      return {
        ...outcome,
        cursor: {
          position: cursor.position,
          failures,
          retryAt: new Date(now.getTime() + backoffMs(ns.retry, failures)),
          probeUntilId: startProbe ? readUntilId : cursor.probeUntilId,
        },
        park: [],
        batchFailed: true,
        work: deliver.length,
      };
    }
    result = { failed: [{ id: deliver[0]!.id, error: err }] };
    // Its retries spent, the probe is dead-lettered below. Wait once more before the next probe: if the
    // whole target is down, probing then gives up on entries no faster than failing batches used to
    // (one per limit + 1 backoffs).
    outcome.cursor.retryAt = new Date(now.getTime() + backoffMs(ns.retry, failures));
  }

  const failedById = new Map((result?.failed ?? []).map((f) => [f.id, f.error]));
  const failedKeys = new Set<string>();
  for (const e of deliver) {
    const parked = fromParked.get(e.id);
    if (failedKeys.has(e.key)) {
      // Behind a failed entry of its key: offered again after it, whatever the sink said.
      if (!parked) parkBehind(e);
      continue;
    }
    const error = failedById.get(e.id);
    if (error === undefined && !failedById.has(e.id)) {
      outcome.delivered.push(e);
      if (parked) outcome.unpark.push(e.id);
      continue;
    }
    failedKeys.add(e.key);
    const message = describe(error);
    const attempts = (parked?.attempts ?? 0) + (probing ? priorFailures : 0) + 1;
    const firstFailedAt = parked?.first_failed_at ?? now;
    if (attempts > ns.retry.limit) {
      const blocked = ns.onExhausted === 'block';
      outcome.dead.push({
        entry_id: e.id,
        key: e.key,
        status: blocked ? 'blocking' : 'dead',
        attempts,
        last_error: message,
        first_failed_at: firstFailedAt,
      });
      outcome.deadLettered.push({ entry: e, attempts, error: message, blocked });
      if (blocked) {
        park.push({
          key: e.key,
          entry_id: e.id,
          not_before: null,
          attempts,
          blocked: true,
          last_error: message,
          first_failed_at: firstFailedAt,
        });
      }
    } else {
      const nextAttemptAt = new Date(now.getTime() + backoffMs(ns.retry, attempts));
      park.push({
        key: e.key,
        entry_id: e.id,
        not_before: nextAttemptAt,
        attempts,
        blocked: false,
        last_error: message,
        first_failed_at: firstFailedAt,
      });
      outcome.retried.push({ entry: e, attempt: attempts, error: message, nextAttemptAt });
    }
  }
  return outcome;
}

async function applyWithTimeout(
  deps: StepDeps,
  ref: PartitionRef,
  batch: Entry[],
): Promise<void | BatchResult> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(deps.signal.reason);
  deps.signal.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      deps.sink.apply(Object.freeze(batch), { ...ref, signal: controller.signal }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const err = new Error(
            `sink "${ref.target}" did not finish a batch within ${deps.applyTimeoutMs} ms`,
          );
          controller.abort(err);
          reject(err);
        }, deps.applyTimeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    deps.signal.removeEventListener('abort', onAbort);
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 4000);
  return String(error).slice(0, 4000);
}
