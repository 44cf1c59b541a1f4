import { InvalidArgumentError } from 'commander';
import { InvalidEntryError } from '../errors.js';

/** A comma-separated list; an empty string is the empty list. */
export function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** A number handed on as is: the zod schema (or the SDK) that receives it names the field and the limit. */
export function number(value: string): number {
  return value.trim() === '' ? Number.NaN : Number(value);
}

export function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new InvalidArgumentError('expected a positive integer');
  return Number(value);
}

/** An entry or dead-letter id: a positive bigint, kept as a string. */
export function id(value: string): string {
  if (!/^\d{1,19}$/.test(value)) throw new InvalidArgumentError('expected an id (digits)');
  return value;
}

export function ids(value: string, previous: string[] = []): string[] {
  return [...previous, ...list(value).map(id)];
}

/** A JSON option of an entry; bad JSON is an INVALID_ENTRY error naming the field. */
export function json(field: string, text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidEntryError('INVALID_ENTRY', field, `not valid JSON: ${(err as Error).message}`);
  }
}
