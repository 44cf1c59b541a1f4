import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { SessionRequiredError } from '../errors.js';
/** The dispatcher option, if any, that cannot work on such connections. */
export function missingSessionFeature(config, facts) {
    if (!facts.transactionPooled)
        return undefined;
    if (config.wakeup === 'listen')
        return 'listen';
    if (config.preparedStatements && facts.preparedStatementsCarried === false)
        return 'prepared-statements';
    return undefined;
}
/**
 * Fails with SessionRequiredError when the options need a session and `connection` (the settings the pool
 * and the LISTEN connection use) leads to a transaction pooler. Silently, the LISTEN would never wake the
 * dispatcher (it stays on one server connection, whose notifications reach whichever client runs there
 * next) and prepared statements would fail now and then ("prepared statement ... does not exist").
 */
export async function assertSessionFeatures(connection, config) {
    if (config.wakeup !== 'listen' && !config.preparedStatements)
        return;
    const facts = await probeSession(connection, { preparedStatements: config.preparedStatements });
    const feature = missingSessionFeature(config, facts);
    if (feature)
        throw new SessionRequiredError(feature);
}
/**
 * A drain statement failing for want of a session: a named prepared statement of walbox's that the server
 * connection does not have (26000) or has already (42P05), as happens now and then behind a transaction
 * pooler that does not carry them, when the probe at start could not tell (a busy pool). The batch is
 * retried; the error is reported as SessionRequiredError so that it says what to do.
 */
export function asSessionError(err) {
    const { code, message } = (err ?? {});
    if ((code === '26000' || code === '42P05') && /prepared statement "walbox_/.test(String(message)))
        return new SessionRequiredError('prepared-statements', { cause: err });
    return err;
}
/** Rounds of the pooling probe (twice as many of the prepared-statement one); on a quiet pool the first decides. */
const ROUNDS = 5;
const PID_SQL = 'select pg_backend_pid() as pid';
/**
 * Finds out whether connections made with `connection` are sessions. Every positive answer is a proof (a
 * real session never shows it), so a direct or session-pooled connection is never reported as pooled; a
 * transaction pooler goes unnoticed only if, in every round, its client gets its server connection back and
 * nobody else used it meanwhile.
 */
export async function probeSession(connection, options) {
    const a = new pg.Client(connection);
    let b;
    // A lost connection fails the probe's next query; without a listener it would end the process.
    a.on('error', () => { });
    try {
        await a.connect();
        const home = await pidOf(a);
        // Postgres's BackendKeyData (pg's processID) is the backend's pid. A pooler answers the login itself,
        // before it has picked a server connection for the client, so it sends a key of its own (PgBouncer's is
        // random, in every pool mode): an equal pid means a direct connection (or a plain TCP proxy), a session.
        if (a.processID === home)
            return { transactionPooled: false };
        b = new pg.Client(connection);
        b.on('error', () => { });
        await b.connect();
        if (!(await sharesBackend(a, b, home)))
            return { transactionPooled: false };
        return {
            transactionPooled: true,
            ...(options.preparedStatements ? { preparedStatementsCarried: await carriesPrepared(a, b) } : {}),
        };
    }
    finally {
        await Promise.all([a.end().catch(() => { }), b?.end().catch(() => { })]);
    }
}
/**
 * Whether `a`, whose statement ran on backend `home`, gives that backend up between transactions. Each round
 * `a` runs a statement tagged with a marker, then `b` opens a transaction and looks at `home`, then `a` runs
 * the next tagged statement while `b` still holds its transaction. In a session none of these can happen;
 * under transaction pooling `home` is free whenever `a` is idle, and:
 * - `b` runs on `home`: PgBouncer hands out the server connection released last first (LIFO), so on a
 *   quiet pool `b` gets it at once;
 * - `home` ran another statement since a's marker (pg_stat_activity.query is a backend's last statement,
 *   readable for one's own role): on a busy pool, another client took it;
 * - `a` runs elsewhere.
 */
async function sharesBackend(a, b, home) {
    const tag = randomUUID();
    let marker = `${PID_SQL} /* walbox session probe ${tag} 0 */`;
    if ((await pidOf(a, { text: marker })) !== home)
        return true;
    for (let round = 1; round <= ROUNDS; round++) {
        await b.query('begin');
        try {
            const { rows } = await b.query(`select pg_backend_pid() as pid, a.state, a.query as last
           from (select 1) one left join pg_stat_activity a on a.pid = $1`, [home]);
            const seen = rows[0];
            // state is null for another role's backend (or a gone one), 'disabled' without track_activities.
            const known = seen.state !== null && seen.state !== 'disabled';
            if (Number(seen.pid) === home || (known && seen.last !== marker))
                return true;
            marker = `${PID_SQL} /* walbox session probe ${tag} ${round} */`;
            if ((await pidOf(a, { text: marker })) !== home)
                return true;
        }
        finally {
            await b.query('rollback');
        }
    }
    return false;
}
/**
 * Under transaction pooling: prepares a statement on `a`, then runs it again while `b` holds a transaction,
 * until it runs on another backend than the one it was prepared on (when `b` holds that one, it must). pg
 * prepares a name once per client, so from then on only its name is sent: a pooler that does not carry
 * prepared statements fails with "prepared statement ... does not exist" (26000). Before 1.21, PgBouncer
 * leaves the statement behind on that server connection: a few bytes, once, on a start that fails anyway.
 */
async function carriesPrepared(a, b) {
    const name = `walbox_session_probe_${randomUUID().replaceAll('-', '')}`;
    const prepared = () => pidOf(a, { name, text: PID_SQL });
    const home = await prepared(); // Parse and Execute in one round trip: one transaction, one backend
    for (let round = 0; round < 2 * ROUNDS; round++) {
        await b.query('begin'); // takes a server connection until rollback
        try {
            if ((await prepared()) !== home)
                return true;
        }
        catch (err) {
            if (err.code === '26000')
                return false;
            throw err;
        }
        finally {
            await b.query('rollback');
        }
    }
    return undefined;
}
async function pidOf(client, query = { text: PID_SQL }) {
    const { rows } = await client.query(query);
    return Number(rows[0].pid);
}
//# sourceMappingURL=session-probe.js.map