import type { RedisSinkEntry, ResolvedRedisSinkConfig } from './redis-sink-config.js';

/**
 * Appended to a key name (without hashTag) that ends with the version suffix or with itself, so that no value
 * key ever ends with the version suffix: an entry keyed `a#version` gets the value key `walbox:ns:a#version~`
 * and cannot overwrite the version key of entry `a` (`walbox:ns:a#version`). Names that end with neither, all
 * names walbox 0.1 wrote in practice, keep their keys. The config refuses a versionSuffix that ends with it.
 */
export const KEY_ESCAPE = '~';

/**
 * The value key and the version key of an entry. Every entry key gets keys of its own: no value key is
 * another entry's value or version key, whatever the keys contain.
 *
 * - Without hashTag: value `prefix + name` (plus KEY_ESCAPE, see there), version `value + versionSuffix`.
 * - With hashTag, the part after the prefix is wrapped in braces: Redis Cluster hashes only the text between
 *   a key's first `{` and the first `}` after it, and that text is the same in both keys, since the version
 *   key is the value key plus a suffix. A value key then always ends with `}` and a version key never does
 *   (the config refuses a suffix ending with `}`), so no escape is needed. A key containing `}` is cut short
 *   there (`{users:a}b}` hashes `users:a`), which still puts both keys in one slot. Only an empty tag would
 *   make Redis hash the whole key: a name that is empty or starts with `}` (a walbox namespace starts with a
 *   letter, so only keyFor can return one) fails its entry, and the config refuses braces in the prefix.
 */
export function entryKeys(config: ResolvedRedisSinkConfig): (e: RedisSinkEntry) => [string, string] {
  const { keyPrefix, versionSuffix, hashTag } = config;
  return (e) => {
    const name = config.keyFor ? config.keyFor(e) : `${e.namespace}:${e.key}`;
    if (typeof name !== 'string') throw new TypeError('keyFor must return a string');
    if (hashTag && (name === '' || name.startsWith('}')))
      throw new TypeError(`key ${JSON.stringify(name)} would leave an empty hash tag`);
    const value = keyPrefix + (hashTag ? `{${name}}` : escapeName(name, versionSuffix));
    return [value, value + versionSuffix];
  };
}

function escapeName(name: string, versionSuffix: string): string {
  return name.endsWith(versionSuffix) || name.endsWith(KEY_ESCAPE) ? name + KEY_ESCAPE : name;
}
