import pg from 'pg';
/** Waits between reconnect attempts, doubling from the first to the last. */
const RETRY_MS = { first: 100, max: 1000 };
/**
 * A LISTEN connection that stays up: when Postgres restarts or its backend is terminated, the client emits
 * 'error' and 'end' and is useless from then on (pg does not reconnect a Client), so a new one is connected,
 * retrying every second at most, until stop().
 */
export class NotificationListener {
    options;
    #client;
    #stopped = false;
    #retry;
    #retryMs = RETRY_MS.first;
    constructor(options) {
        this.options = options;
    }
    /** Connects and listens; rejects if the first attempt fails (the caller's start() fails with it). */
    async start() {
        await this.#connect();
    }
    async stop() {
        this.#stopped = true;
        clearTimeout(this.#retry);
        const client = this.#client;
        this.#client = undefined;
        await client?.end().catch(() => { });
    }
    async #connect() {
        const client = new pg.Client(this.options.connection);
        let lost = false;
        const onLost = (err) => {
            if (lost)
                return;
            lost = true;
            if (err)
                this.options.onError(err);
            if (this.#client === client)
                this.#client = undefined;
            client.end().catch(() => { });
            this.#scheduleReconnect();
        };
        client.on('error', onLost);
        client.on('end', () => onLost());
        client.on('notification', (msg) => {
            const items = (msg.payload ?? '').split(',').filter(Boolean);
            if (items.length > 0)
                this.options.onItems(items);
        });
        try {
            await client.connect();
            await client.query(`listen ${pg.escapeIdentifier(this.options.channel)}`);
        }
        catch (err) {
            lost = true; // not scheduled from here: the caller decides (start() fails, a reconnect retries)
            client.removeAllListeners('end');
            client.on('error', () => { });
            await client.end().catch(() => { });
            throw err;
        }
        if (this.#stopped) {
            lost = true;
            await client.end().catch(() => { });
            return;
        }
        this.#client = client;
        this.#retryMs = RETRY_MS.first;
    }
    #scheduleReconnect() {
        if (this.#stopped)
            return;
        clearTimeout(this.#retry);
        this.#retry = setTimeout(() => {
            this.#connect().then(() => {
                if (!this.#stopped)
                    this.options.onReconnected();
            }, (err) => {
                this.options.onError(err);
                this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MS.max);
                this.#scheduleReconnect();
            });
        }, this.#retryMs);
        this.#retry.unref();
    }
}
//# sourceMappingURL=notification-listener.js.map