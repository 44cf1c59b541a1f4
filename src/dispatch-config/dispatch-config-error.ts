import { InvalidConfigError } from '../errors.js';

/**
 * A `walbox dispatch` config file that cannot be used, in one line naming the file and the field:
 * `invalid config walbox.config.json: sinks.cache.options.url: must start with redis:// or rediss://`.
 * Code INVALID_CONFIG, like every config error; `file` is the path as given.
 */
export class DispatchConfigError extends InvalidConfigError {
  constructor(
    readonly file: string,
    field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(field, message, options);
    this.message = `invalid config ${file}: ${field}: ${message}`.replace(/\s*\n\s*/g, ' ');
  }
}
