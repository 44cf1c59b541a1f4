import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { resolveSinkConfig, SinkConfigError, sinkFunction, sinkSeconds } from '../src/index.js';

class ThingSinkConfigError extends SinkConfigError {
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(field, message, { ...options, sink: 'thing' });
    this.name = 'ThingSinkConfigError';
  }
}

const schema = z
  .object({
    name: z.string().min(1).default('thing'),
    nested: z
      .object({ ttl: sinkSeconds(60).optional() })
      .strict()
      .optional(),
    keyFor: sinkFunction<(e: unknown) => string>('(entry) => string').optional(),
  })
  .strict();

const resolve = (input: z.input<typeof schema>) => resolveSinkConfig(schema, input, ThingSinkConfigError);

describe('resolveSinkConfig', () => {
  it('applies defaults and freezes the result', () => {
    const config = resolve({});
    expect(config).toEqual({ name: 'thing' });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    [{ name: '' }, 'name', /invalid thing sink config: name: /],
    [{ nested: { ttl: 61 } }, 'nested.ttl', /nested\.ttl: .*60/],
    [{ keyFor: 'x' }, 'keyFor', /keyFor: must be a function \(entry\) => string/],
    [{ nested: { tll: 1 } }, 'nested.tll', /nested\.tll/],
    [{ unknown: 1 }, 'unknown', /unknown/],
  ])('names the bad field of %j', (input, field, message) => {
    let error: unknown;
    try {
      resolve(input as z.input<typeof schema>);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ThingSinkConfigError);
    expect(error).toBeInstanceOf(SinkConfigError);
    expect(error).toMatchObject({ field, code: 'INVALID_CONFIG', name: 'ThingSinkConfigError' });
    expect((error as Error).message).toMatch(message);
    expect((error as Error).cause).toBeInstanceOf(z.ZodError);
  });

  it('names the root when the input is not an object', () => {
    expect(() => resolve(null as never)).toThrow(/invalid thing sink config: \(root\)/);
  });
});
