/**
 * Malformed device payloads land in vitals.dlq with the reason, the MQTT topic and the
 * original bytes, and valid traffic around them is unaffected — on the embedded broker's hook
 * path and on the subscriber path against two brokers: aedes and Mosquitto.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bridge, startBridge } from '../../bridge/bridge.ts';
import { type EmbeddedBroker, startEmbeddedBroker } from '../../bridge/embedded-broker.ts';
import type { Config } from '../../common/config.ts';
import type { DeadLetter, VitalsReading } from '../../schemas/records.ts';
import { consumeUntil, log, mqttClient, ownMosquitto, reading, setupTopics, testConfig } from '../helpers.ts';

const now = () => Date.now();
const BAD = [
  { reason: 'BRIDGE_ERR_NOT_JSON', topic: 'patients/p1/vitals', payload: () => Buffer.from('{"deviceId":"mon-1", seq: oops') },
  { reason: 'BRIDGE_ERR_NOT_JSON', topic: 'patients/p1/vitals', payload: () => Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00]) },
  {
    reason: 'BRIDGE_ERR_MISSING_FIELD',
    topic: 'patients/p1/vitals',
    payload: () => Buffer.from(JSON.stringify({ deviceId: 'mon-1', ts: now(), vitals: { heartRate: 80 } })),
  },
  { reason: 'BRIDGE_ERR_IMPLAUSIBLE', topic: 'patients/p1/vitals', payload: () => Buffer.from(reading({ seq: 50, ts: now(), vitals: { heartRate: 400 } })) },
  {
    reason: 'BRIDGE_ERR_FUTURE_TS',
    topic: 'patients/p1/vitals',
    payload: () => Buffer.from(reading({ seq: 51, ts: now() + 86_400_000, vitals: { heartRate: 80 } })),
  },
] as const;

type Mode = { name: string; setup: () => Promise<{ config: Config; deviceUrl: string; extra?: () => Promise<void> }>; badTopic: boolean };

const modes: Mode[] = [
  { name: 'embedded aedes (publish hook)', badTopic: true, setup: async () => ({ config: testConfig(), deviceUrl: '' }) },
  {
    name: 'aedes as an external broker (subscriber path, MQTT 3.1.1)',
    badTopic: false,
    setup: async () => {
      const broker: EmbeddedBroker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, ingestor: null, log });
      return { config: testConfig({ mqttUrl: broker.url, mqttProtocolVersion: 4 }), deviceUrl: broker.url, extra: () => broker.close() };
    },
  },
  {
    name: 'Mosquitto (subscriber path, MQTT 5)',
    badTopic: false,
    setup: async () => {
      // A broker of this file's own: the bridge subscribes to every vitals topic, so a shared
      // broker would hand it another test file's readings.
      const m = await ownMosquitto();
      return { config: testConfig({ mqttUrl: m.url, mqttProtocolVersion: 5 }), deviceUrl: m.url, extra: () => m.stop() };
    },
  },
];

describe.each(modes)('dead letters via $name', (mode) => {
  let bridge: Bridge;
  let cleanup: (() => Promise<void>) | undefined;
  let ctx: Awaited<ReturnType<typeof setupTopics>>;
  let deviceUrl: string;

  beforeAll(async () => {
    const s = await mode.setup();
    cleanup = s.extra;
    ctx = await setupTopics(s.config);
    bridge = await startBridge({
      config: s.config,
      kafka: ctx.kafka,
      codec: ctx.codec,
      topics: ctx.topics,
      log,
      clientId: `bridge-${s.config.kafkaTopicPrefix}`,
    });
    deviceUrl = s.deviceUrl || bridge.mqttUrl;
  });
  afterAll(async () => {
    await bridge?.close();
    await cleanup?.();
  });

  it('routes each malformed kind to vitals.dlq with reason and original bytes; valid readings pass', async () => {
    const dev = await mqttClient(deviceUrl);
    const bad = BAD.map((b) => ({ ...b, bytes: b.payload() }));
    const extra = mode.badTopic
      ? [{ reason: 'BRIDGE_ERR_BAD_TOPIC', topic: 'patients/p1/vitals/raw', bytes: Buffer.from(reading({ seq: 9, ts: now(), vitals: { heartRate: 80 } })) }]
      : [];
    const all = [...bad, ...extra];
    await dev.publishAsync('patients/p1/vitals', reading({ seq: 1, ts: now(), vitals: { heartRate: 80 } }), { qos: 1 });
    for (const b of all) await dev.publishAsync(b.topic, b.bytes, { qos: 1 });
    await dev.publishAsync('wards/w1/patients/p1/vitals', reading({ seq: 2, ts: now(), vitals: { heartRate: 82, spo2: 96 } }), { qos: 1 });
    await dev.endAsync();

    const dlq = await consumeUntil<DeadLetter>(
      ctx.kafka,
      ctx.topics.vitalsDlq,
      (v) => ctx.codec.decode('deadLetter', v),
      (xs) => xs.length >= all.length,
    );
    expect(dlq).toHaveLength(all.length);
    for (const [i, b] of all.entries()) {
      expect(dlq[i]!.reason).toBe(b.reason);
      expect(dlq[i]!.mqttTopic).toBe(b.topic);
      expect(Buffer.compare(dlq[i]!.payload, b.bytes)).toBe(0);
      expect(dlq[i]!.detail.length).toBeGreaterThan(0);
    }
    const vitals = await consumeUntil<VitalsReading>(
      ctx.kafka,
      ctx.topics.vitals,
      (v) => ctx.codec.decode('vitals', v),
      (xs) => xs.length >= 2,
    );
    // Two wards, two partitions: no order between them.
    expect(vitals.map((r) => [r.seq, r.wardId, r.heartRate]).sort()).toEqual([
      [1, 'unassigned', 80],
      [2, 'w1', 82],
    ]);
  });
});
