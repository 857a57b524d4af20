/**
 * Wiring shared by `wardstream start` and the per-component commands: resolve Kafka
 * (KAFKA_BROKERS, or a local broker from the launcher the caller injects), create topics, build
 * the codec. Components get everything injected. Runtime code does not know how a local Kafka
 * is started: bin/ passes the development launcher (deploy/local) to `wardstream start` only.
 */
import type { Kafka } from 'kafkajs';
import { type Codec, createCodec } from '../schemas/codec.ts';
import type { Topics } from '../schemas/topics.ts';
import type { Config } from './config.ts';
import { WardstreamError } from './errors.ts';
import { createKafka, ensureTopics } from './kafka.ts';
import type { Logger } from './log.ts';

/** A Kafka broker this process started (and stops). */
export interface LocalKafkaHandle {
  readonly brokers: string;
  stop(): Promise<void>;
}

/** Starts a local Kafka on `port` when KAFKA_BROKERS is unset. */
export type KafkaLauncher = (o: { port: number; log: (line: string) => void }) => Promise<LocalKafkaHandle>;

export interface Runtime {
  readonly kafka: Kafka;
  readonly brokers: readonly string[];
  readonly topics: Topics;
  readonly codec: Codec;
  readonly localKafka: LocalKafkaHandle | null;
}

export async function startRuntime(config: Config, log: Logger, o: { clientId: string; launchKafka?: KafkaLauncher }): Promise<Runtime> {
  let localKafka: LocalKafkaHandle | null = null;
  let brokers = config.kafkaBrokers;
  if (!brokers) {
    if (!o.launchKafka) throw new WardstreamError('CONFIG_ERR_INVALID', 'KAFKA_BROKERS is not set (only `wardstream start` runs a local Kafka)');
    log.info('KAFKA_BROKERS unset: starting a local Kafka', { port: config.kafkaPort });
    localKafka = await o.launchKafka({ port: config.kafkaPort, log: (l) => log.info(l) });
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
