/**
 * The development launchers bin/ injects into the runtime (runtime code does not import
 * deploy/local): the local Kafka of `wardstream start`, with Java and Maven provisioned first.
 */
import { startLocalKafka } from '../deploy/local/kafka/local-kafka.ts';
import { kafkaNeeds, provision } from '../deploy/local/provision.ts';
import type { KafkaLauncher } from '../common/runtime.ts';

export const launchLocalKafka: KafkaLauncher = async ({ port, log }) => {
  provision(kafkaNeeds(), { log });
  return startLocalKafka({ port, log });
};
