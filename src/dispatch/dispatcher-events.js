/** Emits what one drain step did: its deliveries, retries, dead letters and a whole-batch failure. */
export function emitStep(events, ref, o) {
    if (o.delivered.length > 0)
        events.emit('delivered', { ...ref, entries: o.delivered });
    for (const r of o.retried)
        events.emit('retried', { target: ref.target, ...r });
    for (const d of o.deadLettered)
        events.emit('dead-lettered', { target: ref.target, ...d });
    if (o.batchFailed && o.cursor.retryAt) {
        events.emit('batch-failed', { ...ref, failures: o.cursor.failures, retryAt: o.cursor.retryAt });
    }
}
//# sourceMappingURL=dispatcher-events.js.map