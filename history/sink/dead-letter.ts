/**
 * The sink's dead letters: records PostgreSQL refuses go to `<prefix>history.dlq`
 * (`HistoryDeadLetter`, schemas/history-dead-letter.avsc) with the reason, the SQLSTATE, where
 * they were read and their original bytes, so the batch's other rows are stored and its offset
 * moves on. They are produced with acks=all before the batch's offset is committed: at least
 * once (a crash in between produces them again). A dead letter whose cause was fixed can be
 * produced back to its topic; its row key makes that safe even if the row was stored meanwhile.
 */
import type { Producer } from 'kafkajs';
import type { WardstreamError } from '../../common/errors.ts';
import type { Codec, RecordOf } from '../../schemas/codec.ts';
import type { HistoryDeadLetter } from '../../schemas/records.ts';
import { rowKey, type SinkKind } from './batch.ts';
import { sqlStateOf } from './failures.ts';

/** The Kafka message a dead letter came from. */
export interface Origin {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly value: Buffer;
}

/** The dead letter of one refused record (pure). */
export function deadLetterOf<K extends SinkKind>(kind: K, record: RecordOf[K], origin: Origin, error: WardstreamError, now: number): HistoryDeadLetter {
  const correlationId = (record as { correlationId?: string }).correlationId ?? null;
  return {
    reason: error.code,
    detail: error.message,
    sqlState: sqlStateOf(error),
    topic: origin.topic,
    partition: origin.partition,
    offset: Number(origin.offset),
    rowKey: rowKey(kind, record),
    payload: origin.value,
    failedAt: now,
    correlationId,
  };
}

/** Produces dead letters (acks=all), keyed like the records they came from. */
export async function sendDeadLetters(
  producer: Producer,
  codec: Codec,
  topic: string,
  letters: readonly { readonly key: Buffer | null; readonly letter: HistoryDeadLetter }[],
): Promise<void> {
  if (!letters.length) return;
  await producer.send({ topic, acks: -1, messages: letters.map((l) => ({ key: l.key, value: codec.encode('historyDeadLetter', l.letter) })) });
}
