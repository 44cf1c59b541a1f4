import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rabbitmqUrl } from '../../../test/support/brokers.js';
import { installPacked, type PackedPackage } from '../../../test/support/packed-package.js';
import { serverAvailable } from '../../../test/support/required-servers.js';
import { rabbitAdmin } from './rabbit-queues.js';

let packed: PackedPackage;
// The test that publishes is skipped without RABBITMQ_URL or a rabbitmq-server binary; the others need none.
const available = serverAvailable('rabbitmq-server');
const url = available ? await rabbitmqUrl() : '';
const admin = available ? await rabbitAdmin(url) : undefined!;

beforeAll(async () => {
  packed = await installPacked(fileURLToPath(new URL('..', import.meta.url)));
});
afterAll(async () => {
  await packed?.remove();
});

describe('@walbox/sink-rabbitmq as installed from npm', () => {
  it('ships compiled JavaScript and its declarations, not the TypeScript sources', () => {
    expect(packed.files).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'README.md']));
    expect(packed.files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it.runIf(available)('runs under plain node and publishes a batch to RabbitMQ', async () => {
    const { exchange, queue } = await admin.declare();
    const r = await packed.node(
      `import { createRabbitmqSink } from '@walbox/sink-rabbitmq';
const sink = createRabbitmqSink({ url: process.env.RABBITMQ_URL, exchange: process.env.EXCHANGE });
const result = await sink.apply([{ id: '7', namespace: 'users', key: '42', op: 'upsert', payload: { plan: 'pro' } }]);
await sink.close();
console.log(JSON.stringify(result ?? 'published'));
`,
      { RABBITMQ_URL: url, EXCHANGE: exchange },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('"published"');
    expect(await admin.drain(queue)).toMatchObject([
      { messageId: '7', routingKey: 'users.42', body: { plan: 'pro' } },
    ]);
  });

  it('gives TypeScript users its types through the exports map', async () => {
    const r = await packed.typecheck(
      `import { createRabbitmqSink, type RabbitmqSinkConfig } from '@walbox/sink-rabbitmq';
const config: RabbitmqSinkConfig = { url: 'amqp://guest:guest@127.0.0.1:5672', exchange: 'events' };
export const sink = createRabbitmqSink(config);
// @ts-expect-error not an option: the declarations are real types, not any
createRabbitmqSink({ url: 'amqp://127.0.0.1', exchanges: 'x' });
`,
    );
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
