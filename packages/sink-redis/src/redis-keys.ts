import type { RedisSinkEntry, ResolvedRedisSinkConfig } from './redis-sink-config.js';

/**
 * The value key and the version key of an entry. With `hashTag`, the part after the prefix is wrapped in
 * braces: Redis Cluster hashes only the text between a key's first `{` and the first `}` after it, and that
 * text is the same in both keys, since the version key is the value key plus a suffix. A key containing `}`
 * is cut short there (`{users:a}b}` hashes `users:a`), which still puts both keys in one slot. Only an empty
 * tag would make Redis hash the whole key: a name that is empty or starts with `}` (a walbox namespace starts
 * with a letter, so only keyFor can return one) fails its entry, and the config refuses braces in the prefix.
 */
export function entryKeys(config: ResolvedRedisSinkConfig): (e: RedisSinkEntry) => [string, string] {
  return (e) => {
    const name = config.keyFor ? config.keyFor(e) : `${e.namespace}:${e.key}`;
    if (config.hashTag && (name === '' || name.startsWith('}')))
      throw new TypeError(`key ${JSON.stringify(name)} would leave an empty hash tag`);
    const value = config.keyPrefix + (config.hashTag ? `{${name}}` : name);
    return [value, value + config.versionSuffix];
  };
}
