/**
 * A read-only, in-memory view of the compacted `patient-assignments` topic (latest ward and
 * bed per patient), kept up to date by following the topic from the beginning (the one topic
 * reader, `readTopic`). `ready` resolves once the view has caught up with the topic's end as
 * of start, so routing decisions made after it never use a stale view of history.
 */
import type { Kafka } from 'kafkajs';
import type { Codec } from '../schemas/codec.ts';
import type { PatientAssignment } from '../schemas/records.ts';
import { readTopic } from './kafka.ts';
import type { Logger } from './log.ts';

export interface AssignmentView {
  get(patientId: string): PatientAssignment | undefined;
  all(): IterableIterator<PatientAssignment>;
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

export async function startAssignmentView(kafka: Kafka, topic: string, codec: Codec, log: Logger): Promise<AssignmentView> {
  const map = new Map<string, PatientAssignment>();
  const reader = await readTopic(kafka, topic, { until: 'follow', group: 'wardstream-assignments', maxWaitTimeInMs: 200 }, (_partition, records) => {
    for (const message of records) {
      const key = message.key?.toString();
      if (!key) continue;
      if (message.value === null) map.delete(key);
      else {
        try {
          map.set(key, codec.decode('assignment', message.value));
        } catch (e) {
          log.warn('undecodable assignment skipped', { err: e as Error, offset: message.offset });
        }
      }
    }
  });
  return {
    get: (id) => map.get(id),
    all: () => map.values(),
    ready: reader.caughtUp,
    stop: () => reader.stop(),
  };
}
