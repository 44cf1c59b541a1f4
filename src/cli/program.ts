import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { registerAppend } from './commands/append.js';
import { registerAudit } from './commands/audit.js';
import { registerCapture } from './commands/capture.js';
import { registerConsole } from './commands/console.js';
import { registerDeadLetters } from './commands/dead-letters.js';
import { registerDemo } from './commands/demo.js';
import { registerDispatch } from './commands/dispatch.js';
import { registerJobs } from './commands/jobs.js';
import { registerMaintain } from './commands/maintain.js';
import { registerMigrate } from './commands/migrate.js';
import { registerMutation } from './commands/mutation.js';
import { registerNamespaces } from './commands/namespaces.js';
import { registerReplay } from './commands/replay.js';
import { registerRoles } from './commands/roles.js';
import { registerStatus } from './commands/status.js';
import { registerTail } from './commands/tail.js';

/** The whole command tree. Errors come back as exceptions (exitOverride); run() turns them into exit codes. */
export function buildProgram(): Command {
  const program = new Command('walbox')
    .description('Ordered transactional outbox in Postgres: migrate, configure namespaces, append, operate.')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .showHelpAfterError()
    .addOption(new Option('--database-url <url>', 'Postgres connection string').env('DATABASE_URL'))
    .addOption(
      new Option('--schema <name>', "walbox's schema in that database")
        .env('WALBOX_SCHEMA')
        .default('walbox'),
    )
    .option('--json', 'machine-readable output: one JSON document on stdout', false);

  registerMigrate(program);
  registerNamespaces(program);
  registerAppend(program);
  registerCapture(program);
  registerDeadLetters(program);
  registerReplay(program);
  registerMutation(program);
  registerStatus(program);
  registerJobs(program);
  registerMaintain(program);
  registerAudit(program);
  registerTail(program);
  registerDispatch(program);
  registerConsole(program);
  registerRoles(program);
  registerDemo(program);

  program.addHelpText(
    'after',
    `
Examples:
  $ walbox demo
  $ export DATABASE_URL=postgres://user:pass@localhost:5432/app
  $ walbox migrate
  $ walbox namespaces upsert users --targets cache,search --partitions 4
  $ walbox append users u1 --payload '{"name":"Ada"}'
  $ walbox audit --key u1 --namespace users
  $ walbox status
  $ walbox dead-letters list --json
  $ walbox tail --namespace users --follow
  $ walbox dispatch --config walbox.config.json --metrics-port 9464

Exit codes: 0 success, 1 the command failed (printed as "error [CODE]: message"), 2 bad usage.`,
  );
  return program;
}

function packageVersion(): string {
  // src/cli/ and dist/cli/ both sit two levels below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return String(pkg.version);
}
