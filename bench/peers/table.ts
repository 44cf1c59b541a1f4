import { loadavg } from '../support/environment.js';
import { fmt } from '../support/measure.js';
import { mib, ms, us } from '../support/report.js';
import type { SystemName } from './consumer-spec.js';

/** One system's figures. CPU is µs per entry; latency is commit (COMMIT seen to return) to handled, ms. */
export interface Row {
  name: SystemName;
  label: string;
  /** Entries/s from the first producer BEGIN to the last entry handled. */
  rate: number;
  /** Entries/s the producers committed, from the first BEGIN to the last COMMIT. */
  appendRate: number;
  p50: number;
  p99: number;
  cpuConsumer: number;
  cpuConsumerBackends: number;
  cpuProducerBackends: number;
  peakRss: number | undefined;
  lost: number;
  duplicates: number;
  outOfOrder: number;
  drained: boolean;
}

/** The issue's goals, as ratios measured in the same run. */
export const GOALS = { overGraphile: 3, ofCeiling: 0.65 };

const HEADER = [
  'system',
  'entries/s',
  'vs walbox',
  'p50',
  'p99',
  'cpu µs/entry: consumer + its backends = total',
  'producers\u2019 backends',
  'peak rss',
  'lost',
  'dup',
  'out of order',
  'committed/s',
];

const total = (r: Row) => r.cpuConsumer + r.cpuConsumerBackends;

/** One run of the sequence, on one line. */
export function roundLine(round: number, rows: readonly Row[]): string {
  const cell = (r: Row) => `${r.name} ${fmt.rate(r.rate)}/s p99 ${ms(r.p99)}`;
  return `round ${String(round).padEnd(5)} ${rows.map(cell).join('  ')}  load ${loadavg()}`;
}

/**
 * Per system, in `order`: its median run by entries/s (the lower middle one of an even count), with lost,
 * duplicate and out-of-order entries summed over every run, since one of them in any run is a finding.
 */
export function medianRows(rounds: readonly (readonly Row[])[], order: readonly SystemName[]): Row[] {
  const out: Row[] = [];
  for (const name of order) {
    const runs = rounds
      .flatMap((rows) => rows.filter((r) => r.name === name))
      .sort((a, b) => a.rate - b.rate);
    if (runs.length === 0) continue;
    const sum = (f: (r: Row) => number) => runs.reduce((n, r) => n + f(r), 0);
    out.push({
      ...runs[Math.floor((runs.length - 1) / 2)]!,
      lost: sum((r) => r.lost),
      duplicates: sum((r) => r.duplicates),
      outOfOrder: sum((r) => r.outOfOrder),
      drained: runs.every((r) => r.drained),
    });
  }
  return out;
}

export function printReport(rows: readonly Row[], rounds = 1): void {
  const walbox = rows.find((r) => r.name === 'walbox');
  const cells = rows.map((r) => [
    r.name,
    fmt.rate(r.rate),
    walbox ? `${fmt.ratio(r.rate / walbox.rate)}x` : 'n/a',
    ms(r.p50),
    ms(r.p99),
    `${us(r.cpuConsumer)} + ${us(r.cpuConsumerBackends)} = ${us(total(r))}`,
    us(r.cpuProducerBackends),
    r.peakRss === undefined ? 'n/a' : mib(r.peakRss),
    `${fmt.rate(r.lost)}${r.drained ? '' : ' (timed out)'}`,
    fmt.rate(r.duplicates),
    fmt.rate(r.outOfOrder),
    fmt.rate(r.appendRate),
  ]);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) =>
    `| ${c.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join(' | ')} |`;
  console.log('');
  if (rounds > 1)
    console.log(`median of ${rounds} runs by entries/s; lost, dup and out of order summed over them`);
  console.log(line(HEADER));
  console.log(
    `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
  );
  for (const c of cells) console.log(line(c));
  console.log('');
  for (const r of rows) console.log(`setup       ${r.name}: ${r.label}`);
  for (const g of goalLines(rows)) console.log(g);
}

function goalLines(rows: readonly Row[]): string[] {
  const by = (n: SystemName) => rows.find((r) => r.name === n);
  const walbox = by('walbox');
  const graphile = by('graphile-worker');
  const ceiling = by('ceiling');
  const met = (ok: boolean) => (ok ? 'met' : 'NOT MET');
  const lines: string[] = [];
  if (walbox && graphile) {
    const x = walbox.rate / graphile.rate;
    lines.push(
      `goal        walbox >= ${GOALS.overGraphile}x graphile-worker batched: ${fmt.ratio(x)}x  ${met(x >= GOALS.overGraphile)}`,
    );
  } else
    lines.push(
      `goal        walbox >= ${GOALS.overGraphile}x graphile-worker batched: n/a (a row is missing)`,
    );
  if (walbox && ceiling) {
    const share = walbox.rate / ceiling.rate;
    lines.push(
      `goal        walbox >= ${GOALS.ofCeiling * 100}% of the ceiling: ${(share * 100).toFixed(0)}%  ${met(share >= GOALS.ofCeiling)}`,
    );
  } else lines.push(`goal        walbox >= ${GOALS.ofCeiling * 100}% of the ceiling: n/a (a row is missing)`);
  if (walbox && (walbox.lost > 0 || walbox.outOfOrder > 0)) {
    lines.push(
      `CORRECTNESS walbox lost ${walbox.lost} and reordered ${walbox.outOfOrder} entries of a key: a defect`,
    );
  }
  return lines;
}
