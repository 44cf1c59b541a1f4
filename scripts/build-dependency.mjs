// Builds a workspace package this one compiles against when its dist/ is missing. npm runs the workspaces'
// prepare scripts in name order, not in dependency order, on `npm ci`: @walbox/sink-index comes before the
// @walbox/sink-kit it imports. Usage (from a package directory): node ../../scripts/build-dependency.mjs ../sink-kit
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const dir = path.resolve(process.argv[2] ?? '');
if (!existsSync(path.join(dir, 'dist', 'index.d.ts'))) {
  execFileSync('npm', ['run', 'build'], { cwd: dir, stdio: 'inherit' });
}
