import { quoteIdent } from '../names.js';
export function sqlContext(db, schemaName) {
    const schema = quoteIdent('schema', schemaName);
    const channel = `walbox_${schemaName}`;
    const on = (other) => ({ db: other, schema, schemaName, channel, on });
    return on(db);
}
//# sourceMappingURL=context.js.map