/**
 * Event time in the processor, on real Kafka:
 *  - a patient with two devices whose readings interleave out of order within the allowed
 *    lateness gets them put back in order (none reported late);
 *  - a single device's readings are applied at once, so an older reading that arrives after a
 *    newer one is late: routed to `vitals.late`, counted, never silently dropped;
 *  - a reading older than the allowed lateness for a multi-device patient is late too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../common/config.ts';
import { createProducer } from '../../common/kafka.ts';
import { type Processor, startProcessor } from '../../processors/processor.ts';
import type { VitalsReading } from '../../schemas/records.ts';
import { partitionForWard } from '../../schemas/topics.ts';
import { consumeUntil, log, setupTopics, testConfig } from '../helpers.ts';

let config: Config;
let env: Awaited<ReturnType<typeof setupTopics>>;
let processor: Processor;
const T0 = Date.now() - 600_000;

function r(patientId: string, deviceId: string, seq: number, sec: number): VitalsReading {
  return {
    patientId,
    wardId: 'et-1',
    bed: null,
    deviceId,
    seq,
    ts: T0 + sec * 1000,
    receivedAt: T0 + sec * 1000,
    heartRate: 80,
    spo2: 97,
    respRate: 16,
    systolicBp: 120,
    diastolicBp: 80,
    temperature: 36.8,
    consciousness: 'A',
    onOxygen: false,
    correlationId: `${patientId}-${deviceId}-${seq}`,
  };
}

beforeAll(async () => {
  config = testConfig();
  env = await setupTopics(config);
  processor = await startProcessor({ ...env, config, log });
});
afterAll(async () => {
  await processor?.close();
});

describe('event time', () => {
  it('reorders two devices within the lateness, applies one device at once, and reports late readings', async () => {
    const readings = [
      // Patient "two": monitor and wearable interleave, the wearable 1 s behind (allowed lateness 2 s).
      r('two', 'mon', 1, 10),
      r('two', 'wear', 1, 9),
      r('two', 'mon', 2, 11),
      r('two', 'wear', 2, 10.5),
      r('two', 'mon', 3, 12),
      // …and one wearable reading 30 s old: beyond the lateness.
      r('two', 'wear', 3, -20),
      // Patient "one": a single device, known to the processor after its first readings.
      r('one', 'solo', 1, 10),
      r('one', 'solo', 2, 11),
    ];
    const producer = createProducer(env.kafka);
    await producer.connect();
    const send = async (xs: VitalsReading[]) => {
      // One send per reading, in this order: the arrival order the processor sees.
      for (const x of xs)
        await producer.send({
          topic: env.topics.vitals,
          acks: -1,
          messages: [{ key: x.patientId, value: env.codec.encode('vitals', x), partition: partitionForWard('et-1', config.kafkaPartitions) }],
        });
    };
    await send(readings);
    await new Promise((res) => setTimeout(res, 3000)); // past the lateness: everything above is applied
    // The single device's seq 4 is applied at once; its older seq 3 arrives in a later batch.
    await send([r('one', 'solo', 4, 13)]);
    await new Promise((res) => setTimeout(res, 1000));
    await send([r('one', 'solo', 3, 12)]);
    // Later readings of both, so that everything is released and committed.
    await send([r('two', 'mon', 4, 40), r('two', 'wear', 4, 40), r('one', 'solo', 5, 40)]);
    await producer.disconnect();
    const late = await consumeUntil(
      env.kafka,
      env.topics.lateReadings,
      (v) => env.codec.decode('vitals', v),
      (all) => all.length >= 2,
      60_000,
    );
    await new Promise((res) => setTimeout(res, 1500)); // nothing else may follow
    const again = await consumeUntil(
      env.kafka,
      env.topics.lateReadings,
      (v) => env.codec.decode('vitals', v),
      (all) => all.length >= 2,
      10_000,
    );
    expect(again.map((x) => `${x.patientId}/${x.deviceId}/${x.seq}`).sort()).toEqual(['one/solo/3', 'two/wear/3']);
    expect(late.length).toBe(2);
  });
});
