// The console's pure pieces: escaping, credentials, the flash line, throughput and the chart.
import { describe, expect, it } from 'vitest';
import { flashText } from '../../src/console/actions.js';
import { historyChart } from '../../src/console/chart.js';
import { StatusHistory } from '../../src/console/history.js';
import { html, prettyJson, trusted } from '../../src/console/html.js';
import { basicAuthorized, csrfToken } from '../../src/console/security.js';
import type { TargetStatus } from '../../src/index.js';

describe('html', () => {
  it('escapes every interpolated value, in text and in attributes, and nests fragments as they are', () => {
    const key = `<img src=x onerror="alert(1)">'&\``;
    const inner = html`<code>${key}</code>`;
    const out = html`<a title="${key}">${inner}${[1, null, undefined, false, 'x']}</a>`.text;
    expect(out).toBe(
      '<a title="&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;&#96;">' +
        '<code>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;&#96;</code>1x</a>',
    );
    expect(html`${trusted('<b>')}`.text).toBe('<b>');
  });

  it('cuts a huge payload', () => {
    const text = prettyJson({ s: 'x'.repeat(100) }, 20);
    expect(text).toMatch(/^.{20}\n… \(\d+ more characters\)$/s);
  });
});

describe('basicAuthorized', () => {
  const header = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
  it.each([
    ['ops:pa:ss', true],
    ['ops:pa:s', false],
    ['Ops:pa:ss', false],
    ['ops', false],
    ['', false],
  ])('%j → %s', (given, ok) => {
    expect(basicAuthorized(header(given), 'ops', 'pa:ss')).toBe(ok);
  });
  it('refuses a missing or non-basic header', () => {
    expect(basicAuthorized(null, 'ops', 'x')).toBe(false);
    expect(basicAuthorized('Bearer abc', 'ops', 'x')).toBe(false);
  });
});

describe('csrfToken', () => {
  it('is stable for a secret, and differs between random secrets', () => {
    expect(csrfToken('s'.repeat(16))).toBe(csrfToken('s'.repeat(16)));
    expect(csrfToken(undefined)).not.toBe(csrfToken(undefined));
  });
});

describe('flashText', () => {
  const flash = (q: string) => flashText(new URL(`http://x/?${q}`));
  it('says what an action did, and nothing for a forged verb', () => {
    expect(flash('done=redriven&n=2&of=3')).toBe(
      'Redriven 2 of 3 dead letters: they are delivered again, in log order per key.',
    );
    expect(flash('done=replayed&n=1')).toBe('Queued 1 entry for replay.');
    expect(flash('done=<b>hi</b>&n=1')).toBeUndefined();
    expect(flash('done=redriven')).toBeUndefined();
  });
});

describe('StatusHistory', () => {
  const status = (pending: number, delivered: number) =>
    [{ namespace: 'n', target: 't', pending, delivered }] as TargetStatus[];
  it('keeps the newest samples and measures delivered per second over them', () => {
    const h = new StatusHistory(async () => [], 1000, 3);
    expect(h.throughput('n', 't')).toBeUndefined();
    h.record(status(5, 0), 0);
    h.record(status(3, 10), 1000);
    h.record(status(0, 30), 2000);
    h.record(status(0, 30), 3000);
    expect(h.series('n', 't').map((s) => s.at)).toEqual([1000, 2000, 3000]);
    expect(h.throughput('n', 't')).toBe(10);
    expect(h.throughput('n', 't', 2)).toBe(0);
    expect(historyChart(h.series('n', 't')).text).toMatch(/^<svg [^>]*role="img"/);
    expect(historyChart([]).text).toContain('collecting');
  });
});
