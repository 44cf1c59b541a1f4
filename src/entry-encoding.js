import { InvalidEntryError, PayloadTooLargeError } from './errors.js';
import { encodeJson } from './json-value.js';
import { LOGICAL_NAME } from './names.js';
/** Longest delay accepted: one year. Longer is almost certainly a unit mistake (seconds vs ms). */
export const MAX_DELAY_MS = 366 * 24 * 3600 * 1000;
const MAX_KEY_LENGTH = 1024;
const MAX_TEXT_LENGTH = 1024;
/**
 * Validates one entry against its namespace and encodes it as an element of append_json's input.
 * Throws a typed error before anything reaches Postgres, so the caller's transaction stays usable.
 */
export function encodeEntry(entry, ns, index) {
    const fail = (code, field, message) => new InvalidEntryError(code, field, message, index);
    if (entry.key === undefined || entry.key === null || entry.key === '') {
        throw fail('MISSING_KEY', 'key', 'every entry needs a non-empty string key (its ordering key)');
    }
    if (typeof entry.key !== 'string')
        throw fail('INVALID_ENTRY', 'key', `expected a string, got ${typeof entry.key}`);
    if (entry.key.length > MAX_KEY_LENGTH)
        throw fail('INVALID_ENTRY', 'key', `longer than ${MAX_KEY_LENGTH}`);
    if (typeof entry.op !== 'string' || entry.op === '' || entry.op.length > 64) {
        throw fail('INVALID_ENTRY', 'op', "expected 'upsert', 'delete' or a custom verb of 1-64 characters");
    }
    const payload = json(entry.payload ?? null, 'payload');
    const bytes = Buffer.byteLength(payload);
    if (bytes > ns.maxPayloadBytes)
        throw new PayloadTooLargeError(bytes, ns.maxPayloadBytes, ns.name, index);
    let wire = `{"namespace":${JSON.stringify(ns.name)},"key":${JSON.stringify(entry.key)},"op":${JSON.stringify(entry.op)},"payload":${payload}`;
    if (entry.before !== undefined)
        wire += `,"before":${json(entry.before, 'before')}`;
    if (entry.headers !== undefined) {
        if (typeof entry.headers !== 'object' || entry.headers === null || Array.isArray(entry.headers)) {
            throw fail('INVALID_ENTRY', 'headers', 'expected an object');
        }
        wire += `,"headers":${json(entry.headers, 'headers')}`;
    }
    if (entry.targets !== undefined) {
        if (!Array.isArray(entry.targets) ||
            entry.targets.some((t) => typeof t !== 'string' || !LOGICAL_NAME.test(t))) {
            throw fail('INVALID_ENTRY', 'targets', 'expected an array of target names (lower-case letters, digits, _ . -)');
        }
        const stray = entry.targets.find((t) => !ns.targets.includes(t));
        if (stray !== undefined) {
            // Dispatchers keep cursors for the targets a namespace declares; an entry may only narrow them.
            throw fail('INVALID_ENTRY', 'targets', `"${stray}" is not a target of namespace "${ns.name}"`);
        }
        wire += `,"targets":${JSON.stringify(entry.targets)}`;
    }
    if (entry.delay !== undefined && entry.deliverAt !== undefined) {
        throw fail('DELAY_OUT_OF_RANGE', 'delay', 'give either delay or deliverAt, not both');
    }
    if (entry.delay !== undefined) {
        // Checked before destructuring: `delay: null` from untyped callers must be a typed error, not a TypeError.
        if (typeof entry.delay !== 'object' || entry.delay === null) {
            throw fail('DELAY_OUT_OF_RANGE', 'delay', 'expected { ms, jitterMs? }');
        }
        const { ms, jitterMs = 0 } = entry.delay;
        for (const [field, v] of [
            ['delay.ms', ms],
            ['delay.jitterMs', jitterMs],
        ]) {
            if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_DELAY_MS) {
                throw fail('DELAY_OUT_OF_RANGE', field, `expected an integer from 0 to ${MAX_DELAY_MS} (one year), got ${v}`);
            }
        }
        if (ms + jitterMs > MAX_DELAY_MS)
            throw fail('DELAY_OUT_OF_RANGE', 'delay', 'ms + jitterMs exceeds one year');
        wire += `,"delay_ms":${ms},"jitter_ms":${jitterMs}`;
    }
    if (entry.deliverAt !== undefined) {
        const at = entry.deliverAt;
        if (!(at instanceof Date) || Number.isNaN(at.getTime()))
            throw fail('DELAY_OUT_OF_RANGE', 'deliverAt', 'expected a valid Date');
        if (at.getTime() - Date.now() > MAX_DELAY_MS) {
            throw fail('DELAY_OUT_OF_RANGE', 'deliverAt', 'more than one year ahead');
        }
        wire += `,"deliver_at":${JSON.stringify(at.toISOString())}`;
    }
    if (entry.idempotencyKey !== undefined) {
        wire += `,"idempotency_key":${text(entry.idempotencyKey, 'idempotencyKey')}`;
    }
    if (entry.actor !== undefined)
        wire += `,"actor":${text(entry.actor, 'actor')}`;
    return `${wire}}`;
    function json(value, field) {
        const encoded = encodeJson(value);
        if (!encoded.ok) {
            throw fail('PAYLOAD_NOT_SERIALIZABLE', field, `not JSON-serializable at ${encoded.path}: ${encoded.reason}`);
        }
        return encoded.text;
    }
    function text(value, field) {
        if (typeof value !== 'string' || value === '' || value.length > MAX_TEXT_LENGTH) {
            throw fail('INVALID_ENTRY', field, `expected a string of 1-${MAX_TEXT_LENGTH} characters`);
        }
        return JSON.stringify(value);
    }
}
//# sourceMappingURL=entry-encoding.js.map