import type { BenchChild } from './bench-child.js';
import type { DeliverySummary } from './delivery-stats.js';
import { fmt } from './measure.js';

export const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
export const ms = (n: number) => (Number.isNaN(n) ? 'n/a' : `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`);
export const us = (n: number) => (Number.isNaN(n) ? 'n/a' : n.toFixed(n < 10 ? 1 : 0));
export const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSED');

/** CPU per entry by process, so that a figure can be read apart from the machine's load and core count. */
export const cpuText = (
  c: { producers: number; pgProducers: number; pgConsumer: number; consumer: number },
  consumer = 'dispatcher',
) =>
  `cpu µs/entry: producers ${us(c.producers)} + their backends ${us(c.pgProducers)}, ${consumer} ${us(c.consumer)} + its backends ${us(c.pgConsumer)}`;

export const waitedText = (r: { waited: number }) =>
  r.waited > 0.02 ? `  producers waited ${Math.round(100 * r.waited)}% of the time (consumer-bound)` : '';

export const latencyText = (r: { s: DeliverySummary; rtt: number }) =>
  `p50 ${ms(r.s.p50)} p99 ${ms(r.s.p99)} [from COMMIT sent: p99 ${ms(r.s.p99FromSent)}; COMMIT took ${ms(r.rtt)}${r.s.early > 0.01 ? `; ${(100 * r.s.early).toFixed(1)}% applied before COMMIT was seen to return` : ''}]`;

/** The statements the child's dispatcher ran, per delivered batch (BENCH_QUERY_STATS=1). */
export function queryStatsLines(child: BenchChild): string[] {
  if (child.queries.length === 0) return [];
  const rows = [...child.queries].sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((n, [, count]) => n + count, 0);
  return [
    `    ${fmt.rate(child.batches)} batches of ${(child.delivered / child.batches).toFixed(0)} entries avg; ${(total / child.batches).toFixed(1)} statements per batch:`,
    ...rows
      .slice(0, 12)
      .map(
        ([text, count, total]) =>
          `    ${(count / child.batches).toFixed(2).padStart(7)}/batch ${(total / count).toFixed(2).padStart(7)} ms  ${text}`,
      ),
  ];
}
