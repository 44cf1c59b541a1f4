import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { Job } from '../src/index.js';
import { isolatedWalbox } from './support/db.js';
import { FAST, stopAfterEach } from './support/dispatchers.js';
import { until } from './support/recording-sink.js';

const { pool, walbox, schema } = await isolatedWalbox('jobs');
const running = stopAfterEach();
const RETRY = { limit: 5, initialDelayMs: 50, maxDelayMs: 200, multiplier: 2 };

async function inTransaction<T>(fn: (c: pg.PoolClient) => Promise<T>, end: 'commit' | 'rollback' = 'commit') {
  const c = await pool.connect();
  try {
    await c.query('begin');
    const r = await fn(c);
    await c.query(end);
    return r;
  } finally {
    c.release();
  }
}

/** A queue with a running dispatcher whose handler records each run (and, by the database clock, when). */
async function startQueue(
  name: string,
  handler?: (job: Job) => Promise<unknown> | void,
  options: { retry?: typeof RETRY; claimWaitMs?: number } = {},
) {
  const queue = walbox.jobs(name, { retry: options.retry ?? RETRY, partitions: 2 });
  await queue.ensure();
  const runs: Array<{ id: string; payload: unknown; at: number; runAt: number }> = [];
  const sink = queue.sink(
    async (job) => {
      await handler?.(job);
      runs.push({ id: job.id, payload: job.payload, at: Date.now(), runAt: job.runAt.getTime() });
    },
    { claimWaitMs: options.claimWaitMs },
  );
  const d = walbox.dispatcher({ sinks: { [queue.namespace]: sink }, ...FAST });
  running.push(d);
  await d.start();
  return { queue, runs };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const later = (ms: number) => new Date(Date.now() + ms);

/** No job ran before its run_at, by the database clock (started_at and run_at are both Postgres's). */
async function assertNeverEarly(queue: string) {
  const { rows } = await pool.query(
    `select id from "${schema}".jobs where queue = $1 and started_at < run_at`,
    [queue],
  );
  expect(rows, 'jobs started before their run_at').toEqual([]);
}

describe('delayed jobs', () => {
  it('runs a committed job once, at or after its time; a rolled-back schedule never exists', async () => {
    const { queue, runs } = await startQueue('basic');
    const id = await inTransaction((c) => queue.schedule(c, { payload: { n: 1 }, delay: { ms: 400 } }));
    const gone = await inTransaction((c) => queue.schedule(c, { payload: { n: 2 } }), 'rollback');
    expect((await queue.get(id))?.state).toBe('scheduled');
    await until(() => runs.length === 1, 20_000, 'the job to run');
    expect(runs[0]).toMatchObject({ id, payload: { n: 1 } });
    expect(runs[0]!.at).toBeGreaterThanOrEqual(runs[0]!.runAt);
    await until(async () => (await queue.get(id))?.state === 'succeeded', 5000, 'succeeded');
    await sleep(300);
    expect(runs).toHaveLength(1);
    expect(await queue.get(gone)).toBeUndefined();
    await assertNeverEarly('basic');
  });

  it('cancels in committed and rolled-back transactions', async () => {
    const { queue, runs } = await startQueue('cancel');
    const [a, b] = await inTransaction(async (c) => [
      await queue.schedule(c, { payload: 'a', delay: { ms: 600 } }),
      await queue.schedule(c, { payload: 'b', delay: { ms: 600 } }),
    ]);
    expect(await inTransaction((c) => queue.cancel(c, a!))).toBe(true);
    expect(await inTransaction((c) => queue.cancel(c, b!), 'rollback')).toBe(true);
    await until(() => runs.length === 1, 20_000, 'b to run');
    expect(runs.map((r) => r.payload)).toEqual(['b']);
    await sleep(500);
    expect(runs).toHaveLength(1);
    expect((await queue.get(a!))?.state).toBe('cancelled');
    expect(await inTransaction((c) => queue.cancel(c, b!)), 'too late: it ran').toBe(false);
    expect(await inTransaction((c) => queue.cancel(c, a!)), 'cancelled once').toBe(false);
  });

  it('reschedules earlier and later, committed and rolled back; stale entries are skipped', async () => {
    const { queue, runs } = await startQueue('reschedule');
    const [early, late, back] = await inTransaction(async (c) => [
      await queue.schedule(c, { payload: 'earlier', runAt: later(60_000) }),
      await queue.schedule(c, { payload: 'later', runAt: later(300) }),
      await queue.schedule(c, { payload: 'rolled-back', runAt: later(60_000) }),
    ]);
    expect(await inTransaction((c) => queue.reschedule(c, early!, later(300)))).toBe(true);
    expect(await inTransaction((c) => queue.reschedule(c, late!, later(1500)))).toBe(true);
    expect(await inTransaction((c) => queue.reschedule(c, back!, later(300)), 'rollback')).toBe(true);
    await until(() => runs.length === 1, 20_000, 'the job moved earlier');
    expect(runs[0]!.payload).toBe('earlier');
    await until(() => runs.length === 2, 20_000, 'the job moved later');
    expect(runs[1]!.payload).toBe('later');
    // Its first entry fell due long before and was skipped: the job ran once, at its new time.
    expect(runs[1]!.at).toBeGreaterThanOrEqual(runs[1]!.runAt);
    await sleep(500);
    expect(runs).toHaveLength(2);
    expect((await queue.get(back!))?.state).toBe('scheduled');
    expect((await queue.get(early!))?.generation).toBe(2);
    expect(await inTransaction((c) => queue.reschedule(c, early!, later(10))), 'ran already').toBe(false);
    await assertNeverEarly('reschedule');
  });

  it('resolves the due-time race between cancel and the job sink to exactly one outcome', async () => {
    const { queue, runs } = await startQueue('race', () => sleep(30), {
      retry: { ...RETRY, limit: 30 },
      claimWaitMs: 200,
    });
    const d = running.at(-1)!;
    let lockedRetries = 0;
    d.on('retried', (r) => {
      if (r.error.includes('locked by another transaction')) lockedRetries++;
    });
    const rounds = 60;
    const outcomes: Array<{ id: string; won: boolean; end: 'commit' | 'rollback' }> = [];
    await Promise.all(
      Array.from({ length: rounds }, async (_, i) => {
        const id = await queue.schedule(pool, { payload: i, delay: { ms: 500 } });
        const end = i % 5 === 0 ? 'rollback' : 'commit';
        // One round in four takes the row before the due time and holds it well past it (the sink waits 200 ms
        // for the lock, then retries after a backoff); the others cancel anywhere from 150 ms before to 150 ms after the due time.
        const holding = i % 4 === 0;
        await sleep(holding ? 300 : 350 + ((i * 37) % 300));
        const won = await inTransaction(async (c) => {
          const r = await queue.cancel(c, id);
          if (holding) await sleep(700);
          return r;
        }, end);
        outcomes.push({ id, won, end });
      }),
    );
    const cancelled = (o: (typeof outcomes)[number]) => o.won && o.end === 'commit';
    const expectedRuns = outcomes.filter((o) => !cancelled(o)).length;
    await until(() => runs.length >= expectedRuns, 30_000, 'every uncancelled job to run');
    await sleep(800);
    const ran = new Map<string, number>();
    for (const r of runs) ran.set(r.id, (ran.get(r.id) ?? 0) + 1);
    for (const o of outcomes) {
      const job = await queue.get(o.id);
      if (cancelled(o)) {
        expect(ran.get(o.id), `job ${o.id} was cancelled and ran`).toBeUndefined();
        expect(job?.state).toBe('cancelled');
      } else {
        expect(ran.get(o.id), `job ${o.id} ran once`).toBe(1);
        expect(job?.state).toBe('succeeded');
      }
    }
    expect(outcomes.filter(cancelled).length, 'cancels won some races').toBeGreaterThan(0);
    expect(outcomes.filter((o) => !o.won).length, 'the sink won some races').toBeGreaterThan(0);
    expect(lockedRetries, 'the sink met a cancel in flight and retried after it').toBeGreaterThan(0);
    await assertNeverEarly('race');
  });

  it('runs jobs of a shared key in schedule order, one at a time; other keys are not held back', async () => {
    let active = 0;
    let overlap = false;
    const { queue, runs } = await startQueue('ordered', async () => {
      active++;
      if (active > 1) overlap = true;
      await sleep(20);
      active--;
    });
    // Scheduled in order 0..9, due in reverse: a shared key keeps schedule order, each no earlier than due.
    const keyed: string[] = [];
    for (let i = 0; i < 10; i++) {
      keyed.push(await queue.schedule(pool, { payload: `k${i}`, key: 'user-1', runAt: later(800 - i * 50) }));
    }
    const far = await queue.schedule(pool, { payload: 'next-week', runAt: later(7 * 86_400_000) });
    const soon = await queue.schedule(pool, { payload: 'soon', delay: { ms: 100 } });
    await until(() => runs.length === 11, 20_000, 'the keyed jobs and the one due soon');
    const order = runs.map((r) => r.payload).filter((p) => String(p).startsWith('k'));
    expect(order).toEqual(keyed.map((_, i) => `k${i}`));
    expect(overlap, 'jobs of one key never overlap').toBe(false);
    expect(runs.some((r) => r.id === soon)).toBe(true);
    expect((await queue.get(far))?.state).toBe('scheduled');
    await assertNeverEarly('ordered');
  });

  it('retries a failing job, records the failure, and dead-letters it when retries run out', async () => {
    let calls = 0;
    const { queue } = await startQueue('flaky', (job) => {
      calls++;
      if (job.payload === 'always' || (job.payload === 'twice' && job.attempts <= 2)) throw new Error('boom');
    });
    const twice = await queue.schedule(pool, { payload: 'twice' });
    const always = await queue.schedule(pool, { payload: 'always' });
    await until(
      async () => (await queue.get(twice))?.state === 'succeeded',
      20_000,
      'the flaky job to succeed',
    );
    expect(await queue.get(twice)).toMatchObject({ state: 'succeeded', attempts: 3 });
    await until(
      async () => (await walbox.deadLetters.list({ namespace: queue.namespace })).length === 1,
      20_000,
      'a dead letter',
    );
    expect(await queue.get(always)).toMatchObject({ state: 'failed', lastError: 'Error: boom' });
    expect(calls).toBeGreaterThanOrEqual(3 + RETRY.limit);
    expect(await inTransaction((c) => queue.cancel(c, always)), 'a failed job can be cancelled').toBe(true);
  });

  it('returns the same job for an idempotency key, and lists and counts jobs', async () => {
    const queue = walbox.jobs('listing');
    const [a, b, c] = await queue.scheduleMany(pool, [
      { payload: 1, idempotencyKey: 'once', runAt: later(60_000) },
      { payload: 2, idempotencyKey: 'once', runAt: later(60_000) },
      { payload: 3, runAt: later(120_000) },
    ]);
    expect(a!.duplicate).toBe(false);
    expect(b).toMatchObject({ id: a!.id, duplicate: true });
    expect(await queue.scheduleMany(pool, [{ payload: 9, idempotencyKey: 'once' }])).toEqual([
      { id: a!.id, runAt: a!.runAt, duplicate: true },
    ]);
    expect((await queue.list()).map((j) => j.id)).toEqual([a!.id, c!.id]);
    expect((await queue.list({ dueBefore: later(90_000) })).map((j) => j.id)).toEqual([a!.id]);
    await queue.cancel(pool, c!.id);
    expect(await queue.counts()).toMatchObject({ scheduled: 1, cancelled: 1, running: 0 });
    await expect(queue.schedule(pool, { runAt: new Date('nope') })).rejects.toMatchObject({
      code: 'DELAY_OUT_OF_RANGE',
    });
    expect(() => walbox.jobs('Bad Name')).toThrow(/invalid job queue name/);
    // An operator's namespace config is kept, and its payload limit holds for jobs too.
    await walbox.namespaces.upsert({ name: 'jobs.small', targets: ['jobs.small'], maxPayloadBytes: 100 });
    await expect(walbox.jobs('small').schedule(pool, { payload: 'x'.repeat(200) })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
  });
});
