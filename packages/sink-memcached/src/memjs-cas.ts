import memjs from 'memjs';
import { connectionError, MemcachedTimeoutError } from './memcached-errors.js';
import type { MemjsClient } from './memcached-sink-config.js';

// memjs 1.3 speaks the binary protocol but its get() drops the CAS token of the answer and its set() cannot
// send one. These requests go through memjs's own perform(), so server choice, retries, timeouts and SASL stay
// memjs's; only the 24-byte header's CAS field (bytes 16..23) is read and written here. Each request is also
// bounded by a deadline of its own: memjs has lost callbacks (see memjs-socket-guard.ts), and a client passed
// in by the caller is not guarded.

/** Where requests go, and how long one may take in all (memjs's retries included) before it fails. */
export interface Memcached {
  client: MemjsClient;
  deadlineMs: number;
}

const GET = 0x00;
const SET = 0x01;
const ADD = 0x02;

const OK = 0x0000;
const NOT_FOUND = 0x0001;
const EXISTS = 0x0002;
const NOT_STORED = 0x0005;

/** Memcached answered with an error status (value too large, out of memory...): the entry fails, not the batch. */
export class MemcachedStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'MemcachedStatusError';
  }
}

export interface CasItem {
  value: Buffer;
  cas: Buffer;
}

/** GET that keeps the CAS token; null when the key is absent. */
export async function gets(mc: Memcached, key: string): Promise<CasItem | null> {
  const res = await request(mc, 'GET', GET, key, Buffer.alloc(0), Buffer.alloc(0));
  if (res.header.status === NOT_FOUND) return null;
  if (res.header.status !== OK) throw statusError('GET', key, res.header.status);
  return { value: Buffer.from(res.val), cas: Buffer.from(res.header.cas) };
}

/** ADD: false when the key exists already. */
export async function add(mc: Memcached, key: string, value: Buffer, expires: number): Promise<boolean> {
  const res = await request(mc, 'ADD', ADD, key, extras(expires), value);
  if (res.header.status === EXISTS || res.header.status === NOT_STORED) return false;
  if (res.header.status !== OK) throw statusError('ADD', key, res.header.status);
  return true;
}

/** SET only if the item still carries `cas`: false when someone changed, evicted or deleted it since. */
export async function cas(
  mc: Memcached,
  key: string,
  value: Buffer,
  token: Buffer,
  expires: number,
): Promise<boolean> {
  const res = await request(mc, 'CAS', SET, key, extras(expires), value, token);
  const { status } = res.header;
  if (status === EXISTS || status === NOT_FOUND || status === NOT_STORED) return false;
  if (status !== OK) throw statusError('CAS', key, status);
  return true;
}

/** Flags (0) and expiry in seconds, as SET and ADD take them. */
function extras(expires: number): Buffer {
  const buf = Buffer.alloc(8);
  buf.writeUInt32BE(expires, 4);
  return buf;
}

function request(
  { client, deadlineMs }: Memcached,
  op: string,
  opcode: number,
  key: string,
  extras: Buffer,
  value: Buffer,
  token?: Buffer,
): Promise<memjs.Response> {
  return new Promise((resolve, reject) => {
    client.incrSeq();
    const seq = client.seq;
    const buf = memjs.Utils.makeRequestBuffer(opcode, key, extras, value, seq);
    token?.copy(buf, 16, 0, 8);
    const deadline = setTimeout(
      () =>
        reject(
          new MemcachedTimeoutError(`memcached ${op} ${JSON.stringify(key)}: no answer in ${deadlineMs} ms`),
        ),
      deadlineMs,
    );
    // A callback after the deadline settles nothing: the promise is rejected already.
    client.perform(key, buf, seq, (err: unknown, res: memjs.Response) => {
      clearTimeout(deadline);
      if (err) reject(connectionError(op, key, err));
      else resolve(res);
    });
  });
}

function statusError(op: string, key: string, status: number): MemcachedStatusError {
  const text = STATUS_TEXT[status] ?? `status 0x${status.toString(16)}`;
  return new MemcachedStatusError(status, `memcached ${op} ${JSON.stringify(key)}: ${text}`);
}

const STATUS_TEXT: Record<number, string> = {
  3: 'value too large',
  4: 'invalid arguments',
  6: 'incr/decr on a non-numeric value',
  7: 'the vbucket belongs to another server',
  8: 'authentication error',
  129: 'unknown command',
  130: 'out of memory',
  131: 'not supported',
  132: 'internal error',
  133: 'busy',
  134: 'temporary failure',
};
