/**
 * Processor crash recovery on real Kafka: SIGKILL a processor mid-stream, and kill one of two
 * instances during rebalances. Afterwards, a consumer that de-duplicates on eventId sees
 * exactly the alert transitions that the pure engine computes from the same readings: none
 * lost, none invented, none doubled after de-duplication.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { createProducer } from '../../common/kafka.ts';
import { type PatientState, step } from '../../processors/engine.ts';
import { loadRuleFile } from '../../processors/rulebook.ts';
import type { Codec } from '../../schemas/codec.ts';
import type { AlertEvent, VitalsReading } from '../../schemas/records.ts';
import { partitionForWard, type Topics } from '../../schemas/topics.ts';
import { committed, consumeUntil, setupTopics, testConfig, waitUntil } from '../helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const RULES = path.join(ROOT, 'test/fixtures/rules-no-timers.yaml');
const PATIENTS = 80;
const SECONDS = 900;

function cohort(): VitalsReading[] {
  const T0 = Date.now() - 3_600_000;
  const out: VitalsReading[] = [];
  for (let t = 0; t < SECONDS; t++) {
    for (let i = 0; i < PATIENTS; i++) {
      const ep = t >= 100 + (i % 7) * 60 && t < 300 + (i % 7) * 60; // a scripted episode of 200 s
      const kind = i % 4;
      out.push({
        patientId: `kp${i}`,
        wardId: `kw${i % 8}`,
        bed: null,
        deviceId: `kd${i}`,
        seq: t + 1,
        ts: T0 + t * 1000,
        receivedAt: T0 + t * 1000,
        heartRate: kind === 0 && ep ? 140 + (t % 5) : 75 + (t % 7),
        spo2: kind === 1 && ep ? 86 : 97,
        respRate: kind === 2 && ep ? 26 : 16,
        systolicBp: kind === 3 && ep ? 85 : 120,
        diastolicBp: 75,
        temperature: 36.9,
        consciousness: 'A',
        onOxygen: false,
        correlationId: `c${i}-${t}`,
      });
    }
  }
  return out;
}

/** What the processors must produce: the pure engine over each patient's readings in order. */
function expected(readings: readonly VitalsReading[]): Map<string, AlertEvent> {
  const book = loadRuleFile(RULES);
  const states = new Map<string, PatientState>();
  const out = new Map<string, AlertEvent>();
  for (const r of readings) {
    const res = step(states.get(r.patientId), r, book.forPatient(r.wardId, r.patientId));
    states.set(r.patientId, res.state);
    for (const e of res.events) out.set(e.eventId, e);
  }
  return out;
}

async function produceAll(kafka: Kafka, codec: Codec, topics: Topics, partitions: number, readings: readonly VitalsReading[]): Promise<void> {
  const producer = createProducer(kafka);
  await producer.connect();
  for (let i = 0; i < readings.length; i += 2000) {
    await producer.send({
      topic: topics.vitals,
      acks: -1,
      messages: readings
        .slice(i, i + 2000)
        .map((r) => ({ key: r.patientId, value: codec.encode('vitals', r), partition: partitionForWard(r.wardId, partitions) })),
    });
  }
  await producer.disconnect();
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

function startProcessorProcess(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/wardstream.ts', 'processor'], {
    cwd: ROOT,
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('processor running')) resolve(child);
      if (err.length > 1e6) err = err.slice(-1e5);
    });
    child.once('exit', (code, sig) => reject(new Error(`processor exited (${code ?? sig}): ${err.slice(-1500)}`)));
  });
}

async function dedupedAlerts(
  kafka: Kafka,
  codec: Codec,
  topics: Topics,
  want: Map<string, AlertEvent>,
): Promise<{ unique: Map<string, AlertEvent>; raw: number }> {
  const unique = new Map<string, AlertEvent>();
  let raw = 0;
  await consumeUntil<AlertEvent>(
    kafka,
    topics.alerts,
    (v) => codec.decode('alert', v),
    (xs) => {
      for (; raw < xs.length; raw++) unique.set(xs[raw]!.eventId, xs[raw]!);
      return [...want.keys()].every((k) => unique.has(k));
    },
    180_000,
  );
  return { unique, raw };
}

/** Fresh topics, and the environment of processor processes on them (frequent commits, so a
 * kill can be observed, and land, mid-stream). */
async function scenario() {
  const config = testConfig();
  const { kafka, topics, codec } = await setupTopics(config);
  const env = {
    KAFKA_BROKERS: config.kafkaBrokers!.join(','),
    KAFKA_TOPIC_PREFIX: config.kafkaTopicPrefix,
    KAFKA_PARTITIONS: String(config.kafkaPartitions),
    WARDSTREAM_RULES: RULES,
    PROCESSOR_COMMIT_INTERVAL_MS: '200',
  };
  return { config, kafka, topics, codec, env, groupId: `${config.kafkaTopicPrefix}wardstream-processor` };
}

describe('processor crash recovery', () => {
  const readings = cohort();
  const want = expected(readings);

  it('the scenario has alert transitions of several rules to lose', () => {
    const rules = new Set([...want.values()].map((e) => e.rule));
    expect(want.size).toBeGreaterThan(100);
    expect([...rules].sort()).toEqual(['hr-high', 'hr-rise', 'news2', 'sbp-low', 'spo2-low']);
  });

  it('SIGKILL mid-stream: after restart every transition exists exactly once (de-duplicated), none lost', async () => {
    const { config, kafka, topics, codec, env, groupId } = await scenario();
    // First half: every partition gets to t = 450 s, where many episodes are in progress; then
    // the second half streams in and the processor is killed while working through it.
    const half = Math.floor(readings.length / 2);
    await produceAll(kafka, codec, topics, config.kafkaPartitions, readings.slice(0, half));
    const p1 = await startProcessorProcess(env);
    await waitUntil(async () => (await committed(kafka, groupId, topics.vitals)) >= half, 120_000, 'first half processed', 20);
    await produceAll(kafka, codec, topics, config.kafkaPartitions, readings.slice(half));
    await waitUntil(async () => (await committed(kafka, groupId, topics.vitals)) > half, 120_000, 'second half under way', 2);
    p1.kill('SIGKILL');
    await new Promise((r) => p1.once('exit', r));
    const atKill = await committed(kafka, groupId, topics.vitals);
    expect(atKill).toBeLessThan(readings.length); // killed mid-stream
    const p2 = await startProcessorProcess(env);
    const { unique } = await dedupedAlerts(kafka, codec, topics, want);
    expect([...unique.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [id, e] of want) expect([unique.get(id)!.phase, unique.get(id)!.eventTs]).toEqual([e.phase, e.eventTs]);
    p2.kill('SIGTERM');
  }, 300_000);

  it('two instances, rebalances, one killed: still exactly the expected transitions', async () => {
    const { config, kafka, topics, codec, env, groupId } = await scenario();
    const half = Math.floor(readings.length / 2);
    await produceAll(kafka, codec, topics, config.kafkaPartitions, readings.slice(0, half));
    const a = await startProcessorProcess(env);
    await waitUntil(async () => (await committed(kafka, groupId, topics.vitals)) >= half * 0.3, 120_000, 'first instance working', 5);
    const b = await startProcessorProcess(env); // rebalance: partitions move to b, state restored from the changelog
    await produceAll(kafka, codec, topics, config.kafkaPartitions, readings.slice(half));
    await waitUntil(async () => (await committed(kafka, groupId, topics.vitals)) >= half * 1.2, 120_000, 'both instances working', 5);
    a.kill('SIGKILL'); // second rebalance, with a's partitions mid-stream
    const { unique } = await dedupedAlerts(kafka, codec, topics, want);
    expect([...unique.keys()].sort()).toEqual([...want.keys()].sort());
    b.kill('SIGTERM');
  }, 300_000);
});
