import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll } from 'vitest';
import type { PrismaLike } from '../../../src/index.js';

/** The part of the generated client the tests use (the generated types are not there when tsc runs). */
export interface PrismaTx extends PrismaLike {
  account: { create(args: { data: { id: string; balance: number } }): Promise<unknown> };
}

export interface PrismaClientLike extends PrismaTx {
  $transaction<T>(
    work: (tx: PrismaTx) => Promise<T>,
    options?: { isolationLevel?: 'Serializable' },
  ): Promise<T>;
  $disconnect(): Promise<void>;
}

/** The model of the business table the atomicity cases write. */
const SCHEMA = `
generator client {
  provider = "prisma-client"
  output   = "./client"
}

datasource db {
  provider = "postgresql"
}

model Account {
  id      String @id
  balance Int

  @@map("accounts")
}
`;

/**
 * Generates a Prisma Client (the Rust-free "prisma-client" generator of Prisma 7) into a directory of the
 * test file's own under .tmp/ (git-ignored; inside the repository so its imports resolve to node_modules),
 * removed after the file, and returns its PrismaClient class.
 *
 * `prisma generate` needs no engine binary, but the CLI fetches the schema engine from binaries.prisma.sh
 * before any command unless PRISMA_SCHEMA_ENGINE_BINARY names one: nothing runs it here (no migrate, no db
 * push), so it names /bin/false, which would fail loudly if anything did.
 */
export async function generatePrismaClient(
  label: string,
): Promise<new (options: { adapter: unknown }) => PrismaClientLike> {
  const dir = resolve('.tmp', `prisma-${label}-${process.pid}-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  afterAll(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'schema.prisma'), SCHEMA);
  const cli = createRequire(import.meta.url).resolve('prisma/build/index.js');
  await promisify(execFile)(process.execPath, [cli, 'generate', '--schema', join(dir, 'schema.prisma')], {
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: '/bin/false',
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
      CHECKPOINT_DISABLE: '1',
    },
  });
  const client = (await import(pathToFileURL(join(dir, 'client', 'client.ts')).href)) as {
    PrismaClient: new (options: { adapter: unknown }) => PrismaClientLike;
  };
  return client.PrismaClient;
}
