import { describe, expectTypeOf, it } from 'vitest';
import type {
  BatchResult as CoreBatchResult,
  Entry as CoreEntry,
  Sink as CoreSink,
  SinkContext as CoreSinkContext,
  Walbox,
} from '../../../src/index.js';
import type { BatchResult, Sink, SinkContext, SinkEntry } from '../src/index.js';

// Type-level: `npx tsc --noEmit -p tsconfig.json` fails when the kit's structural types drift from the core's.
describe('the kit types mirror walbox', () => {
  it('takes a walbox Entry and SinkContext where it takes its own', () => {
    expectTypeOf<CoreEntry>().toExtend<SinkEntry>();
    expectTypeOf<CoreEntry<{ a: number }>>().toExtend<SinkEntry<{ a: number }>>();
    expectTypeOf<CoreSinkContext>().toExtend<SinkContext>();
    expectTypeOf<SinkContext>().toExtend<CoreSinkContext>();
    expectTypeOf<BatchResult>().toExtend<CoreBatchResult>();
    expectTypeOf<CoreBatchResult>().toExtend<BatchResult>();
  });

  it('gives a kit Sink to a dispatcher, and a walbox Sink to whatever takes a kit Sink', () => {
    expectTypeOf<Sink>().toExtend<CoreSink>();
    expectTypeOf<CoreSink>().toExtend<Sink>();
    type DispatcherSinks = Parameters<Walbox['dispatcher']>[0]['sinks'];
    expectTypeOf<Record<string, Sink>>().toExtend<DispatcherSinks>();
    const kitSink: Sink = { name: 'kit', apply: async () => ({ failed: [] }) };
    const core: CoreSink = kitSink;
    const back: Sink = core;
    expectTypeOf(back).toEqualTypeOf<Sink>();
  });

  it('refuses an entry without the fields a sink reads', () => {
    expectTypeOf<{ id: string; namespace: string; key: string }>().not.toExtend<SinkEntry>();
  });
});
