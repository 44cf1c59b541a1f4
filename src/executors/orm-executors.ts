import type { Queryable } from '../executor.js';
import { type DrizzleLike, drizzleQueryable, isDrizzle } from './drizzle.js';
import { isKnex, type KnexLike, knexQueryable } from './knex.js';
import { isPrisma, type PrismaLike, prismaQueryable } from './prisma.js';

export type { DrizzleLike, KnexLike, PrismaLike };

/**
 * The ORM executors, each recognised by a member no other executor has: Prisma's `$queryRawUnsafe`, a Knex
 * instance being a function with `raw` and `client`, Drizzle's `_.session.prepareQuery`. Undefined when
 * `executor` is none of them (a pg Pool, Client or PoolClient, say).
 */
export function ormQueryable(executor: unknown): Queryable | undefined {
  if ((typeof executor !== 'object' && typeof executor !== 'function') || executor === null) return undefined;
  if (isPrisma(executor)) return prismaQueryable(executor);
  if (isKnex(executor)) return knexQueryable(executor);
  if (isDrizzle(executor)) return drizzleQueryable(executor);
  return undefined;
}
