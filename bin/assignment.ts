/**
 * For `wardstream admit` and `wardstream discharge`: writes (or tombstones) a patient's record
 * on the compacted patient-assignments topic, which bridges use to route readings that name no
 * ward.
 */
import { loadConfig } from '../common/config.ts';
import { WardstreamError } from '../common/errors.ts';
import { createProducer } from '../common/kafka.ts';
import { createLogger } from '../common/log.ts';
import { startRuntime } from '../common/runtime.ts';
import type { CliContext } from './context.ts';

/** Resolves with the configured partition count (to name the admitted ward's partition). */
export async function writeAssignment(
  ctx: CliContext,
  command: string,
  patient: string,
  assignment: { ward: string; bed: string | null } | null,
): Promise<number> {
  const config = loadConfig(ctx.env);
  if (!config.kafkaBrokers) throw new WardstreamError('CLI_ERR_USAGE', 'KAFKA_BROKERS must point at the cluster (npm start prints it)');
  const rt = await startRuntime(config, createLogger(command), { clientId: 'wardstream-cli' });
  const producer = createProducer(rt.kafka);
  await producer.connect();
  const value = assignment ? rt.codec.encode('assignment', { patientId: patient, wardId: assignment.ward, bed: assignment.bed, assignedAt: Date.now() }) : null;
  await producer.send({ topic: rt.topics.assignments, acks: -1, messages: [{ key: patient, value }] });
  await producer.disconnect();
  return config.kafkaPartitions;
}
