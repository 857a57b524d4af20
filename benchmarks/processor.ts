/**
 * Processor benchmarks (issue 3), in one run:
 *  1. engine alone: decode + step with the full default rule set (thresholds, trends, NEWS2,
 *     technical screening, lifecycle), no I/O — the ceiling;
 *  2. `wardstream processor` in its own process against the local Kafka: readings/s from the
 *     first to the last committed offset over a pre-loaded `vitals` topic;
 *  3. restore after SIGKILL: 10,000 patients of state in the changelog; time from the new
 *     process's start to its "state restored" log line, and to its first commit.
 *
 *   npx tsx benchmarks/processor.ts [--readings 300000] [--patients 10000] [--brokers h:p]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Kafka } from 'kafkajs';
import { createProducer } from '../common/kafka.ts';
import { startLocalKafka } from '../deploy/local/kafka/local-kafka.ts';
import { type PatientState, step } from '../processors/engine.ts';
import { DEFAULT_RULE_FILE, loadRuleFile } from '../processors/rulebook.ts';
import { localCodec } from '../schemas/codec.ts';
import type { VitalsReading } from '../schemas/records.ts';
import { partitionForWard } from '../schemas/topics.ts';
import { arg, benchTopics, progress } from './util.ts';

const READINGS = Number(arg('--readings', '300000'));
const PATIENTS = Number(arg('--patients', '10000'));
const codec = localCodec();

export function reading(i: number, t: number, T0: number): VitalsReading {
  const ep = i % 10 === 0 && t % 600 > 200 && t % 600 < 320;
  return {
    patientId: `bp${i}`,
    wardId: `bw${i % 16}`,
    bed: null,
    deviceId: `bd${i}`,
    seq: t + 1,
    ts: T0 + t * 1000,
    receivedAt: T0 + t * 1000,
    heartRate: ep ? 140 : 70 + (t % 11),
    spo2: 96 + (t % 3),
    respRate: 14 + (t % 5),
    systolicBp: 118 + (t % 9),
    diastolicBp: 76,
    temperature: 36.7,
    consciousness: 'A',
    onOxygen: false,
    correlationId: `c${i}.${t}`,
  };
}

function* stream(n: number, patients: number, T0: number): Generator<VitalsReading> {
  for (let k = 0; k < n; k++) yield reading(k % patients, Math.floor(k / patients), T0);
}

export async function load(kafka: Kafka, topic: string, n: number, patients: number, T0: number, partitions: number): Promise<void> {
  const producer = createProducer(kafka);
  await producer.connect();
  const p = progress('loading vitals', n);
  let batch: { key: string; value: Buffer; partition: number }[] = [];
  for (const r of stream(n, patients, T0)) {
    batch.push({ key: r.patientId, value: codec.encode('vitals', r), partition: partitionForWard(r.wardId, partitions) });
    if (batch.length === 5000) {
      await producer.send({ topic, acks: -1, messages: batch });
      p.tick(batch.length);
      batch = [];
    }
  }
  if (batch.length) {
    await producer.send({ topic, acks: -1, messages: batch });
    p.tick(batch.length);
  }
  p.done();
  await producer.disconnect();
}

function startProcessor(env: Record<string, string>, onLine: (l: string) => void): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/wardstream.ts', 'processor'], {
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let buf = '';
  child.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  return child;
}

export async function benchProcessor(o: { brokers: string; readings: number; patients: number }) {
  const T0 = Date.now() - 86_400_000;
  // 1. engine alone
  const book = loadRuleFile(DEFAULT_RULE_FILE);
  const bufs: Buffer[] = [];
  for (const r of stream(Math.min(o.readings, 200_000), Math.min(o.patients, 2000), T0)) bufs.push(codec.encode('vitals', r));
  const states = new Map<string, PatientState>();
  const t0 = performance.now();
  for (const b of bufs) {
    const r = codec.decode('vitals', b);
    const res = step(states.get(r.patientId), r, book.forPatient(r.wardId, r.patientId));
    states.set(r.patientId, res.state);
  }
  const engineRps = Math.round(bufs.length / ((performance.now() - t0) / 1000));
  console.error(`engine alone: ${engineRps} readings/s`);

  // 2. processor process over a pre-loaded topic
  const prefix = `bench-proc-${Date.now().toString(36)}.`;
  const bt = await benchTopics(o.brokers, prefix);
  const { kafka, topics } = bt;
  await load(kafka, topics.vitals, o.readings, o.patients, T0, 8);
  const env = { KAFKA_BROKERS: o.brokers, KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: '8' };
  const groupId = `${prefix}wardstream-processor`;
  // Rate = readings / (last commit − state restored, i.e. processing start): a lower bound, since
  // the last commit lands up to one commit interval after the work is done.
  let firstAt = 0;
  const child = startProcessor(env, (l) => {
    if (l.includes('"level":"error"')) console.error(l.slice(0, 400));
    if (!firstAt && l.includes('processor state restored')) firstAt = performance.now();
  });
  const p = progress('processor', o.readings);
  let last = 0;
  for (;;) {
    const c = await bt.committed(groupId);
    p.tick(c - last);
    last = c;
    if (c >= o.readings - o.patients) break; // the newest reading of each patient may wait in the reorder buffer
    await new Promise((r) => setTimeout(r, 100));
  }
  const procSecs = (performance.now() - firstAt) / 1000;
  p.done();
  const processorRps = Math.round((o.readings - o.patients) / procSecs);
  console.error(
    `processor: ${processorRps} readings/s (processing start to last commit; commit interval ${process.env.PROCESSOR_COMMIT_INTERVAL_MS ?? 5000} ms)`,
  );

  // 3. restore after SIGKILL: the changelog now holds every patient's state.
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const t1 = performance.now();
  let restoredMs = 0;
  let restoreWorkMs = 0;
  let restoredPatients = 0;
  const restored = new Promise<void>((resolve) => {
    const c2 = startProcessor(env, (line) => {
      if (line.includes('processor state restored')) {
        const j = JSON.parse(line) as { patients: number; ms: number };
        restoredPatients += j.patients;
        restoreWorkMs += j.ms;
        restoredMs = performance.now() - t1;
        if (restoredPatients >= o.patients) {
          c2.kill('SIGTERM');
          resolve();
        }
      }
    });
  });
  await restored;
  console.error(
    `restore: ${restoredPatients} patients, reading the changelog took ${Math.round(restoreWorkMs)} ms; ${Math.round(restoredMs)} ms from process start (includes the group waiting out the killed member's session)`,
  );
  await bt.close();
  return {
    engineRps,
    processorRps,
    readings: o.readings,
    patients: o.patients,
    restoredPatients,
    restoreMs: Math.round(restoreWorkMs),
    restoreFromStartMs: Math.round(restoredMs),
  };
}

if (process.argv[1]?.endsWith('processor.ts')) {
  const local = process.env.KAFKA_BROKERS || arg('--brokers', '') ? null : await startLocalKafka({ log: (l) => console.error(l) });
  const brokers = process.env.KAFKA_BROKERS ?? (arg('--brokers', '') || local!.brokers);
  const r = await benchProcessor({ brokers, readings: READINGS, patients: PATIENTS });
  console.log(JSON.stringify(r, null, 2));
  const out = arg('--out', 'benchmarks/results');
  mkdirSync(out, { recursive: true });
  writeFileSync(`${out}/processor.json`, JSON.stringify({ date: new Date().toISOString(), ...r }, null, 2));
  await local?.stop();
  process.exit(0);
}
