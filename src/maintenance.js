/**
 * Creates the next week's day partitions of the log and drops the expired ones that every target has
 * passed; the same for the inbox's, dropped after the longest inbox retention. Dispatchers run it on a pg-boss schedule; `walbox maintain` runs it by hand.
 */
export async function maintain(sql, daysAhead = 7) {
    const { db, schema } = sql;
    const { rows } = await db.query(`select ${schema}.ensure_partitions($1) as created`, [
        daysAhead,
    ]);
    const { rows: dropped } = await db.query(`select name from ${schema}.drop_expired_partitions() as name`);
    const { rows: inbox } = await db.query(`select name from ${schema}.inbox_partitions($1) as name`, [daysAhead]);
    return { created: rows[0].created, dropped: [...dropped, ...inbox].map((r) => r.name) };
}
//# sourceMappingURL=maintenance.js.map