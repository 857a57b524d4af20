/**
 * Metrics through a real Kafka: a reading with a known device timestamp lands in the right
 * latency bucket, and dead letters are counted by reason.
 */
import { describe, expect, it } from 'vitest';
import { Ingestor } from '../../bridge/ingest.ts';
import { bridgeMetrics } from '../../bridge/metrics.ts';
import { createProducer } from '../../common/kafka.ts';
import { createRegistry } from '../../common/metrics.ts';
import { log, reading, setupTopics, testConfig } from '../helpers.ts';

describe('bridge metrics', () => {
  it('puts a 3-second-old reading in the (2.5 s, 5 s] bucket and counts dead letters by reason', async () => {
    const config = testConfig();
    const { kafka, topics, codec } = await setupTopics(config);
    const producer = createProducer(kafka);
    await producer.connect();
    const registry = createRegistry('bridge');
    const now = Date.now(); // Kafka 4 refuses record timestamps more than an hour ahead of its clock
    const ing = new Ingestor({
      producer,
      codec,
      topics,
      partitions: config.kafkaPartitions,
      maxPayloadBytes: 4096,
      maxFutureSkewMs: 300_000,
      lookupWard: () => undefined,
      log,
      metrics: bridgeMetrics(registry),
      now: () => now,
    });
    await ing.ingest('wards/w1/patients/p1/vitals', Buffer.from(reading({ seq: 1, ts: now - 3000, vitals: { heartRate: 80 } })));
    await ing.ingest('wards/w1/patients/p1/vitals', Buffer.from('not json'));
    await ing.close();
    await producer.disconnect();
    const text = await registry.metrics();
    const bucket = (le: string) =>
      Number(new RegExp(`wardstream_device_to_bridge_seconds_bucket\\{le="${le.replace('.', '\\.')}"[^}]*\\} (\\d+)`).exec(text)![1]);
    expect(bucket('2.5')).toBe(0);
    expect(bucket('5')).toBe(1);
    expect(text).toMatch(/wardstream_bridge_dead_letters_total\{reason="BRIDGE_ERR_NOT_JSON"[^}]*\} 1/);
    expect(text).toMatch(/wardstream_bridge_messages_total\{outcome="accepted"[^}]*\} 1/);
    expect(text).toMatch(/wardstream_bridge_to_kafka_seconds_count\{[^}]*\} 2/);
    expect(text).not.toMatch(/p1/); // no patient ids in labels
  });
});
