import { raisedError } from '../database-errors.js';
import { LeaseLostError } from '../errors.js';
import type { Namespaces } from '../namespaces.js';
import type { Sql } from '../sql/context.js';
import { CursorLease } from './cursor-lease.js';
import type { ResolvedDispatcherConfig } from './dispatcher-config.js';
import { drainStep } from './drain-step.js';
import type { Sink } from './sink.js';
import type { CursorState, PartitionRef, StepOutcome } from './step-types.js';
import { Wakeup } from './wakeup.js';

export type DrainEnd =
  /** Another live dispatcher holds the lease. */
  | { reason: 'busy' }
  /** Nothing to do for a while; wake again at `nextDue` if set. */
  | { reason: 'idle'; nextDue: Date | null }
  /** Ran its time slice with work left: hand over so other partitions and dispatchers get a turn. */
  | { reason: 'yield' }
  | { reason: 'stopped' }
  | { reason: 'lease-lost' };

export interface DrainHooks {
  onStep(ref: PartitionRef, outcome: StepOutcome): void;
  onError(err: unknown, ref: PartitionRef): void;
  /** Whether another partition's drain waits for this one's slot: an idle drain then lets go at once. */
  othersWaiting?(): Promise<boolean>;
}

/**
 * Drains one (namespace, target, partition) while holding its lease: steps until idle, out of time, stopped
 * or the lease is lost; a heartbeat renews the lease meanwhile.
 */
export class PartitionDrain {
  readonly wakeup = new Wakeup();
  readonly #lease: CursorLease;
  /** When this drain last recorded a step (and with it busy_until). */
  #recordedAt = Number.NEGATIVE_INFINITY;
  /** Steps done but not yet recorded (see checkpointMs), oldest first. */
  #unrecorded: StepOutcome[] = [];

  constructor(
    private readonly sql: Sql,
    readonly ref: PartitionRef,
    private readonly owner: string,
    private readonly sink: Sink,
    private readonly namespaces: Namespaces,
    private readonly config: ResolvedDispatcherConfig,
    private readonly hooks: DrainHooks,
  ) {
    this.#lease = new CursorLease(sql, ref, owner, config.leaseMs);
  }

  async run(signal: AbortSignal): Promise<DrainEnd> {
    const state = await this.#lease.acquire();
    if (!state) return { reason: 'busy' };
    const lost = new AbortController();
    const stop = AbortSignal.any([signal, lost.signal]);
    const heartbeat = setInterval(() => {
      this.#lease.renew().then(
        (ok) => {
          if (!ok) lost.abort(new Error('lease lost'));
        },
        (err) => this.hooks.onError(err, this.ref),
      );
    }, this.config.leaseMs / 3);
    let released = false;
    try {
      const end = await this.#loop(state, stop);
      if (lost.signal.aborted) return { reason: 'lease-lost' };
      await this.#flush();
      if (end.reason === 'idle') end.nextDue = await this.#lease.nextDue();
      await this.#lease.release();
      released = true;
      return end;
    } catch (err) {
      // The step saw the lease gone, or record_step refused to write for a holder that is not the owner.
      if (raisedError(err) instanceof LeaseLostError) return { reason: 'lease-lost' };
      throw err;
    } finally {
      clearInterval(heartbeat);
      if (!released && !lost.signal.aborted) await this.#lease.release().catch(() => {});
    }
  }

  async #loop(state: CursorState, stop: AbortSignal): Promise<DrainEnd> {
    const { batchSize, maxDrainMs, idleReleaseMs, pollIntervalMs, applyTimeoutMs } = this.config;
    const deadline = Date.now() + maxDrainMs;
    let cursor = state;
    let lastWork = Date.now();
    while (!stop.aborted) {
      if (Date.now() >= deadline) return { reason: 'yield' };
      if (cursor.retryAt && cursor.retryAt.getTime() > Date.now()) {
        // The target failed the whole batch: back off, then offer the same entries again.
        await this.wakeup.sleep(Math.min(cursor.retryAt.getTime(), deadline) - Date.now(), stop, false);
        continue;
      }
      const ns = await this.namespaces.require(this.ref.namespace, this.sql.db);
      this.wakeup.clear();
      const outcome = await drainStep(
        {
          sql: this.sql,
          sink: this.sink,
          applyTimeoutMs,
          signal: stop,
          owner: this.#lease.surelyHeld ? null : this.owner,
        },
        this.ref,
        ns,
        cursor,
        batchSize,
      );
      if (
        outcome.work > 0 ||
        outcome.batchFailed ||
        cursor.failures !== outcome.cursor.failures ||
        cursor.probeUntilId !== outcome.cursor.probeUntilId
      ) {
        this.#unrecorded.push(outcome);
        // A step that only delivered may wait for the next checkpoint; one that parks, retries, dead-letters
        // or changes the failure state is written at once (with the deliveries before it).
        if (!onlyDelivered(outcome, cursor)) await this.#flush();
      }
      // With checkpointMs 0, every step.
      if (this.#unrecorded.length > 0 && Date.now() - this.#recordedAt >= this.config.checkpointMs) {
        await this.#flush();
      }
      // What the step could offer at most: one entry while probing a failed batch.
      const stepLimit = cursor.probeUntilId !== null ? 1 : batchSize;
      cursor = outcome.cursor;
      if (outcome.work > 0) {
        lastWork = Date.now();
        // A full batch, or a window left open (read up to the limit): more is waiting, step again now.
        // A window that closed short read everything committed before this step's snapshot; a step right
        // away would almost always find nothing (two statements for no entry, half of all steps under a
        // steady stream of commits). Later commits are found by the next busy poll (appends skip NOTIFY for
        // a busy drain), or come with a NOTIFY, which wakes the wait below at once.
        if (outcome.work >= stepLimit || cursor.position.cur !== null) continue;
      } else if (
        // A NOTIFY during the step may name an entry committed after its snapshot: step again first.
        !this.wakeup.woken &&
        !this.#busy() &&
        (Date.now() - lastWork >= idleReleaseMs || (await this.#othersWaiting())) &&
        !(await this.#silentAppendsOpen())
      ) {
        return { reason: 'idle', nextDue: null };
      }
      // Idle: wait for a NOTIFY-driven wake-up, the poll interval, or the next parked entry falling due.
      // Without parked entries there is nothing to fall due: skip the query (one in four of an idle step's
      // statements). One parked meanwhile by a replay or redrive comes with a NOTIFY, or the next poll.
      const due = outcome.hasParked ? await this.#lease.nextDue() : null;
      const untilDue = due ? Math.max(0, due.getTime() - Date.now()) : Number.POSITIVE_INFINITY;
      const everyMs = this.#busy() ? this.config.busyPollMs : pollIntervalMs;
      // Wake when the drain may give its partition up; once past that (kept busy), at the poll interval.
      const untilIdle = Math.max(lastWork + idleReleaseMs - Date.now(), 0) || everyMs;
      await this.wakeup.sleep(Math.min(everyMs, untilDue, untilIdle, deadline - Date.now()), stop);
      // Woken by a NOTIFY: linger a moment so that entries committing right behind it share the batch
      // (under many single-entry producers, a batch per entry costs several statements per entry).
      if (this.wakeup.woken && this.config.wakeupBatchMs > 0) {
        await this.wakeup.sleep(this.config.wakeupBatchMs, stop, false);
      }
    }
    return { reason: 'stopped' };
  }

  /**
   * Busy ms written with each record: appends skip NOTIFY for this partition until then (0: they do not).
   * Records of a drain that keeps delivering come up to checkpointMs apart, so busy_until reaches that much
   * further.
   */
  get #busyMs(): number {
    const { wakeup, busyMs, checkpointMs } = this.config;
    return wakeup === 'listen' && busyMs > 0 ? busyMs + checkpointMs : 0;
  }

  /**
   * Appends may have skipped NOTIFY for this partition: poll it every busyPollMs. Until busy_until lapses
   * (busyMs after the last recorded step), plus two polls for an append that read busy_until just before.
   */
  #busy(): boolean {
    const ms = this.#busyMs;
    return ms > 0 && Date.now() - this.#recordedAt < ms + 2 * this.config.busyPollMs;
  }

  /** Another partition's drain waits for this slot; a failed check is reported and counts as no. */
  async #othersWaiting(): Promise<boolean> {
    try {
      return (await this.hooks.othersWaiting?.()) === true;
    } catch (err) {
      this.hooks.onError(err, this.ref);
      return false;
    }
  }

  /**
   * Whether an append that skipped NOTIFY while this drain was busy may still commit: one of the namespace's
   * appends is in flight. Asked only once busy_until has lapsed (no append can skip any more) and only by a
   * drain that was busy; while true the drain keeps its partition, polling every pollIntervalMs.
   */
  async #silentAppendsOpen(): Promise<boolean> {
    if (this.#recordedAt === Number.NEGATIVE_INFINITY || this.#busyMs === 0) return false;
    const { rows } = await this.sql.db.query<{ open: boolean }>(
      `select ${this.sql.schema}.appends_in_flight($1) as open`,
      [this.ref.namespace],
    );
    return rows[0]?.open === true;
  }

  /**
   * Writes the steps not yet recorded, as one: the last one's position, failure state, parked and dead
   * entries (only the last can have any: a step with them is written at once) and the sum of the deliveries;
   * then emits each step's events, in order. Throws, and the steps stay unwritten, when the lease is lost: the
   * next holder delivers their entries again.
   */
  async #flush(): Promise<void> {
    const steps = this.#unrecorded;
    if (steps.length === 0) return;
    const last = steps.at(-1)!;
    const delivered = steps.reduce((n, o) => n + o.delivered.length, 0);
    await this.#record(last, delivered);
    this.#unrecorded = [];
    for (const o of steps) this.hooks.onStep(this.ref, o);
  }

  async #record(o: StepOutcome, delivered: number): Promise<void> {
    const began = performance.now();
    await this.sql.db.query(
      `select ${this.sql.schema}.record_step($1::json)`,
      [
        JSON.stringify({
          ...this.ref,
          owner: this.owner,
          lease_ms: this.config.leaseMs,
          busy_ms: this.#busyMs,
          prev: o.cursor.position.prev,
          cur: o.cursor.position.cur,
          after_id: o.cursor.position.afterId,
          failures: o.cursor.failures,
          retry_at: o.cursor.retryAt,
          probe_until_id: o.cursor.probeUntilId,
          delivered,
          unpark: o.unpark,
          park: o.park,
          dead: o.dead,
        }),
      ],
      { prepare: true },
    );
    this.#recordedAt = Date.now();
    this.#lease.extended(began); // record_step extends the lease too
  }
}

/** A step that delivered entries and changed nothing else: no parked or dead entries, no failure state. */
function onlyDelivered(o: StepOutcome, before: CursorState): boolean {
  return (
    !o.batchFailed &&
    o.park.length === 0 &&
    o.unpark.length === 0 &&
    o.dead.length === 0 &&
    o.retried.length === 0 &&
    o.deadLettered.length === 0 &&
    o.cursor.failures === before.failures &&
    o.cursor.probeUntilId === before.probeUntilId &&
    o.cursor.retryAt === null
  );
}
