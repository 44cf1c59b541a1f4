import { z } from 'zod';
import { parseOrThrow } from '../namespace-config.js';

const consoleConfigSchema = z
  .object({
    /** Show everything, change nothing: every POST is refused with 403 and no action buttons are drawn. */
    readOnly: z.boolean().default(false),
    /** Ask for these credentials (HTTP basic authentication) on every request. */
    basicAuth: z
      .object({ user: z.string().min(1).max(200), password: z.string().min(1).max(1000) })
      .strict()
      .optional(),
    /** Where the console is mounted in the URL space: '/walbox' serves '/walbox/', '/walbox/dead-letters'... */
    basePath: z
      .string()
      .regex(/^(\/[A-Za-z0-9._~-]+)*$/, "expected '' or a path like '/walbox' (no trailing slash)")
      .default(''),
    /** How often the overview's history chart samples status (in memory, while the console is used). */
    historyIntervalMs: z.number().int().min(100).max(3_600_000).default(5000),
    /** How many samples the chart keeps (the default, 120 at 5 s, is ten minutes). */
    historySize: z.number().int().min(2).max(10_000).default(120),
    /**
     * Secret the CSRF token of the forms is derived from. Default: random per handler, so a form from before
     * a restart is refused; give the same secret to every replica behind one load balancer.
     */
    csrfSecret: z.string().min(16).optional(),
    /** Where a request's unexpected error goes (the page shows a 500 without details). Default: console.error. */
    onError: z
      .custom<(err: unknown) => void>((v) => typeof v === 'function', 'must be a function')
      .optional(),
  })
  .strict();

export type ConsoleOptions = z.input<typeof consoleConfigSchema>;
export type ConsoleConfig = Readonly<z.output<typeof consoleConfigSchema>>;

/** Validates the console's options once; the error names the first bad field (`console.basePath`). */
export function resolveConsoleConfig(input: ConsoleOptions = {}): ConsoleConfig {
  return Object.freeze(parseOrThrow(consoleConfigSchema, input, 'console'));
}
