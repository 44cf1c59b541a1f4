import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { access, copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

export interface Run {
  code: number | null;
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * A fresh build of the walbox package laid out like its root (dist/, bin/, migrations/, sql/, package.json),
 * as test/cli.int.test.ts builds it, plus `project`: a user's project directory whose node_modules holds the
 * built @walbox/sink-kit and @walbox/sink-redis (their dependencies linked from the repository), so that a
 * config file there names "@walbox/sink-redis" as a user's would. `remove()` deletes both.
 */
export async function buildCli(): Promise<{ pkg: string; project: string; remove(): Promise<void> }> {
  const pkg = await mkdtemp(join(tmpdir(), 'walbox-cli-'));
  const project = await mkdtemp(join(tmpdir(), 'walbox-project-'));
  await tsc('tsconfig.build.json', join(pkg, 'dist'));
  await access(join(pkg, 'dist/cli/main.js'));
  await mkdir(join(pkg, 'bin'));
  await copyFile(join(ROOT, 'bin/walbox.js'), join(pkg, 'bin/walbox.js'));
  for (const link of ['package.json', 'migrations', 'sql', 'node_modules']) {
    await symlink(join(ROOT, link), join(pkg, link));
  }
  const modules = join(project, 'node_modules');
  for (const name of ['sink-kit', 'sink-redis']) {
    const dir = join(modules, '@walbox', name);
    await tsc(`packages/${name}/tsconfig.build.json`, join(dir, 'dist'));
    await copyFile(join(ROOT, 'packages', name, 'package.json'), join(dir, 'package.json'));
  }
  await copyFile(
    join(ROOT, 'packages/sink-redis/src/version-guard.lua'),
    join(modules, '@walbox/sink-redis/dist/version-guard.lua'),
  );
  for (const dep of ['ioredis', 'zod']) await symlink(join(ROOT, 'node_modules', dep), join(modules, dep));
  return {
    pkg,
    project,
    remove: async () => {
      await rm(pkg, { recursive: true, force: true });
      await rm(project, { recursive: true, force: true });
    },
  };
}

async function tsc(project: string, outDir: string): Promise<void> {
  const args = [
    TSC,
    '-p',
    project,
    '--outDir',
    outDir,
    '--noCheck',
    '--sourceMap',
    'false',
    '--declaration',
    'false',
  ];
  const r = await run(process.execPath, args, ROOT, process.env);
  await access(outDir).catch(() => {
    throw new Error(`building ${project} failed:\n${r.stdout}${r.stderr}`);
  });
}

function childEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const merged: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  return merged;
}

/** Runs bin/walbox.js of `pkg` to its end. */
export function walboxCli(
  pkg: string,
  args: string[],
  env: Record<string, string | undefined>,
  cwd = pkg,
): Promise<Run> {
  return run(process.execPath, [join(pkg, 'bin/walbox.js'), ...args], cwd, childEnv(env));
}

/** Starts bin/walbox.js of `pkg`; `output()` is what it printed so far, `exited` its end. */
export function spawnWalbox(pkg: string, args: string[], env: Record<string, string | undefined>, cwd = pkg) {
  const child: ChildProcess = spawn(process.execPath, [join(pkg, 'bin/walbox.js'), ...args], {
    cwd,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString('utf8');
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  const exited = new Promise<Run>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    child,
    exited,
    output: () => ({ stdout, stderr }),
    /** Waits until stdout matches `pattern` (or the process ends, or `ms` pass: then throws with the output). */
    async waitFor(pattern: RegExp, ms = 30_000): Promise<RegExpMatchArray> {
      const deadline = Date.now() + ms;
      let ended = false;
      void exited.then(() => {
        ended = true;
      });
      for (;;) {
        const m = stdout.match(pattern);
        if (m) return m;
        if (ended || Date.now() > deadline) {
          throw new Error(`no ${pattern} in the output${ended ? ' (exited)' : ''}:\n${stdout}\n${stderr}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

function run(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
