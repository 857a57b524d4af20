/**
 * The bridge component: MQTT in, Kafka out. With MQTT_URL unset it embeds the broker (aedes)
 * and hooks its publish path; with MQTT_URL set it subscribes to that broker with a
 * persistent QoS 1 session. Both paths feed the same Ingestor (see ingest.ts for the
 * delivery guarantee).
 */
import type { Kafka } from 'kafkajs';
import { type AssignmentView, startAssignmentView } from '../common/assignments.ts';
import type { Config } from '../common/config.ts';
import { createProducer } from '../common/kafka.ts';
import type { Logger } from '../common/log.ts';
import type { prom } from '../common/metrics.ts';
import type { Codec } from '../schemas/codec.ts';
import type { Topics } from '../schemas/topics.ts';
import { type EmbeddedBroker, startEmbeddedBroker } from './embedded-broker.ts';
import { Ingestor } from './ingest.ts';
import { bridgeMetrics } from './metrics.ts';
import { type Subscriber, startSubscriber } from './mqtt-subscriber.ts';

export const DEVICE_TOPICS = ['patients/+/vitals', 'wards/+/patients/+/vitals'] as const;

export interface Bridge {
  /** mqtt:// URL devices publish to (the embedded broker, or MQTT_URL). */
  readonly mqttUrl: string;
  readonly ingestor: Ingestor;
  readonly assignments: AssignmentView;
  healthy(): boolean;
  close(): Promise<void>;
}

export async function startBridge(o: {
  config: Config;
  kafka: Kafka;
  codec: Codec;
  topics: Topics;
  log: Logger;
  registry?: prom.Registry;
  clientId?: string;
}): Promise<Bridge> {
  const { config, log } = o;
  const producer = createProducer(o.kafka);
  await producer.connect();
  const assignments = await startAssignmentView(o.kafka, o.topics.assignments, o.codec, log);
  await assignments.ready;
  const ingestor = new Ingestor({
    producer,
    codec: o.codec,
    topics: o.topics,
    partitions: config.kafkaPartitions,
    maxPayloadBytes: config.maxPayloadBytes,
    maxFutureSkewMs: config.maxFutureSkewMs,
    lookupWard: (id) => assignments.get(id),
    log,
    metrics: o.registry ? bridgeMetrics(o.registry) : undefined,
  });
  let broker: EmbeddedBroker | null = null;
  let sub: Subscriber | null = null;
  if (config.mqttUrl) {
    sub = startSubscriber({
      url: config.mqttUrl,
      clientId: o.clientId ?? `wardstream-bridge-${config.kafkaTopicPrefix || 'default'}`,
      topics: DEVICE_TOPICS,
      protocolVersion: config.mqttProtocolVersion,
      onMessage: (t, p) => ingestor.ingest(t, p),
      log,
    });
    await sub.ready;
  } else {
    broker = await startEmbeddedBroker({ host: config.mqttHost, port: config.mqttPort, ingestor, log });
  }
  return {
    mqttUrl: config.mqttUrl ?? broker!.url,
    ingestor,
    assignments,
    healthy: () => (sub ? sub.connected() : broker !== null),
    async close() {
      await sub?.close();
      await broker?.close();
      await ingestor.close();
      await assignments.stop();
      await producer.disconnect();
    },
  };
}
