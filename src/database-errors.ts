import { asSessionError } from './dispatch/session-probe.js';
import { DatabaseUnavailableError, type UnavailableReason } from './errors.js';

/** SQLSTATEs (and Node socket codes) of a Postgres that cannot serve for now, by what they mean. */
const UNAVAILABLE: Record<string, UnavailableReason> = {
  '53300': 'connections-exhausted', // too_many_connections: max_connections reached
  '53400': 'connections-exhausted', // configuration_limit_exceeded: a role's or database's connection limit
  '57P01': 'restarting', // admin_shutdown: pg_ctl stop / restart, pg_terminate_backend
  '57P02': 'restarting', // crash_shutdown: another backend crashed, the server restarts
  '57P03': 'restarting', // cannot_connect_now: starting up, or in recovery
  ECONNREFUSED: 'unreachable',
  ENOTFOUND: 'unreachable',
  ETIMEDOUT: 'unreachable',
  ECONNRESET: 'connection-lost',
  EPIPE: 'connection-lost',
};

/** pg's own messages for a connection that ended, which carry no code. */
const LOST =
  /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect)/;

/**
 * The one place that turns a driver error from background work into a walbox error a user can act on:
 * a lost or refused connection becomes DatabaseUnavailableError, a prepared statement a transaction pooler
 * lost becomes SessionRequiredError; anything else is returned as it is.
 */
export function explainError(err: unknown): unknown {
  const session = asSessionError(err);
  if (session !== err) return session;
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  const reason = typeof code === 'string' ? UNAVAILABLE[code] : undefined;
  const text = typeof message === 'string' ? message : String(err);
  if (reason) return new DatabaseUnavailableError(reason, `${code}: ${text}`, { cause: err });
  if (LOST.test(text)) {
    const why = text.startsWith('timeout') ? 'connections-exhausted' : 'connection-lost';
    return new DatabaseUnavailableError(why, text, { cause: err });
  }
  return err;
}
