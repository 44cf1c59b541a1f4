import { asSessionError } from './dispatch/session-probe.js';
import { DatabaseUnavailableError, EntryRejectedError, InboxError, LeaseLostError, NamespaceBusyError, UnknownNamespaceError, } from './errors.js';
/** SQLSTATEs (and Node socket codes) of a Postgres that cannot serve for now, by what they mean. */
const UNAVAILABLE = {
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
const LOST = /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect)/;
/**
 * The SQLSTATEs walbox's own SQL functions raise (`WB0nn`, see sql/ and migrations/), each to its error class.
 * The message carries the names the class needs (namespace, partition), as the functions print them.
 */
const RAISED = {
    WB001: (err, m) => new UnknownNamespaceError(quoted(m, 'namespace'), { cause: err }),
    WB002: (err, m) => new EntryRejectedError('PAYLOAD_TOO_LARGE', 'WB002', m, { cause: err }),
    WB003: (err, m) => new EntryRejectedError('INVALID_ENTRY', 'WB003', m, { cause: err }),
    WB004: (err, m) => new EntryRejectedError('DELAY_OUT_OF_RANGE', 'WB004', m, { cause: err }),
    WB010: (err, m) => {
        // "walbox: drain lease of namespace/target/partition lost": logical names hold no slash.
        const [namespace = '', target = '', partition = '-1'] = /lease of (\S+) lost/.exec(m)?.[1]?.split('/') ?? [];
        return new LeaseLostError({ namespace, target, partition: Number(partition) }, { cause: err });
    },
    WB020: (err, m) => new InboxError('INBOX_ISOLATION', quoted(m, 'inbox'), m, { cause: err }),
    WB021: (err, m) => new InboxError('INVALID_MESSAGE_ID', quoted(m, 'inbox'), m, { cause: err }),
    WB011: (err, m) => {
        const d = JSON.parse(typeof err.detail === 'string' ? err.detail : '{}');
        return new NamespaceBusyError(quoted(m, 'namespace'), d.pending ?? null, d.capped === true, {
            cause: err,
        });
    },
};
/**
 * The one place that turns a driver error into a walbox error a caller can branch on by class: a state that
 * walbox's SQL raised becomes its error class (UnknownNamespaceError, EntryRejectedError, LeaseLostError,
 * NamespaceBusyError), a lost or refused connection DatabaseUnavailableError, a prepared statement a
 * transaction pooler lost SessionRequiredError; anything else is returned as it is.
 */
export function explainError(err) {
    const session = asSessionError(err);
    if (session !== err)
        return session;
    const raised = raisedError(err);
    if (raised !== err)
        return raised;
    const { code, message } = (err ?? {});
    const text = typeof message === 'string' ? message : String(err);
    const reason = typeof code === 'string' ? UNAVAILABLE[code] : undefined;
    if (reason)
        return new DatabaseUnavailableError(reason, `${code}: ${text}`, { cause: err });
    if (LOST.test(text)) {
        const why = text.startsWith('timeout') ? 'connections-exhausted' : 'connection-lost';
        return new DatabaseUnavailableError(why, text, { cause: err });
    }
    return err;
}
/** A state walbox's SQL raised (WB0nn) as its error class; anything else as it is (for a caller's own call). */
export function raisedError(err) {
    const { code, message } = (err ?? {});
    const raise = typeof code === 'string' ? RAISED[code] : undefined;
    return raise ? raise(err, typeof message === 'string' ? message : String(err)) : err;
}
/** The name after `word` in a message of walbox's SQL: `namespace "billing"` → billing. */
function quoted(message, word) {
    return new RegExp(`${word} "([^"]*)"`).exec(message)?.[1] ?? '';
}
//# sourceMappingURL=database-errors.js.map