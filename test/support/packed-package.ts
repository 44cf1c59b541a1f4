import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

interface Manifest {
  dependencies?: Record<string, string>;
  exports?: unknown;
}

/** What `npm pack --json` prints, per package. */
interface NpmPackResult {
  name: string;
  filename: string;
  files: Array<{ path: string }>;
}

/** A workspace package as a user gets it from npm: its tarball extracted into a project of its own. */
export interface PackedPackage {
  /** The consumer project: node_modules/<name> is the tarball, the other entries its declared dependencies. */
  readonly dir: string;
  /** The paths in the tarball, relative to the package root. */
  readonly files: readonly string[];
  /** The package.json from the tarball. */
  readonly manifest: Manifest;
  /** Runs an ES module in the consumer project with plain node: no tsx, no loader, no NODE_OPTIONS. */
  node(source: string, env?: Record<string, string>): Promise<Run>;
  /** Type-checks a TypeScript module in the consumer project (NodeNext resolution, strict). */
  typecheck(source: string): Promise<Run>;
  remove(): Promise<void>;
}

/**
 * `npm pack`s a workspace package (which runs its `prepare` script, the build, as `npm publish` would) and
 * extracts the tarball into node_modules of a temporary project. Only the dependencies the package declares
 * are linked there from the repository's node_modules, so an undeclared runtime import fails as it would for
 * a user; Node resolves a link to its real path, where the dependency's own dependencies are.
 */
export async function installPacked(packageDir: string): Promise<PackedPackage> {
  const dir = await mkdtemp(join(tmpdir(), 'walbox-packed-'));
  try {
    const pack = await run('npm', ['pack', '--json', '--pack-destination', dir], packageDir);
    if (pack.code !== 0) throw new Error(`npm pack failed (${pack.code}):\n${pack.stderr}`);
    const [packed] = JSON.parse(pack.stdout) as NpmPackResult[];
    const target = join(dir, 'node_modules', packed!.name);
    await mkdir(target, { recursive: true });
    const tarball = join(dir, packed!.filename);
    const tar = await run('tar', ['-xzf', tarball, '-C', target, '--strip-components=1'], dir);
    if (tar.code !== 0) throw new Error(`tar failed: ${tar.stderr}`);
    const manifest: Manifest = JSON.parse(await readFile(join(target, 'package.json'), 'utf8'));
    // What a consumer installs: the package's dependencies, and @types/node for its own type-check.
    const deps = [...Object.keys(manifest.dependencies ?? {}), '@types/node'];
    for (const dep of deps) {
      await mkdir(dirname(join(dir, 'node_modules', dep)), { recursive: true });
      await symlink(join(ROOT, 'node_modules', dep), join(dir, 'node_modules', dep), 'dir');
    }
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        files: ['consumer.ts'],
      }),
    );
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    return {
      dir,
      files: packed!.files.map((f) => f.path),
      manifest,
      async node(source, extra = {}) {
        await writeFile(join(dir, 'consumer.mjs'), source);
        return run(process.execPath, ['consumer.mjs'], dir, { ...env, ...extra });
      },
      async typecheck(source) {
        await writeFile(join(dir, 'consumer.ts'), source);
        return run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], dir, env);
      },
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function run(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && typeof err.code !== 'number' ? String(err) : '') });
    });
  });
}
