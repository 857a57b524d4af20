/**
 * The development launchers bin/ injects into the runtime (runtime code does not import
 * deploy/local): the local Kafka of `wardstream start`, with Java and Maven provisioned first, and
 * the embedded PostgreSQL.
 */

import type { KafkaLauncher } from '../common/runtime.ts';
import { startLocalKafka } from '../deploy/local/kafka/local-kafka.ts';
import { startLocalPostgres } from '../deploy/local/postgres.ts';
import { kafkaNeeds, provision } from '../deploy/local/provision.ts';
import type { PostgresLauncher } from '../history/db.ts';

export const launchLocalKafka: KafkaLauncher = async ({ port, log }) => {
  provision(kafkaNeeds(), { log });
  return startLocalKafka({ port, log });
};

/** The embedded PostgreSQL of `wardstream start` (and of `replay`/`sink` without DATABASE_URL). */
export const launchLocalPostgres: PostgresLauncher = (o) => startLocalPostgres(o);
