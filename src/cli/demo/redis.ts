import { connect } from 'node:net';
import type { Sink } from '../../dispatch/sink.js';

export interface DemoRedis {
  sink: Sink;
  url: string;
  keyPrefix: string;
  /** The value the sink left for a key of a namespace (null when absent). */
  get(namespace: string, key: string): Promise<string | null>;
  /** Deletes the demo's keys (before the sink is closed: the sink's client is used). */
  clear(keys: Array<[namespace: string, key: string]>): Promise<void>;
}

/** The part of the sink's ioredis client the demo uses. */
interface RedisClient {
  get(key: string): Promise<string | null>;
  del(...keys: string[]): Promise<number>;
}

/**
 * A real Redis target for the demo, when a Redis server answers (REDIS_URL, else 127.0.0.1:6379) and the
 * workspace package packages/sink-redis is installed. Otherwise the reason it is skipped.
 */
export async function openDemoRedis(keyPrefix: string): Promise<DemoRedis | { skipped: string }> {
  const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  if (!(await reachable(url))) return { skipped: `no Redis answers at ${redactUrl(url)} (set REDIS_URL)` };
  let mod: { createRedisSink?: (config: object) => Sink & { client: RedisClient } };
  try {
    // A variable, not a literal: the core is built without the sink package's types (it may not be built yet).
    const specifier = '@walbox/sink-redis';
    mod = (await import(specifier)) as typeof mod;
  } catch (err) {
    return { skipped: `packages/sink-redis is not installed (${firstLine(err)})` };
  }
  if (typeof mod.createRedisSink !== 'function')
    return { skipped: '@walbox/sink-redis has no createRedisSink' };
  const sink = mod.createRedisSink({ name: 'redis', url, keyPrefix });
  const client = sink.client;
  const full = (namespace: string, key: string) => `${keyPrefix}${namespace}:${key}`;
  return {
    sink,
    url: redactUrl(url),
    keyPrefix,
    get: (namespace, key) => client.get(full(namespace, key)),
    clear: async (keys) => {
      const all = keys.flatMap(([ns, k]) => [full(ns, k), `${full(ns, k)}#version`]);
      if (all.length > 0) await client.del(...all).catch(() => {});
    },
  };
}

function reachable(url: string): Promise<boolean> {
  let host = '127.0.0.1';
  let port = 6379;
  try {
    const u = new URL(url);
    host = u.hostname || host;
    port = Number(u.port) || port;
  } catch {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!;
}
