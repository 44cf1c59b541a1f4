import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { Walbox } from '../../../src/index.js';
import { FAST, stopAfterEach } from '../../../test/support/dispatchers.js';
import { until } from '../../../test/support/recording-sink.js';
import type { IndexDefinition } from '../src/index.js';
import {
  type IndexSink,
  RebuildError,
  type UniqueViolation,
  UniqueViolationError,
  type ViolationHandler,
} from '../src/index.js';
import {
  actualIndex,
  type Change,
  expectedIndex,
  random,
  settled,
  type User,
  userIndexes,
  usersTable,
} from './users-fixture.js';

export interface ScenarioContext {
  pool: pg.Pool;
  walbox: Walbox;
  /** The walbox test schema, where the business tables go too. */
  schema: string;
  /** An index sink on the store under test, isolated from other runs; two calls share one store. */
  create(config: {
    name: string;
    indexes: Record<string, IndexDefinition[]>;
    onUniqueViolation?: 'fail' | ViolationHandler;
  }): IndexSink;
}

/** The scenarios both stores pass, under a real walbox dispatcher, against their real servers. */
export function indexScenarios(label: string, ctx: ScenarioContext): void {
  const { pool, walbox } = ctx;
  const running = stopAfterEach();
  const readers: IndexSink[] = [];
  let n = 0;

  /** A namespace with a business table, the index sink under a running dispatcher, and a reader sink. */
  async function setup(onUniqueViolation?: 'fail' | ViolationHandler, partitions = 3) {
    const ns = `${label}-u${++n}`;
    const defs = userIndexes('');
    await walbox.namespaces.upsert({
      name: ns,
      targets: ['idx'],
      partitions,
      retry: { limit: 2, initialDelayMs: 50, maxDelayMs: 200, multiplier: 2 },
    });
    const config = { name: 'idx', indexes: { [ns]: defs as IndexDefinition[] }, onUniqueViolation };
    const dispatcher = walbox.dispatcher({ sinks: { idx: ctx.create(config) }, ...FAST });
    running.push(dispatcher);
    await dispatcher.start();
    // The dispatcher closes its sink when it stops: lookups go through a sink of their own.
    const reader = ctx.create(config);
    readers.push(reader);
    const users = await usersTable(pool, walbox, ctx.schema, ns);
    const universe: User[] = [];
    const state = new Map<string, User>();
    let version = 0;
    const commit = async (changes: Change[]) => {
      for (const c of changes) {
        if (c.op === 'upsert') {
          universe.push(c.user);
          state.set(c.user.id, c.user);
        } else state.delete(c.id);
      }
      return users.commit(changes);
    };
    const rnd = random(n * 7919);
    /** A new version of a user: a new e-mail (unique by construction) half the time, a plan, some tags. */
    const next = (id: string): User => ({
      id,
      email: state.has(id) && rnd.chance(0.5) ? state.get(id)!.email : `${id}.v${++version}@example.com`,
      plan: rnd.pick(['free', 'pro', 'team']),
      tags: ['a', 'b', 'c', 'd'].filter(() => rnd.chance(0.4)),
    });
    const ids = Array.from({ length: 30 }, (_, i) => `user-${i}`);
    /** Transactions of 1-8 changes over random users, some changing one user twice. */
    const workload = async (rounds: number) => {
      for (let r = 0; r < rounds; r++)
        await commit(
          Array.from({ length: 1 + rnd.int(8) }, (): Change => {
            const id = rnd.pick(ids);
            return rnd.chance(0.2) ? { op: 'delete', id } : { op: 'upsert', user: next(id) };
          }),
        );
    };
    const expected = async () => expectedIndex(defs, await users.rows());
    const actual = () => actualIndex(reader, defs, universe);
    /** Waits until the index equals what a rebuild from the table gives, and asserts it. */
    const converged = async () => {
      await until(
        async () => isDeepStrictEqual(await actual(), await expected()),
        30_000,
        'the index to equal the source table',
      );
      expect(await actual()).toEqual(await expected());
    };
    const drained = () => until(() => settled(walbox, ns, 'idx'), 30_000, 'walbox to deliver everything');
    return { ns, defs, reader, users, commit, next, ids, workload, converged, drained, expected, actual };
  }

  describe(`index sink scenarios: ${label}`, () => {
    it('keeps the index equal to the source under updates that change indexed values, and deletes', async () => {
      const s = await setup();
      await s.commit(s.ids.map((id) => ({ op: 'upsert', user: s.next(id) })));
      await s.converged();
      await s.workload(25);
      await s.converged();
      await s.commit(s.ids.slice(0, 12).map((id) => ({ op: 'delete', id })));
      await s.converged();
      for (const id of s.ids.slice(0, 12))
        expect(await s.reader.lookup('email', `${id}.v1@example.com`)).toEqual([]);
      await s.commit([
        { op: 'upsert', user: { id: 'user-0', email: 'back@example.com', plan: 'pro', tags: ['z'] } },
      ]);
      await s.converged();
      expect(await s.reader.lookupOne('email', 'back@example.com')).toBe('user-0');
    });

    it('never brings back a stale value when entries are redelivered or replayed', async () => {
      const s = await setup();
      const [first] = await s.commit(s.ids.map((id) => ({ op: 'upsert', user: s.next(id) })));
      await s.workload(20);
      await s.converged();
      // The whole range again through walbox.replay (what an operator runs after restoring a store).
      expect(await walbox.replay({ namespace: s.ns, target: 'idx', from: first! })).toBeGreaterThan(30);
      await s.drained();
      expect(await s.actual()).toEqual(await s.expected());
      // Redeliveries straight to the store: the whole log at once, each entry alone, newest first.
      const log = [];
      for (let partition = 0; partition < 3; partition++)
        log.push(
          ...(
            await walbox.readBatch(
              { namespace: s.ns, partition },
              { prev: '1:1:', cur: null, afterId: null },
              10_000,
            )
          ).entries,
        );
      expect(await s.reader.apply(log)).toBeUndefined();
      expect(await s.actual()).toEqual(await s.expected());
      for (const e of [...log].reverse()) expect(await s.reader.apply([e])).toBeUndefined();
      expect(await s.actual()).toEqual(await s.expected());
    });

    it('refuses a second key claiming a unique value under "fail": the entry is dead-lettered, redriven once free', async () => {
      const s = await setup('fail');
      const user = (id: string, email: string): User => ({ id, email, plan: 'free', tags: [] });
      await s.commit([
        { op: 'upsert', user: user('a', 'x@example.com') },
        { op: 'upsert', user: user('b', 'y@example.com') },
      ]);
      await s.converged();
      const [claim] = await s.commit([{ op: 'upsert', user: user('b', 'x@example.com') }]);
      await until(
        async () => (await walbox.deadLetters.list({ namespace: s.ns })).length === 1,
        30_000,
        'a dead letter',
      );
      const [dead] = await walbox.deadLetters.list({ namespace: s.ns });
      expect(dead).toMatchObject({ entryId: claim, key: 'b', target: 'idx' });
      expect(dead!.lastError).toMatch(
        /unique index email: value "x@example.com" is claimed by keys "a", "b"/,
      );
      // Nothing of the refused change is in the index: b keeps its old value.
      expect(await s.reader.lookupOne('email', 'x@example.com')).toBe('a');
      expect(await s.reader.lookup('email', 'y@example.com')).toEqual(['b']);
      expect(await s.reader.violations('email')).toEqual([]);
      // Once a gives the value up, the redriven entry goes through, and the index equals the source again.
      await s.commit([{ op: 'upsert', user: user('a', 'z@example.com') }]);
      await until(
        async () => (await s.reader.lookupOne('email', 'z@example.com')) === 'a',
        30_000,
        'a to move',
      );
      expect(await walbox.deadLetters.redrive([dead!.id])).toBe(1);
      await s.converged();
      expect(await s.reader.lookupOne('email', 'x@example.com')).toBe('b');
    });

    it('keeps both keys and reports them with an onUniqueViolation function; lookupOne refuses to choose', async () => {
      const reported: UniqueViolation[] = [];
      const s = await setup((v) => {
        reported.push(v);
      });
      const user = (id: string, email: string): User => ({ id, email, plan: 'free', tags: [] });
      await s.commit([{ op: 'upsert', user: user('a', 'x@example.com') }]);
      await s.converged(); // a and b may be in different partitions: a first, so that b is the one claiming
      const [claim] = await s.commit([{ op: 'upsert', user: user('b', 'x@example.com') }]);
      await s.converged(); // the source holds both, and so does the index
      expect(reported[0]).toEqual({
        namespace: s.ns,
        index: 'email',
        value: 'x@example.com',
        keys: ['a', 'b'],
        entryId: claim,
      });
      expect(await s.reader.lookup('email', 'x@example.com')).toEqual(['a', 'b']);
      await expect(s.reader.lookupOne('email', 'x@example.com')).rejects.toBeInstanceOf(UniqueViolationError);
      await expect(s.reader.lookupOne('email', 'x@example.com')).rejects.toMatchObject({
        code: 'UNIQUE_VIOLATION',
      });
      expect(await s.reader.violations('email')).toMatchObject([
        { value: 'x@example.com', keys: ['a', 'b'] },
      ]);
      await s.commit([{ op: 'delete', id: 'a' }]);
      await s.converged();
      expect(await s.reader.violations('email')).toEqual([]);
      expect(await s.reader.lookupOne('email', 'x@example.com')).toBe('b');
    });

    it('takes two keys swapping unique values in one source transaction as no violation', async () => {
      // One partition: a source transaction's entries of different partitions reach the sink apart (see README).
      const s = await setup('fail', 1);
      const user = (id: string, email: string): User => ({ id, email, plan: 'free', tags: [] });
      await s.commit([
        { op: 'upsert', user: user('a', 'one@example.com') },
        { op: 'upsert', user: user('b', 'two@example.com') },
      ]);
      await s.converged();
      await s.commit([
        { op: 'upsert', user: user('a', 'two@example.com') },
        { op: 'upsert', user: user('b', 'one@example.com') },
      ]);
      await s.converged();
      await s.drained();
      expect(await walbox.deadLetters.list({ namespace: s.ns })).toEqual([]);
      expect(await s.reader.lookupOne('email', 'one@example.com')).toBe('b');
    });

    it('rebuilds from the log and from a snapshot while appends go on, and ends equal to the source', async () => {
      const s = await setup();
      await s.commit(s.ids.map((id) => ({ op: 'upsert', user: s.next(id) })));
      await s.workload(10);
      await s.converged();
      const snapshot = async function* () {
        for (const u of await s.users.rows()) yield { key: u.id, payload: u };
      };
      for (const [index, source] of [
        ['tag', { walbox, target: 'idx', batchSize: 40 }],
        ['email', { walbox, target: 'idx', batchSize: 1000 }],
        ['plan', { snapshot, batchSize: 7 }],
      ] as const) {
        let stop = false;
        const producer = (async () => {
          while (!stop) await s.workload(1);
        })();
        const before = await s.reader.generations(index);
        const result = await s.reader.rebuild(index, source).finally(() => {
          stop = true;
        });
        await producer;
        expect(result).toMatchObject({ index, replaced: before.current, failed: [], violations: [] });
        expect(result.generation).toBeGreaterThan(before.current);
        expect(await s.reader.generations(index)).toEqual({
          current: result.generation,
          building: undefined,
        });
        await s.converged();
      }
    });

    it('lets one rebuild build an index at a time, and force takes over one left behind', async () => {
      const s = await setup();
      await s.commit(s.ids.map((id) => ({ op: 'upsert', user: s.next(id) })));
      await s.converged();
      let release = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const stuck = s.reader.rebuild('plan', {
        snapshot: async function* () {
          await gate;
          yield* [];
        },
      });
      stuck.catch(() => {});
      await until(async () => (await s.reader.generations('plan')).building !== undefined, 10_000, 'a build');
      await expect(s.reader.rebuild('plan', { snapshot: () => [] })).rejects.toMatchObject({
        code: 'REBUILD_CONFLICT',
      });
      await s.workload(5); // live applies write the generation being built too
      const taken = await s.reader.rebuild('plan', { walbox, target: 'idx' }, { force: true });
      release();
      await expect(stuck).rejects.toBeInstanceOf(RebuildError);
      expect(await s.reader.generations('plan')).toEqual({ current: taken.generation, building: undefined });
      await s.converged();
    });
  });
}
