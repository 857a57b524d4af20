/**
 * The baseline: the bridge most people write first. mqtt.js subscriber, and for each message
 * `await producer.send(...)` (acks=all) before returning from handleMessage, which is what
 * makes mqtt.js send the PUBACK. Correct (at-least-once), but one Kafka round trip per message,
 * because mqtt.js handles one incoming packet at a time per connection.
 */

import type { Kafka } from 'kafkajs';
import mqtt from 'mqtt';
import { parseDeviceMessage } from '../bridge/payload.ts';
import { createProducer } from '../common/kafka.ts';
import type { Codec } from '../schemas/codec.ts';
import { partitionForWard, type Topics } from '../schemas/topics.ts';

export async function startNaiveBridge(o: {
  url: string;
  kafka: Kafka;
  codec: Codec;
  topics: Topics;
  partitions: number;
  clientId: string;
}): Promise<{ close(): Promise<void> }> {
  const producer = createProducer(o.kafka);
  await producer.connect();
  const client = await mqtt.connectAsync(o.url, { clientId: o.clientId, protocolVersion: 4, clean: false, reconnectPeriod: 500 });
  // mqtt.js calls handleMessage once per packet and sends the PUBACK when `done` is called.
  client.handleMessage = (packet, done) => {
    const r = parseDeviceMessage(packet.topic, packet.payload as Buffer, {
      now: Date.now(),
      maxPayloadBytes: 16384,
      maxFutureSkewMs: 300_000,
      lookupWard: () => undefined,
      correlationId: 'naive',
    });
    if (!r.ok) {
      done();
      return;
    }
    producer
      .send({
        topic: o.topics.vitals,
        acks: -1,
        messages: [{ key: r.reading.patientId, value: o.codec.encode('vitals', r.reading), partition: partitionForWard(r.reading.wardId, o.partitions) }],
      })
      .then(
        () => done(),
        (e: Error) => done(e),
      );
  };
  await client.subscribeAsync(['patients/+/vitals', 'wards/+/patients/+/vitals'], { qos: 1 });
  return {
    async close() {
      await client.endAsync();
      await producer.disconnect();
    },
  };
}
