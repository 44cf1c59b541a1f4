import { raisedError } from './database-errors.js';
import { InboxError, InvalidConfigError } from './errors.js';
import { toQueryable } from './executor.js';
import { assertLogicalName } from './names.js';
/**
 * The receiving side of the outbox: a consumer that applies messages from a bus in its own transactions
 * calls `accept` in that transaction first and skips the message when it returns false, so a message
 * delivered twice (a redelivery after a crash, a publisher's retry) is applied once. Works with any message
 * id: walbox's bus sinks send the entry id.
 */
export class Inbox {
    sql;
    name;
    options;
    constructor(sql, name, options = {}) {
        this.sql = sql;
        this.name = name;
        this.options = options;
        assertLogicalName('inbox', name);
        const days = options.retentionDays;
        if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > 3650)) {
            throw new InvalidConfigError('retentionDays', 'expected an integer from 1 to 3650');
        }
    }
    /**
     * Records `messageId` as processed, on the caller's executor (inside its transaction, READ COMMITTED):
     * true the first time, false if it was accepted before. A concurrent accept of the same id waits for the
     * other transaction: false if it commits, true if it rolls back. Rolled back with the caller, so a failed
     * attempt leaves the message to be processed again.
     */
    async accept(executor, messageId) {
        if (typeof messageId !== 'string' ||
            messageId.length === 0 ||
            Buffer.byteLength(messageId) > 512 ||
            messageId.includes('\u0000')) {
            throw new InboxError('INVALID_MESSAGE_ID', this.name, `inbox "${this.name}": a message id is 1 to 512 bytes of text without NUL`);
        }
        try {
            const { rows } = await toQueryable(executor).query(`select ${this.sql.schema}.inbox_accept($1, $2, $3) as accepted`, [this.name, messageId, this.options.retentionDays ?? null]);
            return rows[0].accepted;
        }
        catch (err) {
            throw raisedError(err);
        }
    }
}
//# sourceMappingURL=inbox.js.map