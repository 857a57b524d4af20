/**
 * Wiring shared by `wardstream start` and the per-component commands: resolve Kafka (local or
 * KAFKA_BROKERS), create topics, build the codec. Components get everything injected.
 */
import type { Kafka } from 'kafkajs';
import { startLocalKafka, type LocalKafka } from '../deploy/local/kafka/local-kafka.ts';
import { createCodec, type Codec } from '../schemas/codec.ts';
import type { Topics } from '../schemas/topics.ts';
import type { Config } from './config.ts';
import { createKafka, ensureTopics } from './kafka.ts';
import type { Logger } from './log.ts';

export interface Runtime {
  readonly kafka: Kafka;
  readonly brokers: readonly string[];
  readonly topics: Topics;
  readonly codec: Codec;
  readonly localKafka: LocalKafka | null;
}

export async function startRuntime(config: Config, log: Logger, o: { clientId: string; startLocalKafka: boolean }): Promise<Runtime> {
  let localKafka: LocalKafka | null = null;
  let brokers = config.kafkaBrokers;
  if (!brokers) {
    if (!o.startLocalKafka) throw new Error('KAFKA_BROKERS is not set (only `wardstream start` runs a local Kafka)');
    log.info('KAFKA_BROKERS unset: starting a local Kafka', { port: config.kafkaPort });
    localKafka = await startLocalKafka({ port: config.kafkaPort, log: (l) => log.info(l) });
    brokers = [localKafka.brokers];
  }
  const kafka = createKafka(brokers, o.clientId);
  const admin = kafka.admin();
  await admin.connect();
  const topics = await ensureTopics(admin, config);
  await admin.disconnect();
  const codec = await createCodec(config.schemaRegistryUrl ?? undefined);
  return { kafka, brokers, topics, codec, localKafka };
}
