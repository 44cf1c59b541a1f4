import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { installPacked, type PackedPackage } from '../../../test/support/packed-package.js';
import { replicaDatabase } from './replica-database.js';

const replica = await replicaDatabase(inject('databaseUrl'));
let packed: PackedPackage;

beforeAll(async () => {
  packed = await installPacked(fileURLToPath(new URL('..', import.meta.url)));
});
afterAll(async () => {
  await packed?.remove();
});

describe('@walbox/sink-postgres as installed from npm', () => {
  it('ships compiled JavaScript and its declarations, not the TypeScript sources', () => {
    expect(packed.files).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'README.md']));
    expect(packed.files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('runs under plain node and applies a batch to the replica', async () => {
    const r = await packed.node(
      `import { createPostgresSink } from '@walbox/sink-postgres';
const sink = createPostgresSink({ connectionString: process.env.REPLICA_URL });
const result = await sink.apply([{ id: '7', namespace: 'users', key: '42', op: 'upsert', payload: { plan: 'pro' }, xid: '1' }]);
console.log(JSON.stringify(result ?? 'applied'));
await sink.close();
`,
      { REPLICA_URL: replica.url },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('"applied"');
    const { rows } = await replica.pool.query(`select payload, version::text from walbox_replica."users"`);
    expect(rows).toEqual([{ payload: { plan: 'pro' }, version: '7' }]);
  });

  it('gives TypeScript users its types through the exports map', async () => {
    const r = await packed.typecheck(
      `import { createPostgresSink, type PostgresSinkConfig } from '@walbox/sink-postgres';
const config: PostgresSinkConfig = { connectionString: 'postgres://x/y', schema: 'replica' };
export const sink = createPostgresSink(config);
// @ts-expect-error not an option: the declarations are real types, not any
createPostgresSink({ connectionString: 'postgres://x/y', schemaName: 'replica' });
`,
    );
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
