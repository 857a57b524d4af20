/**
 * A read-only, in-memory view of the compacted `patient-assignments` topic (latest ward and
 * bed per patient), kept up to date by a consumer with its own throwaway group that always
 * reads from the beginning. `ready` resolves once the view has caught up with the topic's end
 * as of start, so routing decisions made after it never use a stale view of history.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { Codec } from '../schemas/codec.ts';
import type { PatientAssignment } from '../schemas/records.ts';
import type { Logger } from './log.ts';
import { whenReady } from './kafka.ts';

export interface AssignmentView {
  get(patientId: string): PatientAssignment | undefined;
  all(): IterableIterator<PatientAssignment>;
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

export async function startAssignmentView(kafka: Kafka, topic: string, codec: Codec, log: Logger): Promise<AssignmentView> {
  const map = new Map<string, PatientAssignment>();
  const admin = kafka.admin();
  await admin.connect();
  const ends = await whenReady(() => admin.fetchTopicOffsets(topic));
  await admin.disconnect();
  const target = new Map(ends.map((e) => [e.partition, BigInt(e.high)]));
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => { resolveReady = r; });
  const caughtUp = new Set<number>();
  const checkReady = () => { if ([...target.entries()].every(([p, h]) => h === 0n || caughtUp.has(p))) resolveReady(); };
  checkReady();

  const groupId = `wardstream-assignments-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      const key = message.key?.toString();
      if (key) {
        if (message.value === null) map.delete(key);
        else {
          try { map.set(key, codec.decode('assignment', message.value)); } catch (e) { log.warn('undecodable assignment skipped', { err: e as Error, offset: message.offset }); }
        }
      }
      const high = target.get(partition);
      if (high !== undefined && BigInt(message.offset) + 1n >= high) { caughtUp.add(partition); checkReady(); }
    },
  });
  return {
    get: (id) => map.get(id),
    all: () => map.values(),
    ready,
    async stop() {
      await consumer.disconnect();
      const a = kafka.admin();
      await a.connect();
      await a.deleteGroups([groupId]).catch(() => {});
      await a.disconnect();
    },
  };
}
