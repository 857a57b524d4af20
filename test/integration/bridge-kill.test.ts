/**
 * No data loss when the bridge dies: SIGKILL the bridge process in the middle of a burst of
 * 10,000 sequence-numbered QoS 1 readings, restart it, and check that every (deviceId, seq)
 * is in `vitals` at least once — the device (embedded broker) or the broker (Mosquitto,
 * persistent session) redelivers whatever was not acknowledged — and that the processor,
 * reading the duplicates this creates, emits every alert transition exactly once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type LocalKafka, startLocalKafka } from '../../deploy/local/kafka/local-kafka.ts';
import { startProcessor } from '../../processors/processor.ts';
import type { AlertEvent, VitalsReading } from '../../schemas/records.ts';
import { consumeUntil, log, mqttClient, ownMosquitto, reading, setupTopics, testConfig, waitUntil } from '../helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DEVICES = 20;
const PER_DEVICE = 500;
const TOTAL = DEVICES * PER_DEVICE;

function startBridgeProcess(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/wardstream.ts', 'bridge'], {
    cwd: ROOT,
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('bridge running')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`bridge exited with ${code}: ${err.slice(-2000)}`)));
  });
}

const children: ChildProcess[] = [];
// A broker of this file's own: the test pauses it (SIGSTOP) so that the bridge holds a
// backlog of received-but-not-durable readings at the moment it is killed.
let ownKafka: LocalKafka;
beforeAll(async () => {
  ownKafka = await startLocalKafka({ heapMb: 512 });
});
const brokersToStop: { stop(): Promise<void> }[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const b of brokersToStop) await b.stop();
  try {
    process.kill(ownKafka.pid, 'SIGCONT');
  } catch {
    /* not running */
  }
  await ownKafka?.stop();
});

describe.each([
  { name: 'embedded broker: the device redelivers', external: false },
  { name: 'Mosquitto: the broker redelivers to the persistent session', external: true },
])('bridge SIGKILL mid-burst ($name)', ({ external }) => {
  it('loses no reading and yields no duplicate alert transition', async () => {
    const mqttPort = external ? 0 : await freePort();
    const own = { kafkaBrokers: [ownKafka.brokers] };
    // Its own Mosquitto: the bridge subscribes to every vitals topic of the broker it uses.
    const mosquitto = external ? await ownMosquitto() : null;
    if (mosquitto) brokersToStop.push(mosquitto);
    const config = testConfig(external ? { ...own, mqttUrl: mosquitto!.url, mqttProtocolVersion: 5 } : { ...own, mqttPort });
    const { kafka, topics, codec } = await setupTopics(config);
    const env = {
      KAFKA_BROKERS: config.kafkaBrokers!.join(','),
      KAFKA_TOPIC_PREFIX: config.kafkaTopicPrefix,
      KAFKA_PARTITIONS: String(config.kafkaPartitions),
      ...(external ? { MQTT_URL: config.mqttUrl!, MQTT_PROTOCOL_VERSION: '5' } : { MQTT_PORT: String(mqttPort) }),
    };
    let bridge = await startBridgeProcess(env);
    children.push(bridge);
    const processor = await startProcessor({ config, kafka, codec, topics, log });

    const deviceUrl = external ? config.mqttUrl! : `mqtt://127.0.0.1:${mqttPort}`;
    const dev = await mqttClient(deviceUrl);
    let reconnects = 0;
    dev.on('reconnect', () => {
      reconnects++;
    });
    // Device time: 1 Hz per device; even devices have a tachycardia episode from 100 s to 200 s.
    const T0 = Date.now() - PER_DEVICE * 1000 - 60_000;
    let acked = 0;
    const pubs: Promise<unknown>[] = [];
    const publish = (from: number, to: number) => {
      for (let s = from; s <= to; s++) {
        for (let d = 0; d < DEVICES; d++) {
          const hr = d % 2 === 0 && s >= 100 && s < 200 ? 145 : 80;
          const p = dev.publishAsync(
            `wards/ward-${d % 4}/patients/k${d}/vitals`,
            reading({ deviceId: `kdev-${d}`, seq: s, ts: T0 + s * 1000, vitals: { heartRate: hr } }),
            { qos: 1 },
          );
          pubs.push(
            p.then(() => {
              acked++;
            }),
          );
        }
      }
    };
    const admin = kafka.admin();
    await admin.connect();
    const inKafka = async () => (await admin.fetchTopicOffsets(topics.vitals)).reduce((n, p) => n + Number(p.high), 0);
    // Phase 1: 2,000 readings, durable. Then freeze Kafka (SIGSTOP): the bridge keeps receiving
    // phase 2, but nothing it receives can become durable. Kill it holding that backlog.
    const split = 100;
    publish(1, split);
    await Promise.all(pubs);
    await waitUntil(async () => (await inKafka()) >= split * DEVICES, 60_000, 'phase 1 in Kafka');
    process.kill(ownKafka.pid, 'SIGSTOP');
    publish(split + 1, PER_DEVICE);
    await new Promise((r) => setTimeout(r, 500)); // let the bridge take in a backlog
    const ackedAtKill = acked;
    bridge.kill('SIGKILL');
    await new Promise((r) => bridge.once('exit', r));
    process.kill(ownKafka.pid, 'SIGCONT');
    const inKafkaAtKill = await inKafka();
    expect(inKafkaAtKill).toBeLessThan(TOTAL); // the kill really was mid-stream
    if (!external) expect(ackedAtKill).toBe(split * DEVICES); // nothing acknowledged while Kafka could not take it
    bridge = await startBridgeProcess(env);
    children.push(bridge);
    await Promise.all(pubs);
    expect(acked).toBe(TOTAL);
    if (!external) expect(reconnects).toBeGreaterThanOrEqual(1); // the device lost its broker and resent
    await admin.disconnect();

    let vitalsCount = 0;
    const seen = new Set<string>();
    const vitals = await consumeUntil<VitalsReading>(
      kafka,
      topics.vitals,
      (v) => codec.decode('vitals', v),
      (xs) => {
        for (let i = vitalsCount; i < xs.length; i++) seen.add(`${xs[i]!.deviceId}:${xs[i]!.seq}`);
        vitalsCount = xs.length;
        return seen.size >= TOTAL;
      },
      120_000,
    );
    expect(seen.size).toBe(TOTAL);
    expect(vitals.length).toBeGreaterThanOrEqual(TOTAL);

    // 10 episodes: 10 starts and 10 ends, each eventId once, even though vitals holds duplicates.
    const hrEnds = (xs: AlertEvent[]) => xs.filter((e) => e.rule === 'hr-high' && e.phase === 'end').length;
    const alerts = await consumeUntil<AlertEvent>(
      kafka,
      topics.alerts,
      (v) => codec.decode('alert', v),
      (xs) => hrEnds(xs) >= DEVICES / 2,
      120_000,
    );
    // The processor never emits a transition twice; a producer retry while the broker was frozen
    // may write the same record twice (at-least-once), which a consumer de-duplicating on
    // eventId removes: any repeat must be the same event, byte for byte.
    const unique = new Map<string, AlertEvent>();
    for (const e of alerts) {
      const prev = unique.get(e.eventId);
      if (prev) expect(e).toEqual(prev);
      unique.set(e.eventId, e);
    }
    const deduped = [...unique.values()];
    expect(deduped.filter((e) => e.rule === 'hr-high' && e.phase === 'start')).toHaveLength(DEVICES / 2);
    expect(hrEnds(deduped)).toBe(DEVICES / 2);
    // Each 100 s episode: one start, one escalation to the charge nurse (unacknowledged for 60 s), one end.
    for (const id of new Set(deduped.filter((e) => e.rule === 'hr-high').map((e) => e.alertId))) {
      expect(deduped.filter((e) => e.alertId === id).map((e) => e.phase)).toEqual(['start', 'escalate', 'end']);
    }

    await dev.endAsync();
    await processor.close();
    bridge.kill('SIGTERM');
  }, 300_000);
});
