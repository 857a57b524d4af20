import { LATENCY_BUCKETS, prom } from '../common/metrics.ts';

export interface BridgeMetrics {
  received: prom.Counter<'outcome'>;
  deadLetters: prom.Counter<'reason'>;
  deviceToBridge: prom.Histogram;
  bridgeToKafka: prom.Histogram;
  kafkaSend: prom.Histogram;
  batchSize: prom.Histogram;
}

export function bridgeMetrics(registry: prom.Registry): BridgeMetrics {
  const registers = [registry];
  return {
    received: new prom.Counter({
      name: 'wardstream_bridge_messages_total',
      help: 'Device messages received by the bridge, by outcome',
      labelNames: ['outcome'],
      registers,
    }),
    deadLetters: new prom.Counter({
      name: 'wardstream_bridge_dead_letters_total',
      help: 'Device messages sent to the dead-letter topic, by reason code',
      labelNames: ['reason'],
      registers,
    }),
    deviceToBridge: new prom.Histogram({
      name: 'wardstream_device_to_bridge_seconds',
      help: 'Device timestamp to bridge receive',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    bridgeToKafka: new prom.Histogram({
      name: 'wardstream_bridge_to_kafka_seconds',
      help: 'Bridge receive to Kafka acknowledgement (acks=all)',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    kafkaSend: new prom.Histogram({
      name: 'wardstream_bridge_kafka_send_seconds',
      help: 'Duration of one Kafka sendBatch',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    batchSize: new prom.Histogram({
      name: 'wardstream_bridge_batch_records',
      help: 'Records per Kafka sendBatch',
      buckets: [1, 10, 50, 100, 500, 1000, 5000],
      registers,
    }),
  };
}
