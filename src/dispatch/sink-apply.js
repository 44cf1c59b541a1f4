import { transactionsOf } from './sink.js';
/**
 * Offers `batch` to the sink, bounded by `timeoutMs` and by `signal` (the dispatcher stopping, the lease
 * lost): both abort the signal the sink gets. Returns what the sink said; a throw or a timeout fails the
 * whole batch, `{ failed }` names the entries that failed.
 */
export async function applyToSink(sink, ref, batch, timeoutMs, signal) {
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    let timer;
    try {
        const result = await Promise.race([
            sink.apply(Object.freeze([...batch]), {
                ...ref,
                signal: controller.signal,
                transactions: transactionsOf(batch),
            }),
            new Promise((_, reject) => {
                timer = setTimeout(() => {
                    const err = new Error(`sink "${ref.target}" did not finish a batch within ${timeoutMs} ms`);
                    controller.abort(err);
                    reject(err);
                }, timeoutMs);
            }),
        ]);
        return { ok: true, failed: new Map((result?.failed ?? []).map((f) => [f.id, f.error])) };
    }
    catch (error) {
        return { ok: false, error };
    }
    finally {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
    }
}
//# sourceMappingURL=sink-apply.js.map