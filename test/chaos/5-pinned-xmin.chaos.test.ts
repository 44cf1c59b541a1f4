// Scenario 5: an idle-in-transaction session holds an xid for 60 s, pinning the xmin horizon of the whole
// cluster. Delivery goes on (the snapshot-window read does not wait for it: it reads the rows written since
// the last window, plus one index probe per transaction that was running then) and stays as prompt: p99
// commit-to-applied within 2x of the same run without the pin (0.9x-1.0x, p99 22-25 ms, in three quiet runs
// on 2026-12-01). It used to swing between 0.6x and 16x: a drain step's prepared read could keep a generic
// plan made on a nearly empty day partition that walked the key index and filtered, so each step read more
// of the day's entries as the run went on (src/snapshot-reader.ts); the cursor row, written after every step
// and read by every step and append, grew version chains nobody could prune (checkpointMs, surelyHeld).
import pg from 'pg';
import { expect, it } from 'vitest';
import { report } from './support/report.js';
import { scenario } from './support/scenario.js';
import { sleep } from './support/world.js';

const BASELINE_S = 30;
const PINNED_S = 60;

scenario('pinned xmin', {}, (world) => {
  it('keeps delivering, as fast, while a transaction holds an xid', async () => {
    const w = world();
    await w.startSteady({ delivered: 500 });

    const t0 = Date.now();
    await sleep(BASELINE_S * 1000);
    const t1 = Date.now();
    const pin = new pg.Client({ connectionString: w.postgres.url });
    pin.on('error', () => {});
    await pin.connect();
    await pin.query('begin');
    const { rows } = await pin.query<{ xid: string }>('select pg_current_xact_id()::text as xid');
    const t2 = Date.now();
    await sleep(PINNED_S * 1000);
    const t3 = Date.now();
    // The oldest transaction still running, as every snapshot sees it: the pinned one, all along.
    const { rows: horizon } = await w.pool.query<{ xmin: string }>(
      'select pg_snapshot_xmin(pg_current_snapshot())::text as xmin',
    );
    await pin.query('rollback');
    await pin.end();
    await w.stopProducers();
    const drainMs = await w.drained();

    const base = w.latency(t0, t1);
    const pinned = w.latency(t2, t3);
    report(
      await w.check(
        `idle transaction holding xid ${rows[0]!.xid} for ${PINNED_S} s`,
        `commit-to-applied p50/p99 ${base.p50}/${base.p99} ms without (${base.n} entries), ${pinned.p50}/${pinned.p99} ms with it (${pinned.n}): p99 ${(pinned.p99 / base.p99).toFixed(1)}x; drained ${drainMs} ms after producers stopped`,
      ),
    );
    expect(horizon[0]!.xmin).toBe(rows[0]!.xid);
    expect(pinned.n).toBeGreaterThan(PINNED_S * 250); // delivery went on the whole time
    expect(pinned.p99).toBeLessThan(2000);
  });
});
