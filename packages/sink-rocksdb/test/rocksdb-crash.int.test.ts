import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from '@walbox/sink-testkit';
import { afterAll, expect, it } from 'vitest';
import { createRocksdbSink } from '../src/index.js';

const dir = await mkdtemp(join(tmpdir(), 'walbox-rocksdb-crash-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

it('keeps every batch acknowledged before a SIGKILL, and no batch in part', async () => {
  const path = join(dir, 'db');
  const script = fileURLToPath(new URL('./apply-forever.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, path], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let acknowledged = 0;
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    for (const m of d.toString().matchAll(/applied (\d+)/g)) acknowledged = Number(m[1]);
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_, signal) => resolve(signal)),
  );
  await until(() => acknowledged >= 200 || child.exitCode !== null, 60_000, 'the child to apply 200 batches');
  expect(stderr).toBe('');
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');

  const sink = createRocksdbSink({ path });
  try {
    const values = await Promise.all(
      Array.from({ length: 10 }, async (_, j) => (await sink.read('crash', `k${j}`))?.value as number),
    );
    // One write batch per apply: the keys hold one batch's number, never a mix of two.
    expect(new Set(values).size).toBe(1);
    expect(values[0]).toBeGreaterThanOrEqual(acknowledged);
  } finally {
    await sink.close();
  }
});
