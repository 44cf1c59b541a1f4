import type { Entry } from '../entry.js';
import type { NamespaceConfig } from '../namespace-config.js';
import type { LogPosition } from '../snapshot-reader.js';
import { backoffMs } from './backoff.js';
import { describeValue } from './sink-errors.js';
import type { Applied, CursorState, Gathered, ParkedEntry, ParkRecord, StepOutcome } from './step-types.js';

/**
 * The decisions of a drain step, apart from its reads and writes (gather, decide, act): what to offer the
 * sink, and what becomes of each entry once it answered. Pure: tested without a database (step-judge.test.ts).
 */

/** The due parked entries a step offers first: per key, in id order, up to the first one not due. */
export interface ParkedOffer {
  deliver: Entry[];
  /** The parked entries offered, by entry id. */
  fromParked: Map<string, ParkedEntry>;
  /** Keys whose next entry may not go out this step. */
  stuck: Set<string>;
  /** How many entries of each key the offer takes from the parked ones. */
  offeredPerKey: Map<string, number>;
}

export function offerParked(parked: readonly ParkedEntry[]): ParkedOffer {
  const offer: ParkedOffer = {
    deliver: [],
    fromParked: new Map(),
    stuck: new Set(),
    offeredPerKey: new Map(),
  };
  for (const p of parked) {
    const key = p.entry.key;
    if (offer.stuck.has(key) || !p.due) {
      offer.stuck.add(key);
      continue;
    }
    offer.deliver.push(p.entry);
    offer.fromParked.set(p.entry.id, p);
    offer.offeredPerKey.set(key, (offer.offeredPerKey.get(key) ?? 0) + 1);
  }
  return offer;
}

/** What a step offers the sink, and what it parks without offering. */
export interface StepPlan {
  deliver: Entry[];
  fromParked: Map<string, ParkedEntry>;
  /** Entries read from the log that wait: behind a parked entry of their key, or until their deliver time. */
  park: ParkRecord[];
  /** The log position after this step's read. */
  position: LogPosition;
  readCount: number;
  /** The last log entry this step read ('0' if none): where a probe of this batch would end. */
  readUntilId: string;
  probeUntilId: string | null;
}

/**
 * Due parked entries go first, so by the time a probe reads the log every parked entry of the failed batch
 * has gone alone. Log entries are read in id order within the window, which holds every log entry of the
 * failed batch (its snapshot, or a newer one if the window was not yet open): reading one past the last of
 * them, or to the window's end, passes the batch and ends the probe.
 */
export function planStep(g: Gathered, cursor: CursorState): StepPlan {
  const offer = offerParked(g.parked);
  const plan: StepPlan = {
    deliver: offer.deliver,
    fromParked: offer.fromParked,
    park: [],
    position: cursor.position,
    readCount: 0,
    readUntilId: '0',
    probeUntilId: cursor.probeUntilId,
  };
  if (!g.read) return plan;
  const { entries, next } = g.read;
  plan.position = next;
  plan.readCount = entries.length;
  plan.readUntilId = entries.at(-1)?.id ?? '0';
  if (
    cursor.probeUntilId !== null &&
    (entries.length === 0 || BigInt(plan.readUntilId) >= BigInt(cursor.probeUntilId))
  ) {
    plan.probeUntilId = null;
  }
  for (const e of entries) {
    const waiting = (g.parkedPerKey.get(e.key) ?? 0) > (offer.offeredPerKey.get(e.key) ?? 0);
    if (offer.stuck.has(e.key) || waiting || (e.deliverAt && e.deliverAt > g.now)) {
      // Queued behind its key, and still not before its own deliver time.
      plan.park.push(parkRecord(e, e.deliverAt));
      offer.stuck.add(e.key);
    } else {
      plan.deliver.push(e);
    }
  }
  return plan;
}

export interface JudgeInput {
  gathered: Gathered;
  plan: StepPlan;
  cursor: CursorState;
  retry: NamespaceConfig['retry'];
  onExhausted: NamespaceConfig['onExhausted'];
  /** What the sink said; undefined when nothing was offered. */
  applied: Applied | undefined;
  random?: () => number;
}

/**
 * What becomes of each entry offered. A whole-batch failure moves nothing and backs off; once its retry
 * budget is spent the batch is probed one entry at a time, so the entry that still fails alone is the one
 * that uses up its own retries. A failed entry is retried later (parked with a backoff) or, its retries spent,
 * dead-lettered (and, with onExhausted 'block', keeps blocking its key); later entries of its key wait behind
 * it whatever the sink said of them.
 */
export function judgeStep(input: JudgeInput): StepOutcome {
  const { gathered: g, plan, cursor, retry, applied } = input;
  const random = input.random ?? Math.random;
  const probing = cursor.probeUntilId !== null;
  const backoffUntil = (attempt: number) => new Date(g.now.getTime() + backoffMs(retry, attempt, random));
  // While probing, the failures of the entry offered alone. Above the limit they are the whole batch's,
  // just spent: they do not count, each entry alone gets the whole retry budget.
  const priorFailures = probing && cursor.failures > retry.limit ? 0 : cursor.failures;
  const park = [...plan.park];
  const outcome: StepOutcome = {
    cursor: { position: plan.position, failures: 0, retryAt: null, probeUntilId: plan.probeUntilId },
    delivered: [],
    unpark: [],
    park,
    dead: [],
    retried: [],
    deadLettered: [],
    batchFailed: false,
    work: plan.deliver.length + plan.readCount,
    hasParked: g.hasParked || park.length > 0,
  };
  if (!applied || plan.deliver.length === 0) return outcome;

  let failed = applied.ok ? applied.failed : undefined;
  if (!applied.ok) {
    const failures = priorFailures + 1;
    const first = plan.deliver[0]!;
    // A probe is retried alone, as a batch of one, until its entry's retries are spent.
    const spent = probing && (plan.fromParked.get(first.id)?.attempts ?? 0) + failures > retry.limit;
    if (!spent) {
      // The target is down or rejects the batch: nothing moves; the same entries are offered again later.
      // Once the retry budget of a whole batch is spent, it is probed, up to the last log entry it read.
      const startProbe = !probing && failures > retry.limit;
      return {
        ...outcome,
        cursor: {
          position: cursor.position,
          failures,
          retryAt: backoffUntil(failures),
          probeUntilId: startProbe ? plan.readUntilId : cursor.probeUntilId,
        },
        park: [],
        batchFailed: true,
        work: plan.deliver.length,
        hasParked: g.hasParked,
      };
    }
    failed = new Map([[first.id, applied.error]]);
    // Its retries spent, the probe is dead-lettered below. Wait once more before the next probe: if the
    // whole target is down, probing then gives up on entries no faster than failing batches used to
    // (one per limit + 1 backoffs).
    outcome.cursor.retryAt = backoffUntil(failures);
  }

  const failedKeys = new Set<string>();
  for (const e of plan.deliver) {
    const parked = plan.fromParked.get(e.id);
    if (failedKeys.has(e.key)) {
      // Behind a failed entry of its key: offered again after it, whatever the sink said.
      if (!parked) park.push(parkRecord(e, null));
      continue;
    }
    if (!failed?.has(e.id)) {
      outcome.delivered.push(e);
      if (parked) outcome.unpark.push(e.id);
      continue;
    }
    failedKeys.add(e.key);
    const message = describe(failed.get(e.id));
    const attempts = (parked?.attempts ?? 0) + (probing ? priorFailures : 0) + 1;
    const firstFailedAt = parked?.firstFailedAt ?? g.now;
    const failure = { last_error: message, first_failed_at: firstFailedAt, attempts };
    if (attempts > retry.limit) {
      const blocked = input.onExhausted === 'block';
      outcome.dead.push({ entry_id: e.id, key: e.key, status: blocked ? 'blocking' : 'dead', ...failure });
      outcome.deadLettered.push({ entry: e, attempts, error: message, blocked });
      if (blocked) park.push({ key: e.key, entry_id: e.id, not_before: null, blocked: true, ...failure });
    } else {
      const nextAttemptAt = backoffUntil(attempts);
      park.push({ key: e.key, entry_id: e.id, not_before: nextAttemptAt, blocked: false, ...failure });
      outcome.retried.push({ entry: e, attempt: attempts, error: message, nextAttemptAt });
    }
  }
  outcome.hasParked = g.hasParked || park.length > 0;
  return outcome;
}

function parkRecord(e: Entry, notBefore: Date | null): ParkRecord {
  return {
    key: e.key,
    entry_id: e.id,
    not_before: notBefore,
    attempts: 0,
    blocked: false,
    last_error: null,
    first_failed_at: null,
  };
}

/** At most 4,000 characters, and never a throw, whatever the sink's error is (see describeValue). */
function describe(error: unknown): string {
  return describeValue(error);
}
