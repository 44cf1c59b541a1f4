import { NotificationListener } from './notification-listener.js';
/**
 * Turns NOTIFY items ("namespace:partition", or a bare namespace for all its partitions) into the partitions
 * of this process's targets they concern. Items arriving while a round runs are handled in the next round,
 * deduplicated, so a burst of commits costs one round, not one per commit.
 */
export class NotificationRouter {
    options;
    #pending = new Set();
    #routing = false;
    #running = false;
    #listener;
    constructor(options) {
        this.options = options;
    }
    async start() {
        const o = this.options;
        const listener = new NotificationListener({
            connection: o.connection,
            channel: o.channel,
            onItems: (items) => {
                for (const item of items)
                    this.#pending.add(item);
                if (!this.#routing)
                    void this.#route();
            },
            onReconnected: o.onReconnected,
            onError: o.onError,
        });
        await listener.start();
        this.#listener = listener;
        this.#running = true;
    }
    async stop() {
        this.#running = false;
        await this.#listener?.stop();
    }
    async #route() {
        const { db, namespaces, targets, onPartition, onError } = this.options;
        this.#routing = true;
        try {
            while (this.#pending.size > 0 && this.#running) {
                const items = [...this.#pending];
                this.#pending.clear();
                for (const item of items) {
                    const [namespace = '', partition] = item.split(':');
                    const ns = await namespaces.require(namespace, db).catch(() => undefined);
                    if (!ns)
                        continue;
                    const partitions = partition === undefined ? range(ns.partitions) : [Number(partition)];
                    for (const target of ns.targets) {
                        if (!targets.has(target))
                            continue;
                        for (const p of partitions)
                            await onPartition({ namespace, target, partition: p });
                    }
                }
            }
        }
        catch (err) {
            onError(err);
        }
        finally {
            this.#routing = false;
        }
    }
}
function range(n) {
    return Array.from({ length: n }, (_, i) => i);
}
//# sourceMappingURL=notification-router.js.map