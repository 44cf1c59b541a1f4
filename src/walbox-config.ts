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
  })
  .strict()
  .refine((c) => (c.connectionString === undefined) !== (c.pool === undefined), {
    message: 'give exactly one of connectionString or pool',
    path: ['connectionString'],
  });

export type WalboxConfig = z.input<typeof walboxConfigSchema>;
export type ResolvedWalboxConfig = Readonly<z.output<typeof walboxConfigSchema>>;

export function resolveWalboxConfig(input: WalboxConfig): ResolvedWalboxConfig {
  const config = parseOrThrow(walboxConfigSchema, input);
  assertIdentifier('schema', config.schema);
  return Object.freeze(config);
}
