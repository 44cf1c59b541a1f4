import { describe, expect, it } from 'vitest';
import { judgeStep, planStep } from '../../src/dispatch/step-judge.js';
import type { Applied, CursorState, Gathered, ParkedEntry } from '../../src/dispatch/step-types.js';
import type { Entry } from '../../src/entry.js';

// The drain step's decisions, without a database: what a step offers and what becomes of each entry. The
// integration tests (delivery, retries, poison, delayed, dead-letters, isolation) prove the wiring.

const NOW = new Date('2026-11-30T12:00:00.000Z');
const RETRY = { limit: 3, initialDelayMs: 1000, maxDelayMs: 60_000, multiplier: 2 };
/** With random() = 0 a backoff is half its capped delay: 500 ms after attempt 1, 1000 after 2, 2000 after 3. */
const backoff = (attempt: number) => new Date(NOW.getTime() + (1000 * 2 ** (attempt - 1)) / 2);
const FAILED = new Error('target refused');

function entry(id: number, key: string, deliverInMs?: number): Entry {
  return {
    id: String(id),
    namespace: 'ns',
    partitionKey: null,
    key,
    partition: 0,
    op: 'upsert',
    payload: { id },
    before: null,
    headers: {},
    targets: ['t'],
    deliverAt: deliverInMs === undefined ? null : new Date(NOW.getTime() + deliverInMs),
    idempotencyKey: null,
    xid: '100',
    createdAt: NOW,
    actor: null,
  };
}

function parked(e: Entry, attempts = 0, due = true): ParkedEntry {
  return { entry: e, attempts, firstFailedAt: attempts > 0 ? new Date(NOW.getTime() - 60_000) : null, due };
}

const NEXT = { prev: 'next-prev', cur: null, afterId: null };

function gathered(
  read: Entry[] | undefined,
  park: ParkedEntry[] = [],
  perKey: Record<string, number> = {},
): Gathered {
  return {
    now: NOW,
    hasParked: park.length > 0 || Object.keys(perKey).length > 0,
    parked: park,
    read: read && { entries: read, next: NEXT },
    parkedPerKey: new Map(Object.entries(perKey)),
  };
}

function cursor(over: Partial<CursorState> = {}): CursorState {
  return {
    position: { prev: 'p', cur: null, afterId: null },
    failures: 0,
    retryAt: null,
    probeUntilId: null,
    ...over,
  };
}

const ok = (...failedIds: string[]): Applied => ({
  ok: true,
  failed: new Map(failedIds.map((id) => [id, FAILED])),
});
const threw: Applied = { ok: false, error: FAILED };

function step(
  g: Gathered,
  c: CursorState,
  applied: Applied | undefined,
  onExhausted: 'dead-letter' | 'block' = 'dead-letter',
) {
  const plan = planStep(g, c);
  const outcome = judgeStep({
    gathered: g,
    plan,
    cursor: c,
    retry: RETRY,
    onExhausted,
    applied,
    random: () => 0,
  });
  return { plan, outcome };
}

const ids = (entries: readonly Entry[]) => entries.map((e) => e.id);
const parks = (o: ReturnType<typeof step>['outcome']) =>
  o.park.map((p) => ({ id: p.entry_id, notBefore: p.not_before, attempts: p.attempts, blocked: p.blocked }));

describe('planStep: what a step offers', () => {
  it.each([
    {
      name: 'every entry read, in log order',
      g: gathered([entry(1, 'a'), entry(2, 'b'), entry(3, 'a')]),
      offered: ['1', '2', '3'],
      parkedIds: [],
    },
    {
      name: 'a delayed entry waits, and holds back the later entries of its key only',
      g: gathered([entry(1, 'a', 5000), entry(2, 'b'), entry(3, 'a')]),
      offered: ['2'],
      parkedIds: ['1', '3'],
    },
    {
      name: 'a delay already past goes out',
      g: gathered([entry(1, 'a', -5000)]),
      offered: ['1'],
      parkedIds: [],
    },
    {
      name: 'due parked entries go first, then the log; a read entry waits behind its parked key',
      g: gathered([entry(5, 'a'), entry(6, 'c')], [parked(entry(2, 'b'), 1)], { b: 1, a: 1 }),
      offered: ['2', '6'],
      parkedIds: ['5'],
    },
    {
      name: 'a parked head not due holds back its key, parked and read alike',
      g: gathered([entry(5, 'a'), entry(6, 'b')], [parked(entry(2, 'a'), 1, false), parked(entry(3, 'a'))], {
        a: 2,
      }),
      offered: ['6'],
      parkedIds: ['5'],
    },
    {
      name: 'a read entry of a key whose parked entries all go out this step goes out after them',
      g: gathered([entry(5, 'a')], [parked(entry(2, 'a'), 1), parked(entry(3, 'a'))], { a: 2 }),
      offered: ['2', '3', '5'],
      parkedIds: [],
    },
  ])('$name', ({ g, offered, parkedIds }) => {
    const { plan } = step(g, cursor(), undefined);
    expect(ids(plan.deliver)).toEqual(offered);
    expect(plan.park.map((p) => p.entry_id)).toEqual(parkedIds);
    // Entries queued behind their key keep their own deliver time.
    for (const p of plan.park) {
      const e = [...(g.read?.entries ?? [])].find((x) => x.id === p.entry_id)!;
      expect(p.not_before).toEqual(e.deliverAt);
    }
  });

  it('moves the position to after the read; without a read it stays', () => {
    expect(step(gathered([entry(1, 'a')]), cursor(), undefined).plan.position).toEqual(NEXT);
    const c = cursor();
    expect(step(gathered(undefined, [parked(entry(1, 'a'))]), c, undefined).plan.position).toBe(c.position);
  });

  it.each([
    {
      name: 'a probe ends once the log is read past its last entry',
      read: [entry(9, 'a')],
      until: '8',
      left: null,
    },
    { name: 'a probe ends at its last entry', read: [entry(8, 'a')], until: '8', left: null },
    { name: 'a probe ends when the window is read to its end', read: [], until: '8', left: null },
    { name: 'a probe goes on before its last entry', read: [entry(4, 'a')], until: '8', left: '8' },
  ])('$name', ({ read, until, left }) => {
    const { plan } = step(gathered(read), cursor({ probeUntilId: until, failures: 4 }), undefined);
    expect(plan.probeUntilId).toBe(left);
  });
});

describe('judgeStep: what becomes of each entry', () => {
  it('all applied: delivered, parked ones unparked, the cursor moves on with no failures', () => {
    const g = gathered([entry(5, 'b')], [parked(entry(2, 'a'), 2)], { a: 1 });
    const { outcome } = step(g, cursor({ failures: 0 }), ok());
    expect(ids(outcome.delivered)).toEqual(['2', '5']);
    expect(outcome.unpark).toEqual(['2']);
    expect(outcome.cursor).toEqual({ position: NEXT, failures: 0, retryAt: null, probeUntilId: null });
    expect(outcome).toMatchObject({ batchFailed: false, park: [], dead: [] });
    expect(outcome.work).toBeGreaterThan(0);
  });

  it('nothing to offer: idle when nothing was read, work when entries were read but wait', () => {
    expect(step(gathered([]), cursor(), undefined).outcome).toMatchObject({ work: 0, hasParked: false });
    const waiting = step(gathered([entry(1, 'a', 5000)]), cursor(), undefined).outcome;
    expect(waiting).toMatchObject({ work: 1, hasParked: true, delivered: [] });
    expect(parks(waiting)).toEqual([
      { id: '1', notBefore: new Date(NOW.getTime() + 5000), attempts: 0, blocked: false },
    ]);
  });

  it('an entry the sink failed is retried after a backoff; later entries of its key wait behind it; others go', () => {
    const g = gathered([entry(1, 'a'), entry(2, 'b'), entry(3, 'a'), entry(4, 'c')]);
    const { outcome } = step(g, cursor(), ok('1'));
    expect(ids(outcome.delivered)).toEqual(['2', '4']);
    expect(parks(outcome)).toEqual([
      { id: '1', notBefore: backoff(1), attempts: 1, blocked: false },
      { id: '3', notBefore: null, attempts: 0, blocked: false },
    ]);
    expect(outcome.retried).toEqual([
      { entry: entry(1, 'a'), attempt: 1, error: 'Error: target refused', nextAttemptAt: backoff(1) },
    ]);
    expect(outcome.park[0]).toMatchObject({ last_error: 'Error: target refused', first_failed_at: NOW });
    expect(outcome.hasParked).toBe(true);
  });

  it('a later entry of a failed key waits even when the sink said it applied it', () => {
    const { outcome } = step(gathered([entry(1, 'a'), entry(2, 'a')]), cursor(), ok('1'));
    expect(outcome.delivered).toEqual([]);
    expect(parks(outcome).map((p) => p.id)).toEqual(['1', '2']);
  });

  it('a failed parked entry counts its attempts on, and keeps its first failure time', () => {
    const p = parked(entry(2, 'a'), 2);
    const { outcome } = step(gathered([], [p], { a: 1 }), cursor(), ok('2'));
    expect(parks(outcome)).toEqual([{ id: '2', notBefore: backoff(3), attempts: 3, blocked: false }]);
    expect(outcome.park[0]!.first_failed_at).toEqual(p.firstFailedAt);
    expect(outcome.unpark).toEqual([]);
  });

  it.each([
    { onExhausted: 'dead-letter' as const, status: 'dead', blockedPark: [] },
    {
      onExhausted: 'block' as const,
      status: 'blocking',
      blockedPark: [{ id: '2', notBefore: null, attempts: 4, blocked: true }],
    },
  ])(
    'retries spent, onExhausted $onExhausted: dead-lettered as $status',
    ({ onExhausted, status, blockedPark }) => {
      const { outcome } = step(
        gathered([], [parked(entry(2, 'a'), 3)], { a: 1 }),
        cursor(),
        ok('2'),
        onExhausted,
      );
      expect(outcome.dead).toEqual([
        {
          entry_id: '2',
          key: 'a',
          status,
          attempts: 4,
          last_error: 'Error: target refused',
          first_failed_at: new Date(NOW.getTime() - 60_000),
        },
      ]);
      expect(outcome.deadLettered).toEqual([
        {
          entry: entry(2, 'a'),
          attempts: 4,
          error: 'Error: target refused',
          blocked: onExhausted === 'block',
        },
      ]);
      expect(parks(outcome)).toEqual(blockedPark);
      expect(outcome.retried).toEqual([]);
    },
  );

  it.each([
    { failures: 0, probe: null },
    { failures: 2, probe: null },
    { failures: 3, probe: '3' }, // the 4th failure spends the batch's budget: probe up to the last entry read
  ])(
    'the whole batch failing after $failures failures backs off and moves nothing (probe from: $probe)',
    ({ failures, probe }) => {
      const c = cursor({ failures });
      const g = gathered([entry(1, 'a'), entry(2, 'b'), entry(3, 'c', 5000)]);
      const { outcome } = step(g, c, threw);
      expect(outcome.cursor).toEqual({
        position: c.position,
        failures: failures + 1,
        retryAt: backoff(failures + 1),
        probeUntilId: probe,
      });
      expect(outcome).toMatchObject({
        batchFailed: true,
        work: 2,
        park: [],
        delivered: [],
        dead: [],
        retried: [],
      });
    },
  );

  it('a probe that still fails alone, its retries spent, is dead-lettered, and the next probe waits a backoff', () => {
    // Probing: failures counts the one entry's failures (the batch's 4 were reset when probing began).
    const c = cursor({ failures: 3, probeUntilId: '9' });
    const { outcome } = step(gathered([entry(4, 'a')]), c, threw);
    expect(outcome.dead).toMatchObject([{ entry_id: '4', status: 'dead', attempts: 4 }]);
    expect(outcome.cursor).toEqual({ position: NEXT, failures: 0, retryAt: backoff(4), probeUntilId: '9' });
    expect(outcome.batchFailed).toBe(false);
  });

  it('a probe that fails alone with retries left is retried alone; the probe count starts afresh', () => {
    const c = cursor({ failures: 4, probeUntilId: '9' }); // 4 > limit: the batch's failures, just spent
    const { outcome } = step(gathered([entry(4, 'a')]), c, threw);
    expect(outcome.cursor).toEqual({
      position: c.position,
      failures: 1,
      retryAt: backoff(1),
      probeUntilId: '9',
    });
    expect(outcome.batchFailed).toBe(true);
  });
});
