/**
 * Delay before attempt `attempt + 1` after `attempt` failures: exponential, capped, with "equal jitter"
 * (half fixed, half random) so that retries of many keys after one outage do not arrive together.
 */
export function backoffMs(retry, attempt, random = Math.random) {
    const exp = retry.initialDelayMs * retry.multiplier ** Math.max(0, attempt - 1);
    const capped = Math.min(retry.maxDelayMs, exp);
    return Math.round(capped / 2 + (random() * capped) / 2);
}
//# sourceMappingURL=backoff.js.map