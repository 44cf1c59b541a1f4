import type { NamespaceConfig } from '../namespace-config.js';
import type { Sql } from '../sql/context.js';
import type { Sink } from './sink.js';
import { applyToSink } from './sink-apply.js';
import { gatherStep } from './step-gather.js';
import { judgeStep, planStep } from './step-judge.js';
import type { CursorState, PartitionRef, StepOutcome } from './step-types.js';

export interface StepDeps {
  sql: Sql;
  sink: Sink;
  applyTimeoutMs: number;
  signal: AbortSignal;
  /**
   * The lease holder's id: a step offers nothing to the sink unless this lease is still live. null: the
   * holder surely still has it (CursorLease.surelyHeld), and the step does not ask the database.
   */
  owner: string | null;
}

/**
 * One drain step of a (namespace, target, partition) whose lease the caller holds: gather (the due parked
 * entries and the next window of the log), decide what to offer, offer it to the sink, and judge what
 * happens to each entry. The caller persists the outcome with record_step.
 */
export async function drainStep(
  deps: StepDeps,
  ref: PartitionRef,
  ns: NamespaceConfig,
  cursor: CursorState,
  batchSize: number,
): Promise<StepOutcome> {
  // While probing a batch that kept failing, one entry at a time (see judgeStep).
  const limit = cursor.probeUntilId !== null ? 1 : batchSize;
  const gathered = await gatherStep(deps.sql, ref, deps.owner, cursor, limit);
  const plan = planStep(gathered, cursor);
  const applied =
    plan.deliver.length === 0
      ? undefined
      : await applyToSink(deps.sink, ref, plan.deliver, deps.applyTimeoutMs, deps.signal);
  const outcome = judgeStep({
    gathered,
    plan,
    cursor,
    retry: ns.retry,
    onExhausted: ns.onExhausted,
    applied,
  });
  // Stopping, not failing: record nothing, so the next holder offers the same entries without backoff.
  if (applied && !applied.ok && deps.signal.aborted) return { ...outcome, cursor, park: [], work: 0 };
  return outcome;
}
