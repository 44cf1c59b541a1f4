import { createPostgresIndexSink, type PostgresIndexSink } from '@walbox/sink-index';

interface UserPayload {
  plan: string;
}

/**
 * A secondary index of the users by plan, kept by @walbox/sink-index in Postgres (tables in `schema` of the
 * demo's database): no server besides Postgres.
 */
export function openDemoIndex(databaseUrl: string, schema: string): PostgresIndexSink {
  return createPostgresIndexSink({
    name: 'index',
    connectionString: databaseUrl,
    schema,
    maxConnections: 2,
    indexes: { users: [{ name: 'plan', extract: (u: UserPayload) => u.plan }] },
  });
}

/**
 * What the index holds for each plan, as one line. Throws if it still holds `gone` (a key deleted in the
 * log) under any of them.
 */
export async function describePlans(
  index: PostgresIndexSink,
  plans: readonly string[],
  gone: string,
): Promise<string> {
  const found = await Promise.all(
    plans.map(async (plan) => [plan, await index.lookup('plan', plan)] as const),
  );
  const stale = found.find(([, keys]) => keys.includes(gone));
  if (stale) throw new Error(`the index still holds the deleted key ${gone} under plan ${stale[0]}`);
  return found.map(([plan, keys]) => `${plan} → ${keys.length > 0 ? keys.join(', ') : 'nobody'}`).join('; ');
}
