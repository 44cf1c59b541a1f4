import { createHash } from 'node:crypto';
import { CompiledQuery } from 'kysely';
export function toQueryable(executor) {
    if (typeof executor.executeQuery === 'function') {
        const db = executor;
        return {
            query: async (text, values = []) => {
                const result = await db.executeQuery(CompiledQuery.raw(text, [...values]));
                return { rows: result.rows };
            },
        };
    }
    if (typeof executor.query === 'function') {
        const pg = executor;
        return {
            query: async (text, values = [], options) => {
                const result = options?.prepare
                    ? await pg.query({
                        name: statementName(text),
                        text,
                        values: [...values],
                    })
                    : await pg.query(text, [...values]);
                return { rows: result.rows };
            },
        };
    }
    throw new TypeError('walbox: executor must be a pg Pool/Client/PoolClient or a Kysely instance/transaction');
}
const names = new Map();
/** One name per statement text (the schema is part of the text): pg refuses one name for two texts. */
function statementName(text) {
    let name = names.get(text);
    if (name === undefined) {
        name = `walbox_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
        names.set(text, name);
    }
    return name;
}
//# sourceMappingURL=executor.js.map