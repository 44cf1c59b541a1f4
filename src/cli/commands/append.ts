import type { Command } from 'commander';
import type { Entry, EntryInput } from '../../entry.js';
import { withWalbox } from '../context.js';
import { json, list, number } from '../parse.js';

interface AppendOptions {
  op: string;
  partitionKey?: string;
  payload?: string;
  before?: string;
  headers?: string;
  targets?: string[];
  delayMs?: number;
  jitterMs?: number;
  idempotencyKey?: string;
  actor?: string;
}

export function registerAppend(program: Command): void {
  program
    .command('append')
    .description('append one entry to the log (in its own transaction) and print the stored entry')
    .argument('<namespace>')
    .argument('<key>', 'the ordering key: entries of one (namespace, key) are delivered in commit order')
    .option('--op <op>', "'upsert', 'delete' or a custom verb", 'upsert')
    .option(
      '--partition-key <value>',
      "route to this value's partition instead of the key's (related keys together)",
    )
    .option('--payload <json>', 'the payload, as JSON (default null)')
    .option('--before <json>', 'the before-image, as JSON')
    .option('--headers <json>', 'headers, as a JSON object')
    .option('--targets <list>', "deliver to only these of the namespace's targets, comma-separated", list)
    .option('--delay-ms <ms>', 'deliver no earlier than this long after the append', number)
    .option('--jitter-ms <ms>', 'plus a random 0..jitter ms (with --delay-ms)', number)
    .option('--idempotency-key <key>', 'a second append with this key returns the first entry')
    .option('--actor <name>', 'who made the change (default: the database user)')
    .action((namespace: string, key: string, o: AppendOptions, cmd: Command) =>
      withWalbox(cmd, async (walbox, out) => {
        const entry: EntryInput = { namespace, key, op: o.op, payload: json('payload', o.payload) ?? null };
        if (o.partitionKey !== undefined) entry.partitionKey = o.partitionKey;
        if (o.before !== undefined) entry.before = json('before', o.before);
        if (o.headers !== undefined) entry.headers = json('headers', o.headers) as Record<string, unknown>;
        if (o.targets !== undefined) entry.targets = o.targets;
        if (o.delayMs !== undefined || o.jitterMs !== undefined) {
          entry.delay = { ms: o.delayMs ?? 0, ...(o.jitterMs === undefined ? {} : { jitterMs: o.jitterMs }) };
        }
        if (o.idempotencyKey !== undefined) entry.idempotencyKey = o.idempotencyKey;
        if (o.actor !== undefined) entry.actor = o.actor;
        const stored = await walbox.append(walbox.pool, entry);
        out.result(stored, (e) => out.record(summary(e)));
      }),
    );
}

function summary(e: Entry) {
  return {
    id: e.id,
    namespace: e.namespace,
    key: e.key,
    op: e.op,
    partition: e.partition,
    partitionKey: e.partitionKey,
    targets: e.targets.join(','),
    deliverAt: e.deliverAt ?? '(now)',
    idempotencyKey: e.idempotencyKey,
    actor: e.actor,
    transaction: e.xid,
    createdAt: e.createdAt,
    payload: e.payload,
  };
}
