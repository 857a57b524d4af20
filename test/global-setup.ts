/**
 * Starts the real infrastructure the integration tests talk to, once per run:
 *  - Apache Kafka 4.x (KRaft) from deploy/local/kafka, unless KAFKA_BROKERS is set;
 *  - Mosquitto (Debian package `mosquitto`) on a free port, unless MOSQUITTO_URL is set.
 * Tests isolate themselves with a unique topic prefix per test file.
 */
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startLocalKafka } from '../deploy/local/kafka/local-kafka.ts';
import { startMosquitto } from '../deploy/local/mosquitto.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
    mosquittoUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: (() => Promise<void>)[] = [];
  let brokers = process.env.KAFKA_BROKERS;
  if (!brokers) {
    const k = await startLocalKafka({ log: (l) => console.log(`[global-setup] ${l}`) });
    brokers = k.brokers;
    stops.push(() => k.stop());
  }
  let mosquittoUrl = process.env.MOSQUITTO_URL;
  if (!mosquittoUrl) {
    const m = await startMosquitto();
    mosquittoUrl = m.url;
    stops.push(() => m.stop());
  }
  project.provide('kafkaBrokers', brokers);
  project.provide('mosquittoUrl', mosquittoUrl);
  return async () => { for (const s of stops.reverse()) await s(); };
}
