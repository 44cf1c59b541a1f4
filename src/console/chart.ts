import type { Sample } from './history.js';
import { type Html, html, trusted } from './html.js';

const W = 180;
const H = 40;

/**
 * A small inline SVG of one target's recent history: pending entries as a filled area (left scale), and
 * entries delivered per second as a line (its own scale). Built from numbers only, so nothing needs escaping.
 */
export function historyChart(samples: readonly Sample[]): Html {
  if (samples.length < 2) return html`<span class="muted">collecting…</span>`;
  const t0 = samples[0]!.at;
  const span = Math.max(1, samples[samples.length - 1]!.at - t0);
  const x = (at: number) => ((at - t0) / span) * W;
  const maxPending = Math.max(1, ...samples.map((s) => s.pending));
  const rates = samples.slice(1).map((s, i) => {
    const prev = samples[i]!;
    const seconds = (s.at - prev.at) / 1000;
    return { at: s.at, rate: seconds > 0 ? Math.max(0, s.delivered - prev.delivered) / seconds : 0 };
  });
  const maxRate = Math.max(1, ...rates.map((r) => r.rate));
  const y = (v: number, max: number) => (H - 2 - (v / max) * (H - 4)).toFixed(1);
  const area = [
    `M0,${H}`,
    ...samples.map((s) => `L${x(s.at).toFixed(1)},${y(s.pending, maxPending)}`),
    `L${W},${H}Z`,
  ].join(' ');
  const line = rates
    .map((r, i) => `${i === 0 ? 'M' : 'L'}${x(r.at).toFixed(1)},${y(r.rate, maxRate)}`)
    .join(' ');
  const minutes = Math.round(span / 60_000);
  const label = `pending (max ${maxPending}) and delivered per second (max ${maxRate.toFixed(1)}) over ${minutes < 1 ? `${Math.round(span / 1000)} s` : `${minutes} min`}`;
  return trusted(
    `<svg class="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${label}">` +
      `<title>${label}</title>` +
      `<path d="${area}" class="pending"/><path d="${line}" class="rate"/></svg>`,
  );
}
