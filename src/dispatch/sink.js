/** The source transactions of a batch, as SinkContext.transactions lists them. */
export function transactionsOf(batch) {
    const byXid = new Map();
    for (const e of batch) {
        const ids = byXid.get(e.xid);
        if (ids)
            ids.push(e.id);
        else
            byXid.set(e.xid, [e.id]);
    }
    return [...byXid].map(([xid, entryIds]) => ({ xid, entryIds }));
}
/** A sink that calls an in-process function for each batch (callbacks, delayed jobs, tests). */
export function functionSink(name, fn) {
    return { name, apply: async (batch, ctx) => fn(batch, ctx) };
}
//# sourceMappingURL=sink.js.map