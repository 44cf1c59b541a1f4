import { InvalidConfigError } from '../errors.js';
import type { Walbox } from '../walbox.js';

/** What an action did, carried to the page it redirects to as `?done=verb&n=…&of=…`. */
export interface ActionResult {
  done: 'redriven' | 'discarded' | 'replayed';
  n: number;
  of?: number;
  /** Redrive: how many of the selection stayed open because retention dropped their entry from the log. */
  outOfLog?: number;
}

const ID = /^\d{1,19}$/;

/** The operator's verbs, from a posted form: redrive or discard dead letters, replay a range or a mutation. */
export async function runAction(
  walbox: Walbox,
  action: string,
  form: URLSearchParams,
): Promise<ActionResult> {
  if (action === '/dead-letters/redrive' || action === '/dead-letters/discard') {
    const ids = form.getAll('ids').flatMap((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
    if (ids.length === 0) throw new InvalidConfigError('ids', 'select at least one dead letter');
    const bad = ids.find((id) => !ID.test(id));
    if (bad !== undefined) throw new InvalidConfigError('ids', `not a dead-letter id: ${bad}`);
    const redrive = action.endsWith('redrive');
    if (!redrive) return { done: 'discarded', n: await walbox.deadLetters.discard(ids), of: ids.length };
    const n = await walbox.deadLetters.redrive(ids);
    const outOfLog = await walbox.deadLetters.countOutOfLog(ids);
    return { done: 'redriven', n, of: ids.length, ...(outOfLog > 0 ? { outOfLog } : {}) };
  }
  // action === '/replay'
  const field = (name: string) => form.get(name)?.trim() || undefined;
  const transactionId = field('transactionId');
  if (transactionId !== undefined) {
    return { done: 'replayed', n: await walbox.replay({ transactionId, target: field('target') }) };
  }
  const namespace = field('namespace');
  const target = field('target');
  const from = field('from');
  if (namespace === undefined) throw new InvalidConfigError('namespace', 'choose a namespace');
  if (target === undefined) throw new InvalidConfigError('target', 'enter a target');
  if (from === undefined) throw new InvalidConfigError('from', 'enter the first entry id');
  const exclude = (field('exclude') ?? '').split(/[\s,]+/).filter(Boolean);
  const n = await walbox.replay({ namespace, target, from, to: field('to'), exclude });
  return { done: 'replayed', n };
}

/** The flash line for a redirect's query string; nothing for a missing or unknown verb. */
export function flashText(url: URL): string | undefined {
  const done = url.searchParams.get('done');
  const n = Number.parseInt(url.searchParams.get('n') ?? '', 10);
  const of = Number.parseInt(url.searchParams.get('of') ?? '', 10);
  if (!Number.isFinite(n)) return undefined;
  const ofText = Number.isFinite(of) ? ` of ${of}` : '';
  const gone = Number.parseInt(url.searchParams.get('gone') ?? '', 10);
  const goneText =
    gone > 0
      ? ` ${gone} stayed open: retention dropped ${gone === 1 ? 'its entry' : 'their entries'} from the log, so ` +
        `${gone === 1 ? 'it' : 'they'} cannot be redriven; discard ${gone === 1 ? 'it' : 'them'}.`
      : '';
  switch (done) {
    case 'redriven':
      return `Redriven ${n}${ofText} dead letter${plural(of || n)}: they are delivered again, in log order per key.${goneText}`;
    case 'discarded':
      return `Discarded ${n}${ofText} dead letter${plural(of || n)}.`;
    case 'replayed':
      return `Queued ${n} entr${n === 1 ? 'y' : 'ies'} for replay.`;
    default:
      return undefined;
  }
}

function plural(n: number): string {
  return n === 1 ? '' : 's';
}
