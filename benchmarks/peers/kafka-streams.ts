/**
 * Processor vs a Kafka Streams peer (issue 6), both in this run on the same local Kafka:
 *  - wardstream: `benchmarks/processor.ts` (`wardstream processor`, full default rules + NEWS2);
 *  - Kafka Streams 4.1.1 (`benchmarks/peers/kafka-streams`, built here with Maven on demand):
 *    only the hr-high sustained threshold and (deviceId, seq) de-duplication, RocksDB stores
 *    with changelogs, at-least-once, 5 s commit interval, static membership.
 * Same readings (generator shared with processor.ts), same partitions. Measured: readings/s
 * from RUNNING to the last offset commit, and restore after SIGKILL from the changelog (a fresh
 * state directory, as a replacement instance would have) until RUNNING again.
 *
 *   npx tsx benchmarks/peers/kafka-streams.ts [--readings 300000] [--patients 10000] [--brokers h:p] [--out DIR]
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalKafka } from '../../deploy/local/kafka/local-kafka.ts';
import { benchProcessor, load } from '../processor.ts';
import { arg, benchTopics, progress } from '../util.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const peer = path.join(here, 'kafka-streams');
const ROOT = path.resolve(here, '../..');
const READINGS = Number(arg('--readings', '300000'));
const PATIENTS = Number(arg('--patients', '10000'));
const out = arg('--out', 'benchmarks/results');

function build(): void {
  if (existsSync(path.join(peer, 'target', 'peer-kafka-streams-1.0.0.jar')) && existsSync(path.join(peer, 'target', 'lib'))) return;
  console.error('building the Kafka Streams peer with Maven (first run only)…');
  const r = spawnSync(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      path.join(peer, 'pom.xml'),
      'package',
      '-DskipTests',
      'dependency:copy-dependencies',
      `-DoutputDirectory=${path.join(peer, 'target', 'lib')}`,
    ],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) throw new Error('mvn package failed for the Kafka Streams peer');
}

/** SIGTERM (Kafka Streams closes cleanly), then SIGKILL if it has not exited within 10 s. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

function startPeer(args: string[], onLine: (l: string) => void): ChildProcess {
  const cp = `${path.join(peer, 'target', 'classes')}:${path.join(peer, 'target', 'lib', '*')}`;
  const child = spawn('java', ['-Xmx512m', '-cp', cp, 'dev.wardstream.peer.ThresholdApp', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  child.stderr!.resume();
  return child;
}

async function runPeer(brokers: string) {
  const prefix = `bench-ks-${Date.now().toString(36)}.`;
  const bt = await benchTopics(brokers, prefix);
  const { kafka, topics } = bt;
  const alerts = `${prefix}peer-alerts`;
  await bt.admin.createTopics({ topics: [{ topic: alerts, numPartitions: 8 }], waitForLeaders: true });
  const T0 = Date.now() - 86_400_000;
  await load(kafka, topics.vitals, READINGS, PATIENTS, T0, 8);
  const appId = `${prefix}peer`;
  const schema = path.join(ROOT, 'schemas', 'vitals-reading.avsc');
  const stateDir = mkdtempSync(path.join(tmpdir(), 'wardstream-ks-'));
  let runningAt = 0;
  const t0 = performance.now();
  const first = startPeer([brokers, topics.vitals, alerts, appId, schema, stateDir], (l) => {
    if (!runningAt && /-> RUNNING/.test(l)) runningAt = performance.now();
  });
  const p = progress('kafka streams', READINGS);
  let last = 0;
  for (;;) {
    if (first.exitCode !== null) throw new Error(`Kafka Streams peer exited with ${first.exitCode}`);
    const c = await bt.committed(appId);
    p.tick(c - last);
    last = c;
    if (c >= READINGS) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  p.done();
  const rps = Math.round(READINGS / ((performance.now() - (runningAt || t0)) / 1000));
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  // Restore from the changelogs into a fresh state directory (a replacement instance).
  const fresh = mkdtempSync(path.join(tmpdir(), 'wardstream-ks-'));
  const t1 = performance.now();
  let restoredMs = 0;
  let second: ChildProcess | null = null;
  await new Promise<void>((resolve, reject) => {
    second = startPeer([brokers, topics.vitals, alerts, appId, schema, fresh], (l) => {
      if (/-> RUNNING/.test(l) && !restoredMs) {
        restoredMs = performance.now() - t1;
        resolve();
      }
    });
    second.once('exit', (c) => {
      if (!restoredMs) reject(new Error(`peer exited with ${c} before RUNNING`));
    });
  });
  await stop(second!);
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(fresh, { recursive: true, force: true });
  await bt.close({ deleteTopics: [alerts] });
  console.error(`kafka streams: ${rps} readings/s; restore from changelogs to RUNNING ${Math.round(restoredMs)} ms`);
  return { readingsPerSec: rps, restoreFromStartMs: Math.round(restoredMs) };
}

build();
const local = arg('--brokers', '') || process.env.KAFKA_BROKERS ? null : await startLocalKafka({ log: (l) => console.error(l) });
const brokers = process.env.KAFKA_BROKERS ?? (arg('--brokers', '') || local!.brokers);
try {
  const ours = await benchProcessor({ brokers, readings: READINGS, patients: PATIENTS });
  const ks = await runPeer(brokers);
  const res = {
    date: new Date().toISOString(),
    readings: READINGS,
    patients: PATIENTS,
    wardstream: {
      rules: 'full default rule file + NEWS2 + technical + lifecycle',
      readingsPerSec: ours.processorRps,
      restoreFromStartMs: ours.restoreFromStartMs,
    },
    kafkaStreams: { rules: 'hr-high sustained threshold + de-duplication', ...ks },
    throughputRatio: Math.round((ours.processorRps / ks.readingsPerSec) * 100) / 100,
  };
  console.log(JSON.stringify(res, null, 2));
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'kafka-streams-peer.json'), JSON.stringify(res, null, 2));
} finally {
  await local?.stop();
}
process.exit(0);
