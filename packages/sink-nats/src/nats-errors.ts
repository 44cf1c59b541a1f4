import { JetStreamApiError } from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';
import type { PublishErrorKind } from '@walbox/sink-kit';

/**
 * Whether a failed publish failed its entry or the batch. The stream answering with an error (message too
 * large, stream full with `discard: new`, a wrong expected stream), or an entry the sink cannot turn into a
 * message (subject, headers, body), is about the entry. Anything else leaves the outcome unknown (no ack in
 * time, connection lost or closed, no stream listening): the batch is retried, and the stream's duplicate
 * window drops the copies of what did land.
 */
export function classifyNatsError(error: unknown): PublishErrorKind {
  if (isNoStream(error)) return 'batch';
  if (error instanceof JetStreamApiError) return 'entry';
  if (error instanceof errors.InvalidSubjectError || error instanceof errors.InvalidArgumentError)
    return 'entry';
  if (error instanceof TypeError) return 'entry'; // thrown by the sink's own subject, header or body checks
  return 'batch';
}

/** The batch-level error thrown when no JetStream stream answers for a subject. */
export function describeBatchError(error: unknown, subject: string): unknown {
  if (isNoStream(error))
    return new Error(
      `no JetStream stream answered for subject ${JSON.stringify(subject)}: create a stream whose subjects ` +
        'capture it (the sink does not create streams), or check that JetStream is enabled',
      { cause: error },
    );
  return error;
}

/** No responder for the subject: the client reports it as JetStreamNotEnabled, which it does not export. */
function isNoStream(error: unknown): boolean {
  return error instanceof Error && error.name === 'JetStreamNotEnabled';
}
