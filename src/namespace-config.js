import { z } from 'zod';
import { InvalidConfigError } from './errors.js';
import { LOGICAL_NAME } from './names.js';
const name = z
    .string()
    .regex(LOGICAL_NAME, 'must be 1-63 lower-case letters, digits, _, . or -, starting with a letter');
const retrySchema = z
    .object({
    limit: z.number().int().min(0).max(1000),
    initialDelayMs: z.number().int().min(0).max(86_400_000),
    maxDelayMs: z
        .number()
        .int()
        .min(0)
        .max(7 * 86_400_000),
    multiplier: z.number().min(1).max(100).default(2),
})
    .strict()
    .refine((r) => r.maxDelayMs >= r.initialDelayMs, {
    message: 'must be at least initialDelayMs',
    path: ['maxDelayMs'],
});
export const DEFAULT_RETRY = Object.freeze({
    limit: 10,
    initialDelayMs: 1000,
    maxDelayMs: 300_000,
    multiplier: 2,
});
/** The control-plane record of a namespace, as given to `walbox.namespaces.upsert()`. */
export const namespaceConfigSchema = z
    .object({
    name,
    /** Default targets (sink names) of entries that do not name their own. */
    targets: z.array(name).max(64).default([]),
    /**
     * 'key': order is kept per (namespace, key), keys spread over `partitions`.
     * 'namespace': one total order for the whole namespace (a single partition).
     */
    ordering: z.enum(['key', 'namespace']).default('key'),
    partitions: z.number().int().min(1).max(1024).default(1),
    retry: retrySchema.default(DEFAULT_RETRY),
    onExhausted: z.enum(['dead-letter', 'block']).default('dead-letter'),
    maxPayloadBytes: z
        .number()
        .int()
        .min(1)
        .max(64 * 1024 * 1024)
        .default(1024 * 1024),
    retentionHours: z
        .number()
        .int()
        .min(1)
        .max(24 * 3650)
        .default(168),
})
    .strict()
    .refine((c) => c.ordering === 'key' || c.partitions === 1, {
    message: "must be 1 when ordering is 'namespace'",
    path: ['partitions'],
})
    .refine((c) => new Set(c.targets).size === c.targets.length, {
    message: 'must not repeat a target',
    path: ['targets'],
});
/** Validates at the boundary; the error names the first bad field. */
export function resolveNamespaceConfig(input) {
    return Object.freeze(parseOrThrow(namespaceConfigSchema, input));
}
export function parseOrThrow(schema, input, prefix = '') {
    const result = schema.safeParse(input);
    if (result.success)
        return result.data;
    const issue = result.error.issues[0];
    // An unknown option is reported at its parent object; name the option itself (a typo like "partiton").
    const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
    const field = [prefix, ...path.map(String)].filter(Boolean).join('.') || '(root)';
    throw new InvalidConfigError(field, issue.message, { cause: result.error });
}
export function namespaceFromRow(row) {
    return Object.freeze({
        name: row.name,
        ordering: row.ordering,
        partitions: row.partitions,
        targets: row.targets,
        retry: row.retry,
        onExhausted: row.on_exhausted,
        maxPayloadBytes: row.max_payload_bytes,
        retentionHours: row.retention_hours,
    });
}
//# sourceMappingURL=namespace-config.js.map