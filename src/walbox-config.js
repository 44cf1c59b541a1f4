import pg from 'pg';
import { z } from 'zod';
import { assertIdentifier } from './names.js';
import { parseOrThrow } from './namespace-config.js';
const walboxConfigSchema = z
    .object({
    connectionString: z.string().min(1).optional(),
    pool: z.instanceof(pg.Pool).optional(),
    schema: z.string().default('walbox'),
    /** How long a namespace config read on the append path is reused before it is read again. */
    namespaceCacheMs: z.number().int().min(0).max(3_600_000).default(5000),
    /**
     * Called with errors nobody awaits: an idle connection of the pool walbox created was lost (Postgres
     * restarted, its backend was terminated). Default: the 'error' event of this walbox's running
     * dispatchers, or console.error when there are none. The pool replaces the connection on the next query.
     */
    onError: z.custom((v) => typeof v === 'function', 'must be a function').optional(),
})
    .strict()
    .refine((c) => (c.connectionString === undefined) !== (c.pool === undefined), {
    message: 'give exactly one of connectionString or pool',
    path: ['connectionString'],
});
export function resolveWalboxConfig(input) {
    const config = parseOrThrow(walboxConfigSchema, input);
    assertIdentifier('schema', config.schema);
    return Object.freeze(config);
}
//# sourceMappingURL=walbox-config.js.map