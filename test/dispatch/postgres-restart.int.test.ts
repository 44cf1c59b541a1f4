// A service built as the README shows (`new Walbox({ connectionString })`, a dispatcher, producers) survives
// Postgres terminating every backend and restarting: the process lives on, the dispatcher resumes within 5 s
// of Postgres accepting connections, appends work again, and every committed entry is applied, in order per
// key, nothing else. This test starts a Postgres of its own, whatever DATABASE_URL says: it restarts it.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createThrowawayPostgres,
  type ThrowawayPostgres,
} from '../../packages/throwaway-postgres/src/index.js';
import { Walbox, WalboxError } from '../../src/index.js';
import { checkDeliveries, type EntryRef } from '../support/delivery-check.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCHEMA = 'restart';
const MODES = ['listen', 'poll'] as const;

let server: ThrowawayPostgres;
let pool: pg.Pool;
let walbox: Walbox;

beforeAll(async () => {
  server = await createThrowawayPostgres({ database: 'walbox_restart', prefix: 'walbox-restart-' });
  try {
    await server.start();
  } catch (err) {
    await server.stop();
    throw err;
  }
  pool = new pg.Pool({ connectionString: server.url, max: 4 });
  pool.on('error', () => {}); // this test's own pool loses its connections too
  walbox = new Walbox({ pool, schema: SCHEMA });
  await walbox.migrate();
  for (const mode of MODES) await walbox.namespaces.upsert({ name: mode, partitions: 4, targets: ['log'] });
});

afterAll(async () => {
  await pool?.end().catch(() => {});
  await server?.stop();
});

/** The service child, its stdout parsed into what it committed and what its sink applied. */
class Service {
  readonly process: ChildProcess;
  readonly committed: EntryRef[] = [];
  readonly applied: EntryRef[] = [];
  readonly appliedAt = new Map<string, number>();
  stderr = '';
  produced: Promise<void>;
  readonly ready: Promise<void>;
  #buffer = '';

  constructor(
    url: string,
    readonly namespace: string,
    env: Record<string, string>,
  ) {
    this.process = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/fixtures/service-child.ts', url, SCHEMA, namespace],
      { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } },
    );
    this.process.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-20_000);
    });
    let onReady = () => {};
    let onProduced = () => {};
    this.ready = new Promise((resolve, reject) => {
      onReady = resolve;
      this.process.once('exit', (code) => reject(new Error(`service exited (${code}): ${this.stderr}`)));
    });
    this.ready.catch(() => {});
    this.produced = new Promise((resolve) => {
      onProduced = resolve;
    });
    this.process.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.#buffer += d;
      const lines = this.#buffer.split('\n');
      this.#buffer = lines.pop() ?? '';
      for (const line of lines) {
        const [tag, id = '', key = ''] = line.split(' ');
        if (tag === 'A') {
          this.applied.push({ id, key });
          if (!this.appliedAt.has(id)) this.appliedAt.set(id, Date.now());
        } else if (tag === 'C') this.committed.push({ id, key });
        else if (tag === 'READY') onReady();
        else if (tag === 'PRODUCED') onProduced();
      }
    });
  }

  get alive(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }
}

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Appends one entry from this test process, retrying while Postgres is not back yet. */
async function appendMarker(namespace: string, n: number): Promise<string> {
  for (;;) {
    try {
      const e = await walbox.append(pool, {
        namespace,
        key: `marker${n}`,
        op: 'upsert',
        payload: { n },
      });
      return e.id;
    } catch (err) {
      if (err instanceof WalboxError) throw err; // only a connection error is worth another try
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** From `since` (when Postgres accepted connections again) until the child applied an entry appended then. */
async function recoveryMs(service: Service, since: number, n: number): Promise<number> {
  const id = await appendMarker(service.namespace, n);
  await until(
    `marker ${n} to be applied`,
    () => {
      if (!service.alive) throw new Error(`the service process died: ${service.stderr}`);
      return service.appliedAt.has(id);
    },
    30_000,
  );
  return service.appliedAt.get(id)! - since;
}

describe('a service whose Postgres fails under it', () => {
  // Poll mode has no LISTEN connection to come back: the supervisor finds the partitions whose drains
  // were cut short, and their leases are its own, so it takes them back at once.
  it.each(MODES)(
    '%s: lives through terminated backends and a restart, resumes within 5 s, loses and reorders nothing',
    async (mode) => {
      const service = new Service(server.url, mode, {
        CHILD_APPLY_MS: '50',
        CHILD_DISPATCHER: JSON.stringify({ batchSize: 50, wakeup: mode }),
      });
      try {
        await service.ready;
        await until('the first deliveries', () => service.applied.length >= 100, 30_000);

        // Every backend of the database, the dispatcher's LISTEN connection and pg-boss's among them.
        const terminatedAt = Date.now();
        await pool.query(
          `select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid()`,
        );
        const afterTerminate = await recoveryMs(service, terminatedAt, 1);
        expect(service.alive, service.stderr).toBe(true);

        // A fast restart while a batch is being applied (each apply sleeps 50 ms), down for a second.
        const applied = service.applied.length;
        await until('more deliveries', () => service.applied.length > applied + 50, 30_000);
        await server.restart({ downMs: 1000 });
        const upAt = Date.now();
        const afterRestart = await recoveryMs(service, upAt, 2);
        expect(service.alive, service.stderr).toBe(true);
        const committedBefore = service.committed.length;
        await until(
          'appends after the restart',
          () => service.committed.length > committedBefore + 20,
          30_000,
        );
        console.log(
          `recovery: ${afterTerminate} ms after terminating every backend, ${afterRestart} ms after the restart`,
        );
        expect(afterTerminate).toBeLessThan(5000);
        expect(afterRestart).toBeLessThan(5000);

        service.process.kill('SIGUSR2');
        await service.produced;
        const { rows: log } = await pool.query<EntryRef>(
          `select a.id::text, a.key from "${SCHEMA}".audit a where a.namespace = $1 order by a.id`,
          [mode],
        );
        await until(
          'the log to be applied',
          () => checkDeliveries(log, service.applied).lost.length === 0,
          30_000,
        );
        const check = checkDeliveries(log, service.applied);
        expect(check.unexpected).toEqual([]);
        expect(check.reorderedKeys).toEqual([]);
        // What the producer saw committed is in the log (an ambiguous commit may be there without being seen).
        const inLog = new Set(log.map((e) => e.id));
        expect(service.committed.filter((c) => !inLog.has(c.id))).toEqual([]);
        expect(service.committed.length).toBeGreaterThan(100);
        expect(service.alive, service.stderr).toBe(true);
      } finally {
        service.process.kill('SIGKILL');
      }
    },
    180_000,
  );
});
