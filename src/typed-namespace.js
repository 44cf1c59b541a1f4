import { InvalidEntryError } from './errors.js';
/**
 * A namespace bound to a payload schema: producers get a compile-time check of the payload type and a
 * run-time check against the schema, so they cannot write what consumers do not expect.
 * Deletes may carry a null payload.
 */
export class TypedNamespace {
    name;
    payloadSchema;
    appendMany_;
    constructor(name, payloadSchema, appendMany_) {
        this.name = name;
        this.payloadSchema = payloadSchema;
        this.appendMany_ = appendMany_;
    }
    async append(executor, entry) {
        const [stored] = await this.appendMany_(executor, [this.#check(entry)]);
        return stored;
    }
    async appendMany(executor, entries) {
        const checked = entries.map((e, i) => this.#check(e, entries.length === 1 ? undefined : i));
        return (await this.appendMany_(executor, checked));
    }
    #check(entry, index) {
        if (entry.op === 'delete' && (entry.payload === null || entry.payload === undefined)) {
            return { ...entry, namespace: this.name, payload: null };
        }
        const result = this.payloadSchema.safeParse(entry.payload);
        if (!result.success) {
            const issue = result.error.issues[0];
            const path = ['payload', ...issue.path.map(String)].join('.');
            throw new InvalidEntryError('PAYLOAD_SCHEMA_MISMATCH', path, `${issue.message} (namespace "${this.name}")`, index, { cause: result.error });
        }
        return { ...entry, namespace: this.name, payload: result.data };
    }
}
//# sourceMappingURL=typed-namespace.js.map