/**
 * Encodes a value as JSON, refusing what JSON.stringify would silently drop or mangle (functions, symbols,
 * undefined inside arrays, NaN/Infinity) or throw on (BigInt, cycles). Returns the text or a reason.
 */
export function encodeJson(value) {
    if (isPlainJson(value, 0))
        return { ok: true, text: JSON.stringify(value) };
    // Slow path, only for values the fast check refused: find the exact path and reason.
    const problem = findProblem(value, '$', new Set());
    if (problem)
        return { ok: false, ...problem };
    return { ok: true, text: JSON.stringify(value) };
}
function findProblem(value, path, seen) {
    switch (typeof value) {
        case 'string':
        case 'boolean':
            return undefined;
        case 'number':
            return Number.isFinite(value) ? undefined : { path, reason: `${value} is not a JSON number` };
        case 'bigint':
            return { path, reason: 'BigInt is not JSON (convert it to a string)' };
        case 'function':
            return { path, reason: 'a function is not JSON' };
        case 'symbol':
            return { path, reason: 'a symbol is not JSON' };
        case 'undefined':
            return { path, reason: 'undefined is not JSON (use null)' };
    }
    if (value === null)
        return undefined;
    const obj = value;
    if (typeof obj.toJSON === 'function') {
        // Dates and friends: checked as what they serialize to.
        return findProblem(obj.toJSON(), path, seen);
    }
    if (seen.has(obj))
        return { path, reason: 'a cycle: this object contains itself' };
    seen.add(obj);
    try {
        if (Array.isArray(obj)) {
            for (let i = 0; i < obj.length; i++) {
                const p = findProblem(obj[i], `${path}[${i}]`, seen);
                if (p)
                    return p;
            }
            return undefined;
        }
        const proto = Object.getPrototypeOf(obj);
        if (proto !== Object.prototype && proto !== null) {
            return { path, reason: `a ${proto?.constructor?.name ?? 'class'} instance is not plain JSON` };
        }
        for (const [k, v] of Object.entries(obj)) {
            // JSON.stringify omits undefined properties; that is the one silent drop we accept, as everyone does.
            if (v === undefined)
                continue;
            const p = findProblem(v, `${path}.${k}`, seen);
            if (p)
                return p;
        }
        return undefined;
    }
    finally {
        seen.delete(obj);
    }
}
/**
 * The append hot path: true for the common case (plain objects, arrays, strings, finite numbers, booleans,
 * null, Dates) without building paths or tracking cycles; a depth cap stands in for cycle detection.
 */
function isPlainJson(value, depth) {
    switch (typeof value) {
        case 'string':
        case 'boolean':
            return true;
        case 'number':
            return Number.isFinite(value);
        case 'object': {
            if (value === null || value instanceof Date)
                return value === null || !Number.isNaN(value.getTime());
            if (depth > 256)
                return false;
            if (Array.isArray(value)) {
                for (const item of value)
                    if (!isPlainJson(item, depth + 1))
                        return false;
                return true;
            }
            const proto = Object.getPrototypeOf(value);
            if (proto !== Object.prototype && proto !== null)
                return false;
            if (typeof value.toJSON === 'function')
                return false;
            for (const key in value) {
                const v = value[key];
                if (v !== undefined && !isPlainJson(v, depth + 1))
                    return false;
            }
            return true;
        }
        default:
            return false;
    }
}
//# sourceMappingURL=json-value.js.map