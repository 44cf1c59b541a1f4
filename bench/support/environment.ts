import { execFileSync } from 'node:child_process';
import os from 'node:os';
import type pg from 'pg';

/** Other processes on the machine skew every number; worth printing at the start and the end. */
export function loadavg(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

/** Cores, CPU model, memory, OS and load, on one line. */
export function machineLine(): string {
  const cpus = os.cpus();
  return `${cpus.length} cpus  ${cpus[0]?.model.trim()}  ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM  ${os.platform()} ${os.release()}  load ${loadavg()}`;
}

export async function postgresVersion(pool: pg.Pool): Promise<string> {
  const { rows } = await pool.query<{ version: string }>('select version()');
  return rows[0]!.version;
}

/** The commit measured, flagging uncommitted changes to `paths` (what the benchmark runs). */
export function revision(paths: string[]): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', ...paths) !== '';
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ` + uncommitted changes in ${paths.join(', ')}` : ''}`;
  } catch {
    return 'unknown (no git)';
  }
}

export function envNumber(name: string, fallback: number, { allowZero = false } = {}): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !allowZero)) {
    throw new Error(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${raw}`);
  }
  return n;
}
