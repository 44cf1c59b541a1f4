/**
 * No answer in time: memjs's request or connect timeout (memjs tried `retries` times), or the sink's own
 * `requestDeadlineMs` for the whole request. A hung memcached (the process stopped, its port open) fails so.
 * The batch is retried by the dispatcher; `cause` is memjs's error, if it reported one.
 */
export class MemcachedTimeoutError extends Error {
  readonly code = 'MEMCACHED_TIMEOUT';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MemcachedTimeoutError';
  }
}

/** memcached could not be reached or dropped the connection (refused, reset, closed); `cause` is memjs's error. */
export class MemcachedUnavailableError extends Error {
  readonly code = 'MEMCACHED_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MemcachedUnavailableError';
  }
}

/** memjs's report of a failed request (an Error, or for some failures a bare string) as one of the above. */
export function connectionError(op: string, key: string, err: unknown): Error {
  const text = err instanceof Error ? err.message : String(err);
  const where = `memcached ${op} ${JSON.stringify(key)}`;
  // memjs's own timeouts: "socket timed out waiting on response." and "...connecting to server."
  if (/timed out/i.test(text)) return new MemcachedTimeoutError(`${where}: ${text}`, { cause: err });
  return new MemcachedUnavailableError(`${where}: ${text}`, { cause: err });
}
