import {
  abortable,
  defaultAction,
  type FailedEntry,
  groupByTransaction,
  type SinkEntry,
} from '@walbox/sink-kit';
import type { Cluster, Redis } from 'ioredis';
import { type UniqueViolation, UniqueViolationError } from './errors.js';
import type { IndexSet, ResolvedIndex } from './index-definition.js';
import type { IndexStore } from './index-store.js';
import { type KeyChange, planChanges } from './key-change.js';
import { asRebuildError, createClient, indexScripts, isAboutEntry } from './redis-index-client.js';
import type { ResolvedRedisIndexSinkConfig } from './redis-index-sink-config.js';

type Client = Redis | Cluster;

/** `<byte length>:<value>` one after the other: any value, ':' and '|' included, decodes back. */
const encode = (values: readonly string[]) => values.map((v) => `${Buffer.byteLength(v)}:${v}`).join('');

function decodeBytes(s: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0; pos < s.length; ) {
    const colon = s.indexOf(58, pos); // ':'
    const len = Number(s.subarray(pos, colon).toString());
    out.push(s.subarray(colon + 1, colon + 1 + len));
    pos = colon + 1 + len;
  }
  return out;
}

/**
 * The Redis side of the index sink: one script run per source transaction and namespace, every key of a
 * namespace under one hash tag.
 */
export function redisIndexStore(
  config: ResolvedRedisIndexSinkConfig,
  indexes: IndexSet,
): IndexStore & { client: Client } {
  const owned = config.client === undefined;
  const client = config.client ?? createClient(config);
  const scripts = indexScripts(client);
  const base = (ns: string) => `${config.keyPrefix}{${ns}}:`;
  const meta = (ns: string) => `${base(ns)}meta`;
  const policy = config.onUniqueViolation === 'fail' ? 'fail' : 'report';
  const actionOf = config.actionFor ?? defaultAction;

  /** One script run: the changes of one source transaction in one namespace. */
  const run = (changes: readonly KeyChange[], mode: 'live' | 'gen', gen = '', ifAbsent = false) =>
    scripts.apply(
      meta(changes[0]!.namespace),
      base(changes[0]!.namespace),
      mode,
      gen,
      ifAbsent ? '1' : '0',
      policy,
      String(changes.length),
      ...changes.flatMap((c) => [
        c.key,
        c.id,
        String(c.indexes.length),
        ...c.indexes.flatMap(({ index, values }) => [index.name, index.unique ? '1' : '0', encode(values)]),
      ]),
    );

  const generation = async (index: ResolvedIndex, step: string, arg = '') => {
    try {
      return await scripts.generation(meta(index.namespace), step, index.name, arg);
    } catch (error) {
      throw asRebuildError(index, error);
    }
  };

  return {
    client,
    async apply(batch, signal) {
      const failed: FailedEntry[] = [];
      const violations: UniqueViolation[] = [];
      const broken = new Set<string>();
      const fail = (entries: readonly SinkEntry[], error: unknown) => {
        for (const e of entries) {
          failed.push({ id: e.id, error });
          broken.add(keyOf(e));
        }
      };
      // Scripts are sent in waves of source transactions with no key in common, each wave at once (answered in
      // order on one connection: a namespace's keys are on one cluster node): a transaction that fails then
      // holds back the later ones of its keys, as the dispatcher requires.
      let wave: Array<{ entries: SinkEntry[]; changes: KeyChange[] }> = [];
      let waveKeys = new Set<string>();
      const flush = async () => {
        const sent = wave;
        wave = [];
        waveKeys = new Set();
        if (sent.length === 0) return;
        const replies = await abortable(
          Promise.all(
            sent.map((t) =>
              run(t.changes, 'live').then(
                (r) => ({ r }),
                (error: Error) => ({ error }),
              ),
            ),
          ),
          signal,
        );
        for (const [i, reply] of replies.entries()) {
          const t = sent[i]!;
          if ('error' in reply) {
            if (!isAboutEntry(reply.error)) throw reply.error; // no answer, or Redis cannot write now: retry the batch
            fail(t.entries, reply.error);
            continue;
          }
          const found = conflicts(t.changes[0]!.namespace, reply.r[1]);
          if (reply.r[0] === 'refused') fail(t.entries, new UniqueViolationError(found[0]!));
          else violations.push(...found);
        }
      };
      for (const { entries: all } of groupByTransaction(batch))
        for (const entries of byNamespace(all)) {
          if (entries.some((e) => waveKeys.has(keyOf(e)))) await flush();
          const earlier = entries.find((e) => broken.has(keyOf(e)));
          if (earlier) {
            fail(
              entries,
              new Error(`an earlier entry of key ${JSON.stringify(earlier.key)} failed in this batch`),
            );
            continue;
          }
          const plan = planChanges(entries, indexes, actionOf);
          if (plan.failed.length > 0) fail(entries, plan.failed[0]!.error);
          if (plan.failed.length > 0 || plan.changes.length === 0) continue;
          wave.push({ entries, changes: plan.changes });
          for (const e of entries) waveKeys.add(keyOf(e));
        }
      await flush();
      return { failed, violations };
    },
    async lookup(index, value) {
      const keys = (await scripts.read(
        meta(index.namespace),
        'lookup',
        base(index.namespace),
        index.name,
        value,
      )) as string[];
      return keys.sort();
    },
    async violations(index) {
      const found = (await scripts.read(
        meta(index.namespace),
        'violations',
        base(index.namespace),
        index.name,
      )) as Array<[string, string[]]>;
      return found
        .map(([value, keys]) => ({
          namespace: index.namespace,
          index: index.name,
          value,
          keys: keys.sort(),
          entryId: undefined,
        }))
        .sort((a, b) => (a.value < b.value ? -1 : 1));
    },
    async beginGeneration(index, force) {
      const [gen, replaced] = (await generation(index, 'begin', force ? '1' : '0')) as [string, string];
      return { gen: Number(gen), replaced: replaced === '' ? undefined : Number(replaced) };
    },
    async writeGeneration(index, gen, changes, ifAbsent) {
      // Changes of one namespace (the index's), in scripts of at most 200 keys so none blocks Redis for long.
      const chunks: KeyChange[][] = [];
      for (let i = 0; i < changes.length; i += 200) chunks.push(changes.slice(i, i + 200));
      const replies = await Promise.all(
        chunks.map((c) =>
          run(c, 'gen', String(gen), ifAbsent).then(
            () => undefined,
            (error: Error) => error,
          ),
        ),
      );
      const error = replies.find((e) => e !== undefined);
      if (error) throw asRebuildError(index, error);
    },
    async finishGeneration(index, gen) {
      return Number(await generation(index, 'finish', String(gen)));
    },
    async abandonGeneration(index, gen) {
      await generation(index, 'abandon', String(gen));
    },
    async dropGeneration(index, gen) {
      const prefix = `${base(index.namespace)}${index.name}:${gen}`;
      let cursor = '0';
      do {
        const [next, fields] = await client.hscanBuffer(`${prefix}:k`, cursor, 'COUNT', 500);
        cursor = next.toString();
        const sets = new Set<string>();
        for (let i = 1; i < fields.length; i += 2) {
          const rec = fields[i]!;
          for (const v of decodeBytes(rec.subarray(rec.indexOf(124) + 1))) sets.add(v.toString('latin1'));
        }
        const keys = [...sets].map((v) =>
          Buffer.concat([Buffer.from(`${prefix}:v:`), Buffer.from(v, 'latin1')]),
        );
        for (let i = 0; i < keys.length; i += 500) await client.del(...keys.slice(i, i + 500));
      } while (cursor !== '0');
      await client.del(`${prefix}:k`, `${prefix}:dup`);
    },
    async generations(index) {
      const [current, building] = (await generation(index, 'state')) as [string, string];
      return { current: Number(current), building: building === '' ? undefined : Number(building) };
    },
    async close() {
      if (!owned) return;
      if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
      else client.disconnect();
    },
  };
}

/** The violations a script reported: index, value, the claiming entry's id, n, then n keys. */
function conflicts(namespace: string, flat: string[]): UniqueViolation[] {
  const out: UniqueViolation[] = [];
  for (let i = 0; i < flat.length; ) {
    const [index, value, entryId, n] = [flat[i]!, flat[i + 1]!, flat[i + 2]!, Number(flat[i + 3])];
    out.push({ namespace, index, value, keys: flat.slice(i + 4, i + 4 + n), entryId });
    i += 4 + n;
  }
  return out;
}

const keyOf = (e: { namespace: string; key: string }) => `${e.namespace}\u0000${e.key}`;

/** A source transaction's entries split by namespace (one script per namespace: its own hash tag). */
function byNamespace(entries: readonly SinkEntry[]): SinkEntry[][] {
  const groups = new Map<string, SinkEntry[]>();
  for (const e of entries) {
    const list = groups.get(e.namespace);
    if (list) list.push(e);
    else groups.set(e.namespace, [e]);
  }
  return [...groups.values()];
}
