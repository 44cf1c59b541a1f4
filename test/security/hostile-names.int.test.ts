import { describe, expect, it } from 'vitest';
import { cell } from '../../src/cli/output.js';
import { InvalidConfigError, InvalidNameError, Walbox } from '../../src/index.js';
import { databaseUrl, isolatedWalbox } from '../support/db.js';
import { cli } from './cli-capture.js';

const { pool, walbox, schema } = await isolatedWalbox('hostile-names');

/** The characters of `text` a terminal could act on (newline and tab aside), as code points. */
function rawControls(text: string): number[] {
  const unsafe = (c: number) =>
    (c < 0x20 && c !== 0x0a && c !== 0x09) ||
    (c >= 0x7f && c <= 0x9f) ||
    c === 0x2028 ||
    c === 0x2029 ||
    (c >= 0x202a && c <= 0x202e) ||
    (c >= 0x2066 && c <= 0x2069);
  return [...text].map((ch) => ch.codePointAt(0)!).filter(unsafe);
}

describe('schema names and the NOTIFY channel', () => {
  it('refuses a schema name whose channel would pass 63 bytes, at config time, with INVALID_NAME', () => {
    for (const length of [57, 60, 63]) {
      const make = () =>
        new Walbox({ connectionString: databaseUrl(), schema: `s${'x'.repeat(length - 1)}` });
      expect(make).toThrow(InvalidNameError);
      expect(make).toThrow(/at most 56 characters/);
    }
  });

  it('a 56-character schema migrates, appends and notifies', async () => {
    const name = `t_${Date.now().toString(36)}_${'x'.repeat(56)}`.slice(0, 56);
    const w = new Walbox({ connectionString: databaseUrl(), schema: name });
    try {
      await w.migrate();
      await w.namespaces.upsert({ name: 'n', targets: ['t'] });
      const e = await w.append(w.pool, { namespace: 'n', key: 'k', op: 'upsert', payload: 1 });
      expect(e.id).toMatch(/^[0-9]+$/);
      expect(w.channel).toBe(`walbox_${name}`);
    } finally {
      await w.pool.query(`drop schema if exists "${name}" cascade`);
      await w.pool.query(`drop schema if exists "${name}_boss" cascade`);
      await w.close();
    }
  });
});

describe('captureTable', () => {
  it("refuses walbox's own tables, and pg-boss's beside them, with INVALID_CONFIG", async () => {
    await walbox.namespaces.upsert({ name: 'own', targets: ['t'] });
    // pg-boss's schema appears when a dispatcher first starts; a stand-in table of it here.
    await pool.query(`create schema if not exists "${schema}_boss"`);
    await pool.query(`create table if not exists "${schema}_boss".job (id int)`);
    for (const table of [`${schema}.entries`, `${schema}.namespaces`, `${schema}_boss.job`]) {
      const err = await walbox.captureTable(table, { namespace: 'own', keyColumn: 'id' }).catch((e) => e);
      expect(err, table).toBeInstanceOf(InvalidConfigError);
      expect(err.field).toBe('table');
    }
    const { rows } = await pool.query(
      `select tgname from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ($1, $2) and not t.tgisinternal and tgname like 'walbox_capture%'`,
      [schema, `${schema}_boss`],
    );
    expect(rows).toEqual([]);
  });

  it('still captures a table of the caller', async () => {
    await pool.query(`create table "${schema}_app" (id int primary key)`).catch(() => {});
    await pool.query(`drop table if exists public."${schema}_app"`);
    await pool.query(`create table public."${schema}_app" (id int primary key)`);
    try {
      await walbox.captureTable(`public.${schema}_app`, { namespace: 'own', keyColumn: 'id' });
      await pool.query(`insert into public."${schema}_app" values (1)`);
      const { rows } = await pool.query(
        `select count(*)::int as n from "${schema}".entries where namespace = 'own'`,
      );
      expect(rows[0].n).toBe(1);
    } finally {
      await pool.query(`drop table public."${schema}_app"`);
    }
  });
});

describe('CLI human output', () => {
  const hostile = ['\u001b]0;pwned\u0007', '\u001b[2J', '\u009b31m', 'a\rb', '\u202eevil', '\u0008\u007f'];

  it('cells show control characters, C1 controls and bidi overrides as \\u escapes', () => {
    for (const text of hostile) {
      const shown = cell(text, 1000);
      expect(rawControls(shown), JSON.stringify(text)).toEqual([]);
    }
    expect(cell('\u001b[31mred')).toBe('\\u001b[31mred');
    expect(cell('snow ☃ and 中文')).toBe('snow ☃ and 中文');
  });

  it('audit prints keys and actors escaped, in tables and in --json', async () => {
    await walbox.namespaces.upsert({ name: 'ansi', targets: ['t'] });
    for (const [i, text] of hostile.entries()) {
      await walbox.append(pool, {
        namespace: 'ansi',
        key: `k${i}${text}`,
        op: 'upsert',
        payload: { text },
        actor: `actor${text}`,
      });
    }
    for (const args of [[], ['--json']]) {
      const { code, output } = await cli([
        'audit',
        '--namespace',
        'ansi',
        '--schema',
        schema,
        '--database-url',
        databaseUrl(),
        ...args,
      ]);
      expect(code, output).toBe(0);
      expect(output).toContain('\\u001b');
      // Only newlines (and tabs) stay raw.
      expect(rawControls(output)).toEqual([]);
    }
  });
});
