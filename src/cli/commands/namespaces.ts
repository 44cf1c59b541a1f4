import type { Command } from 'commander';
import { UnknownNamespaceError } from '../../errors.js';
import { DEFAULT_RETRY, type NamespaceConfig, type NamespaceConfigInput } from '../../namespace-config.js';
import { withWalbox } from '../context.js';
import { list, number } from '../parse.js';

interface UpsertOptions {
  targets?: string[];
  ordering?: string;
  partitions?: number;
  retryLimit?: number;
  retryInitialDelayMs?: number;
  retryMaxDelayMs?: number;
  retryMultiplier?: number;
  onExhausted?: string;
  maxPayloadBytes?: number;
  retentionHours?: number;
  force?: boolean;
}

export function registerNamespaces(program: Command): void {
  const ns = program
    .command('namespaces')
    .description('the control plane: list, show and configure namespaces');

  ns.command('list')
    .description('every namespace with its configuration')
    .action((_opts, cmd: Command) =>
      withWalbox(cmd, async (walbox, out) => {
        const all = await walbox.namespaces.list();
        out.result(all, (rows) => out.table(rows.map(flat)));
      }),
    );

  ns.command('get')
    .description("one namespace's configuration")
    .argument('<name>')
    .action((name: string, _opts, cmd: Command) =>
      withWalbox(cmd, async (walbox, out) => {
        const config = await walbox.namespaces.get(name);
        if (!config) throw new UnknownNamespaceError(name);
        out.result(config, (c) => out.record(flat(c)));
      }),
    );

  ns.command('upsert')
    .description(
      'create a namespace, or change the given fields of an existing one (validated like walbox.namespaces.upsert)',
    )
    .argument('<name>', '1-63 lower-case letters, digits, _ . -, starting with a letter')
    .option('--targets <list>', 'the targets (sink names) entries go to, comma-separated; "" for none', list)
    .option('--ordering <mode>', "'key' (order per key) or 'namespace' (one total order)")
    .option('--partitions <n>', 'partitions keys are spread over (1-1024)', number)
    .option('--retry-limit <n>', 'retries of a failing entry before onExhausted applies (0-1000)', number)
    .option('--retry-initial-delay-ms <ms>', 'backoff before the first retry', number)
    .option('--retry-max-delay-ms <ms>', 'longest backoff between retries', number)
    .option('--retry-multiplier <x>', 'backoff growth per retry (1-100)', number)
    .option('--on-exhausted <action>', "'dead-letter' (skip, the key moves on) or 'block' (the key waits)")
    .option('--max-payload-bytes <n>', 'largest payload accepted, in UTF-8 bytes of its JSON', number)
    .option('--retention-hours <n>', 'keep log entries at least this long', number)
    .option(
      '--force',
      'change --partitions or --ordering even while entries are undelivered (breaks their per-key order)',
    )
    .addHelpText(
      'after',
      '\nFields not given keep their current value (or the default, for a new namespace).\n' +
        'Changing --partitions or --ordering is refused (NAMESPACE_BUSY) while entries\n' +
        'of the namespace are not yet applied by every target: let the dispatchers\n' +
        'drain it (stop its producers first if it never drains), or pass --force.',
    )
    .action((name: string, opts: UpsertOptions, cmd: Command) =>
      withWalbox(cmd, async (walbox, out) => {
        const existing = await walbox.namespaces.get(name);
        const config = await walbox.namespaces.upsert(merge(name, existing, opts), { force: opts.force });
        out.result(config, (c) => {
          out.line(`${existing ? 'updated' : 'created'} namespace "${c.name}":`);
          out.record(flat(c));
        });
      }),
    );
}

/** The options given, over the existing config: a CLI upsert changes only what it names. */
function merge(name: string, existing: NamespaceConfig | undefined, o: UpsertOptions): NamespaceConfigInput {
  const input: Record<string, unknown> = existing ? { ...existing, retry: { ...existing.retry } } : { name };
  const set = (field: string, value: unknown) => {
    if (value !== undefined) input[field] = value;
  };
  set('targets', o.targets);
  set('ordering', o.ordering);
  set('partitions', o.partitions);
  set('onExhausted', o.onExhausted);
  set('maxPayloadBytes', o.maxPayloadBytes);
  set('retentionHours', o.retentionHours);
  const retry = {
    limit: o.retryLimit,
    initialDelayMs: o.retryInitialDelayMs,
    maxDelayMs: o.retryMaxDelayMs,
    multiplier: o.retryMultiplier,
  };
  if (Object.values(retry).some((v) => v !== undefined)) {
    const base = (input.retry as object | undefined) ?? DEFAULT_RETRY;
    input.retry = {
      ...base,
      ...Object.fromEntries(Object.entries(retry).filter(([, v]) => v !== undefined)),
    };
  }
  return input as NamespaceConfigInput;
}

function flat(c: NamespaceConfig) {
  const r = c.retry;
  return {
    name: c.name,
    ordering: c.ordering,
    partitions: c.partitions,
    targets: c.targets.length === 0 ? '(none)' : c.targets.join(','),
    retry: `limit=${r.limit} initialDelayMs=${r.initialDelayMs} maxDelayMs=${r.maxDelayMs} multiplier=${r.multiplier}`,
    onExhausted: c.onExhausted,
    maxPayloadBytes: c.maxPayloadBytes,
    retentionHours: c.retentionHours,
  };
}
