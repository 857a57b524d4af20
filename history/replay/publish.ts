/**
 * `wardstream replay --publish`: the proposed events go to `<prefix>alerts.replay.<name>`
 * (created if missing), never to a live topic, with the live alerts' key and ward partitioning.
 */
import type { Kafka } from 'kafkajs';
import type { Config } from '../../common/config.ts';
import { createProducer, type Message, sendChunked, whenReady } from '../../common/kafka.ts';
import type { Codec } from '../../schemas/codec.ts';
import type { AlertEvent } from '../../schemas/records.ts';
import { partitionForWard } from '../../schemas/topics.ts';

/** Writes the proposed events to `<prefix>alerts.replay.<name>`; returns the topic. */
export async function publishReplay(kafka: Kafka, config: Config, codec: Codec, name: string, events: readonly AlertEvent[]): Promise<string> {
  const topic = `${config.kafkaTopicPrefix}alerts.replay.${name}`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await whenReady(() => admin.createTopics({ topics: [{ topic, numPartitions: config.kafkaPartitions }], waitForLeaders: true }));
  } finally {
    await admin.disconnect();
  }
  const producer = createProducer(kafka);
  await producer.connect();
  try {
    const messages: Message[] = events.map((e) => ({
      key: e.patientId,
      value: codec.encode('alert', e),
      partition: partitionForWard(e.wardId, config.kafkaPartitions),
      timestamp: String(e.eventTs),
    }));
    await whenReady(() => sendChunked(producer, [{ topic, messages }]));
  } finally {
    await producer.disconnect();
  }
  return topic;
}
