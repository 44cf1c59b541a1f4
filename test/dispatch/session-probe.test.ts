import { describe, expect, it } from 'vitest';
import {
  asSessionError,
  missingSessionFeature,
  type SessionFacts,
} from '../../src/dispatch/session-probe.js';
import { SessionRequiredError } from '../../src/index.js';

describe('missingSessionFeature', () => {
  const session: SessionFacts = { transactionPooled: false };
  const pooled: SessionFacts = { transactionPooled: true };
  const carried: SessionFacts = { transactionPooled: true, preparedStatementsCarried: true };
  const lost: SessionFacts = { transactionPooled: true, preparedStatementsCarried: false };
  it.each([
    ['listen', true, session, undefined],
    ['listen', true, pooled, 'listen'],
    ['listen', false, lost, 'listen'],
    ['poll', true, session, undefined],
    ['poll', true, lost, 'prepared-statements'],
    ['poll', true, carried, undefined],
    // The probe could not tell (a busy pool): start, and let a failing statement say it (asSessionError).
    ['poll', true, pooled, undefined],
    ['poll', false, lost, undefined],
  ] as const)('wakeup %s, preparedStatements %s, %j: %s', (wakeup, preparedStatements, facts, expected) => {
    expect(missingSessionFeature({ wakeup, preparedStatements }, facts)).toBe(expected);
  });
});

describe('SessionRequiredError', () => {
  it.each(['listen', 'prepared-statements'] as const)('says what to do (%s)', (feature) => {
    const err = new SessionRequiredError(feature);
    expect(err).toMatchObject({ code: 'SESSION_REQUIRED', feature, name: 'SessionRequiredError' });
    expect(err.message).toContain("use wakeup: 'poll' and preparedStatements: false");
    expect(err.message).toContain('direct connection');
  });
});

describe('asSessionError', () => {
  const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });
  it.each([
    ['26000', 'prepared statement "walbox_2d33adc7193fd7dc1bb5" does not exist'],
    ['42P05', 'prepared statement "walbox_2d33adc7193fd7dc1bb5" already exists'],
  ])('explains %s on a walbox statement as SessionRequiredError', (code, message) => {
    const cause = pgError(code, message);
    const err = asSessionError(cause);
    expect(err).toBeInstanceOf(SessionRequiredError);
    expect(err).toMatchObject({ feature: 'prepared-statements', cause });
  });

  it.each([
    pgError('26000', 'prepared statement "theirs" does not exist'),
    pgError('42P01', 'relation "walbox_x" does not exist'),
    new Error('boom'),
    'a string',
    undefined,
  ])('leaves other errors alone: %j', (err) => {
    expect(asSessionError(err)).toBe(err);
  });
});
