import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsUrl } from '../../../test/support/brokers.js';
import { installPacked, type PackedPackage } from '../../../test/support/packed-package.js';
import { serverAvailable } from '../../../test/support/required-servers.js';
import { jetstreamAdmin } from './jetstream-streams.js';

let packed: PackedPackage;
// The test that publishes is skipped without NATS_URL or a nats-server binary; the others need no server.
const available = serverAvailable('nats-server');
const url = available ? await natsUrl() : '';
const admin = available ? await jetstreamAdmin(url) : undefined!;

beforeAll(async () => {
  packed = await installPacked(fileURLToPath(new URL('..', import.meta.url)));
});
afterAll(async () => {
  await packed?.remove();
});

describe('@walbox/sink-nats as installed from npm', () => {
  it('ships compiled JavaScript and its declarations, not the TypeScript sources', () => {
    expect(packed.files).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'README.md']));
    expect(packed.files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it.runIf(available)('runs under plain node and publishes a batch to JetStream', async () => {
    const { name, prefix } = await admin.createStream();
    const r = await packed.node(
      `import { createNatsSink } from '@walbox/sink-nats';
const sink = createNatsSink({ servers: process.env.NATS_URL, subject: process.env.PREFIX + '.{namespace}.{key}' });
const result = await sink.apply([{ id: '7', namespace: 'users', key: '42', op: 'upsert', payload: { plan: 'pro' } }]);
await sink.close();
console.log(JSON.stringify(result ?? 'published'));
`,
      { NATS_URL: url, PREFIX: prefix },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('"published"');
    expect(await admin.read(name)).toMatchObject([
      { msgId: '7', subject: `${prefix}.users.42`, body: { plan: 'pro' } },
    ]);
  });

  it('gives TypeScript users its types through the exports map', async () => {
    const r = await packed.typecheck(
      `import { createNatsSink, type NatsSinkConfig } from '@walbox/sink-nats';
const config: NatsSinkConfig = { servers: 'nats://127.0.0.1:4222', subject: 'walbox.{namespace}.{key}' };
export const sink = createNatsSink(config);
// @ts-expect-error not an option: the declarations are real types, not any
createNatsSink({ servers: 'nats://127.0.0.1:4222', subjects: 'x' });
`,
    );
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
