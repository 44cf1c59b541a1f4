/** Where progress goes: stderr by default, so that a command's result on stdout stays parseable. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  /** A terminal's width: a live line is cut to it, since a wrapped line cannot be rewritten in place. */
  columns?: number;
}

/** More than a count: `text` follows the counts and rate on a line, `fields` join the NDJSON object. */
export interface ProgressDetail {
  text: string;
  fields: Record<string, unknown>;
}

export interface ProgressOptions {
  /** What is being done: "replay users → cache", "redrive dead letters". */
  label: string;
  /** How many items there are, when known: adds a percentage, a bar and an estimate of the time left. */
  total?: number;
  /** NDJSON lines `{"progress":label,"done":n,"total":n,"ratePerSec":r,"elapsedMs":t}` instead of text. */
  json?: boolean;
  stream?: ProgressStream;
  /** Least time between two renders (a TTY line is rewritten in place; other outputs get a line each). */
  intervalMs?: number;
  /** The clock, for tests. */
  now?: () => number;
}

/**
 * Progress of a long operation: a live line with counts, rate and time left on a terminal, one line every
 * `intervalMs` (default 5 s) when the output is a file or a pipe, or NDJSON for scripts. `update(done)` is
 * cheap to call per item: it renders at most once per interval. `finish()` renders the final count.
 */
export class Progress {
  readonly #stream: ProgressStream;
  readonly #now: () => number;
  readonly #interval: number;
  readonly #start: number;
  #done = 0;
  #detail: ProgressDetail | undefined;
  #renderedAt = Number.NEGATIVE_INFINITY;
  #finished = false;

  constructor(private readonly options: ProgressOptions) {
    this.#stream = options.stream ?? process.stderr;
    this.#now = options.now ?? Date.now;
    this.#interval = options.intervalMs ?? (this.#stream.isTTY && !options.json ? 200 : 5000);
    this.#start = this.#now();
  }

  update(done: number, detail?: ProgressDetail): void {
    this.#done = done;
    this.#detail = detail;
    if (this.#now() - this.#renderedAt >= this.#interval) this.#render(false);
  }

  finish(done = this.#done, detail = this.#detail): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#done = done;
    this.#detail = detail;
    this.#render(true);
  }

  /** Ends a live line that will not be finished (the operation failed), so that what follows starts clean. */
  abandon(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#stream.isTTY && !this.options.json && this.#renderedAt > Number.NEGATIVE_INFINITY) {
      this.#stream.write('\n');
    }
  }

  #render(final: boolean): void {
    const now = this.#now();
    this.#renderedAt = now;
    const elapsedMs = now - this.#start;
    const rate = elapsedMs > 0 ? (this.#done * 1000) / elapsedMs : 0;
    const { label, total, json } = this.options;
    if (json) {
      const line = {
        progress: label,
        done: this.#done,
        total: total ?? null,
        ratePerSec: round(rate),
        elapsedMs,
        final,
        ...this.#detail?.fields,
      };
      this.#stream.write(`${JSON.stringify(line)}\n`);
      return;
    }
    const parts = [label, total === undefined ? count(this.#done) : `${count(this.#done)}/${count(total)}`];
    if (total !== undefined && total > 0) {
      const share = Math.min(1, this.#done / total);
      parts.push(`${bar(share)} ${(share * 100).toFixed(1)}%`);
    }
    parts.push(`${count(Math.round(rate))}/s`);
    if (this.#detail) parts.push(this.#detail.text);
    if (final) parts.push(`in ${seconds(elapsedMs)}`);
    else if (total !== undefined && rate > 0 && this.#done < total) {
      parts.push(`eta ${seconds(((total - this.#done) / rate) * 1000)}`);
    }
    let text = parts.join('  ');
    if (this.#stream.isTTY) {
      const width = this.#stream.columns;
      if (width !== undefined && width > 1 && text.length >= width) text = `${text.slice(0, width - 2)}…`;
      this.#stream.write(`\r\u001b[2K${text}${final ? '\n' : ''}`);
    } else this.#stream.write(`${text}\n`);
  }
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function bar(share: number, width = 20): string {
  const full = Math.round(share * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}

function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
