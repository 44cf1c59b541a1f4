import { connect } from 'node:net';
import { createRedisSink, type RedisSink } from '@walbox/sink-redis';

export interface DemoRedis {
  sink: RedisSink;
  url: string;
  keyPrefix: string;
  /** The value the sink left for a key of a namespace (null when absent). */
  get(namespace: string, key: string): Promise<string | null>;
  /** Deletes the demo's keys (before the sink is closed: the sink's client is used). */
  clear(keys: Array<[namespace: string, key: string]>): Promise<void>;
}

// The demo names its keys itself (the sink's defaults, spelled out), so that it can read and delete them.
const VERSION_SUFFIX = '#version';
const keyOf = (namespace: string, key: string) => `${namespace}:${key}`;

/**
 * A real Redis target for the demo, @walbox/sink-redis, when a Redis server answers (REDIS_URL, else
 * 127.0.0.1:6379). Otherwise the reason it is skipped.
 */
export async function openDemoRedis(keyPrefix: string): Promise<DemoRedis | { skipped: string }> {
  const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  if (!(await reachable(url))) return { skipped: `no Redis answers at ${redactUrl(url)} (set REDIS_URL)` };
  const sink = createRedisSink({
    name: 'redis',
    url,
    keyPrefix,
    keyFor: (e) => keyOf(e.namespace, e.key),
    versionSuffix: VERSION_SUFFIX,
  });
  const full = (namespace: string, key: string) => keyPrefix + keyOf(namespace, key);
  return {
    sink,
    url: redactUrl(url),
    keyPrefix,
    get: (namespace, key) => sink.client.get(full(namespace, key)),
    clear: async (keys) => {
      const all = keys.flatMap(([ns, k]) => [full(ns, k), full(ns, k) + VERSION_SUFFIX]);
      if (all.length > 0) await sink.client.del(...all).catch(() => {});
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
