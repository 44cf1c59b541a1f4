import { InvalidConfigError } from './errors.js';
import { assertLogicalName } from './names.js';
/** The newest rows of the audit view that match, oldest first (as `walbox audit` prints them). */
export async function readAudit(sql, filter = {}) {
    const { key, namespace, actor, limit = 20 } = filter;
    if (namespace !== undefined)
        assertLogicalName('namespace', namespace);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
        throw new InvalidConfigError('limit', 'expected an integer from 1 to 10000');
    }
    const { rows } = await sql.db.query(`select * from (
       select a.* from ${sql.schema}.audit a
        where ($1::text is null or a.key = $1) and ($2::text is null or a.namespace = $2)
          and ($3::text is null or a.actor = $3)
        order by a.id desc limit $4) newest
      order by id`, [key ?? null, namespace ?? null, actor ?? null, limit]);
    return rows;
}
//# sourceMappingURL=audit.js.map