import { describe, expect, it } from 'vitest';
import { explainError } from '../src/database-errors.js';
import { DatabaseUnavailableError, SessionRequiredError } from '../src/index.js';

/** A driver error as pg raises it: a message, and a SQLSTATE or a Node socket code. */
function driverError(message: string, code?: string): Error {
  return Object.assign(new Error(message), code ? { code } : {});
}

describe('explainError', () => {
  it.each([
    ['sorry, too many clients already', '53300', 'connections-exhausted'],
    ['too many connections for role "app"', '53400', 'connections-exhausted'],
    ['terminating connection due to administrator command', '57P01', 'restarting'],
    ['the database system is starting up', '57P03', 'restarting'],
    ['connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED', 'unreachable'],
    ['read ECONNRESET', 'ECONNRESET', 'connection-lost'],
    ['Connection terminated unexpectedly', undefined, 'connection-lost'],
    ['timeout exceeded when trying to connect', undefined, 'connections-exhausted'],
  ])('%s (%s) is a DatabaseUnavailableError: %s', (message, code, reason) => {
    const cause = driverError(message, code);
    const err = explainError(cause);
    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    expect(err).toMatchObject({ code: 'DATABASE_UNAVAILABLE', reason, cause });
    expect((err as Error).message).toContain(message);
    expect((err as Error).message).toContain('retries and resumes on its own');
  });

  it('names a prepared statement lost behind a transaction pooler', () => {
    const err = explainError(driverError('prepared statement "walbox_step_1" does not exist', '26000'));
    expect(err).toBeInstanceOf(SessionRequiredError);
  });

  it('returns any other error as it is', () => {
    const other = driverError('duplicate key value violates unique constraint', '23505');
    expect(explainError(other)).toBe(other);
    expect(explainError('a string')).toBe('a string');
  });
});
