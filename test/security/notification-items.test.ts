import { describe, expect, it } from 'vitest';
import { KnownNamespaces, parseItem } from '../../src/dispatch/notification-router.js';
import type { NamespaceConfig } from '../../src/namespace-config.js';

describe('NOTIFY items', () => {
  it.each([
    ['orders', { namespace: 'orders' }],
    ['orders:0', { namespace: 'orders', partition: 0 }],
    ['billing.invoices-eu:15', { namespace: 'billing.invoices-eu', partition: 15 }],
    ['orders:2147483647', { namespace: 'orders', partition: 2147483647 }],
  ])('%s is an item walbox sends', (item, parsed) => {
    expect(parseItem(item)).toEqual(parsed);
  });

  it.each([
    'orders:NaN',
    'orders:-1',
    'orders:1.5',
    'orders:1e3',
    'orders:01',
    'orders: 0',
    'orders:',
    ':0',
    'Orders:0',
    'orders:0:0',
    'orders:2147483648',
    `${'a'.repeat(64)}:0`,
    '\u001b[31m',
    'a;drop table x',
    '',
  ])('%j is ignored', (item) => {
    expect(parseItem(item)).toBeUndefined();
  });
});

describe('KnownNamespaces', () => {
  const ns = (name: string, partitions: number) => ({ name, partitions }) as NamespaceConfig;

  it('reads the list once for a burst of unknown names, and defers those that arrived after the read', async () => {
    let now = 1000;
    let reads = 0;
    let list = [ns('a', 2)];
    const known = new KnownNamespaces(
      async () => {
        reads++;
        return list;
      },
      1000,
      5000,
      () => now,
    );
    expect(await known.lookup('a', 1, now)).toMatchObject({ name: 'a' });
    expect(reads).toBe(1);
    for (let i = 0; i < 100; i++) expect(await known.lookup(`junk${i}`, 0, 500)).toBeUndefined();
    expect(await known.lookup('a', 7, 500)).toBeUndefined();
    expect(reads).toBe(1);
    // A namespace created after the read: its item arrived later, so it waits for the next read.
    now = 1200;
    list = [ns('a', 2), ns('b', 1)];
    expect(await known.lookup('b', 0, 1100)).toBe('later');
    now = 2001;
    expect(await known.lookup('b', 0, 1100)).toMatchObject({ name: 'b' });
    expect(reads).toBe(2);
  });
});
