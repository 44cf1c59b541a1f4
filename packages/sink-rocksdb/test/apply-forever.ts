// Child process of rocksdb-crash.int.test.ts: applies batch after batch to the RocksDB directory in argv[2],
// each setting keys k0..k9 to the batch's number, and prints "applied <n>" once apply has resolved.
import { createRocksdbSink } from '../src/index.js';

const sink = createRocksdbSink({ path: process.argv[2]! });
for (let n = 1; ; n++) {
  const batch = Array.from({ length: 10 }, (_, j) => ({
    id: String(n * 10 + j),
    namespace: 'crash',
    key: `k${j}`,
    op: 'upsert',
    payload: n,
  }));
  const result = await sink.apply(batch);
  if (result) throw new Error(`entries failed: ${JSON.stringify(result)}`);
  process.stdout.write(`applied ${n}\n`);
}
