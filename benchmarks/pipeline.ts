/**
 * Issue-2 benchmarks, both sides in the same run on this machine:
 *  - ingest: readings/s from MQTT publish to Kafka-acknowledged, zero loss checked by counting
 *    the records in `vitals`, for wardstream on the embedded broker, wardstream subscribed to
 *    Mosquitto, and the naive bridge (await one Kafka send per message) subscribed to Mosquitto;
 *  - latency: device timestamp → WebSocket client receive, through the whole pipeline
 *    (`wardstream start --no-simulate` in its own process), at fixed offered rates.
 * Load generators run in a separate process (benchmarks/load-publisher.ts).
 */
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kafka } from 'kafkajs';
import WebSocket from 'ws';
import { startBridge } from '../bridge/bridge.ts';
import type { Config } from '../common/config.ts';
import { createLogger } from '../common/log.ts';
import { freePort } from '../deploy/local/kafka/local-kafka.ts';
import { signToken } from '../gateway/auth.ts';
import { startNaiveBridge } from './naive-bridge.ts';
import { type BenchTopics, benchTopics, percentile } from './util.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '..');
const log = createLogger('bench', 'error');

function publisher<T>(msg: object): Promise<T> {
  const child = fork(path.join(here, 'load-publisher.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as T));
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load publisher exited with ${code}`));
    });
    child.send(msg);
  });
}

async function countIn(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const n = (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high), 0);
  await admin.disconnect();
  return n;
}

async function waitCount(kafka: Kafka, topic: string, want: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (;;) {
      const n = (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high), 0);
      if (n >= want || Date.now() > deadline) return n;
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await admin.disconnect();
  }
}

export interface IngestRow {
  path: string;
  messages: number;
  inKafka: number;
  seconds: number;
  readingsPerSec: number;
  lost: number;
}

export async function benchIngest(o: { brokers: string; mosquittoUrl: string; total: number; naiveTotal: number; connections: number }): Promise<IngestRow[]> {
  const rows: IngestRow[] = [];
  const run = Date.now().toString(36);

  // 1. wardstream, embedded broker: PUBACK means durable in Kafka, so publisher time = ingest time.
  {
    const t = await benchTopics(o.brokers, `bench-ing-emb-${run}.`);
    const bridge = await startBridge({ config: t.config, kafka: t.kafka, codec: t.codec, topics: t.topics, log });
    const r = await publisher<{ acked: number; ms: number }>({ cmd: 'burst', url: bridge.mqttUrl, total: o.total, connections: o.connections, prefix: 'e' });
    const inKafka = await countIn(t.kafka, t.topics.vitals);
    rows.push({
      path: 'wardstream, embedded aedes (ack after Kafka)',
      messages: o.total,
      inKafka,
      seconds: r.ms / 1000,
      readingsPerSec: Math.round(o.total / (r.ms / 1000)),
      lost: Math.max(0, o.total - inKafka),
    });
    await bridge.close();
    await t.close({ deleteTopics: false });
  }
  // 2 and 3. Subscribers of Mosquitto (wardstream's, then the naive one): Mosquitto acks the
  // publisher itself, so the measure is the time until every reading is in Kafka.
  const viaMosquitto = async (path: string, prefix: string, total: number, start: (t: BenchTopics) => Promise<{ close(): Promise<void> }>) => {
    const t = await benchTopics(o.brokers, `bench-ing-${prefix}-${run}.`);
    const subscriber = await start(t);
    const t0 = performance.now();
    const pub = publisher<{ acked: number; ms: number }>({ cmd: 'burst', url: o.mosquittoUrl, total, connections: o.connections, prefix });
    const inKafka = await waitCount(t.kafka, t.topics.vitals, total, 300_000);
    const secs = (performance.now() - t0) / 1000;
    await pub;
    rows.push({ path, messages: total, inKafka, seconds: secs, readingsPerSec: Math.round(inKafka / secs), lost: Math.max(0, total - inKafka) });
    await subscriber.close();
    await t.close({ deleteTopics: false });
  };
  await viaMosquitto('wardstream, subscribed to Mosquitto (ack after Kafka)', 'm', o.total, (t) =>
    startBridge({
      config: { ...t.config, mqttUrl: o.mosquittoUrl, mqttProtocolVersion: 5 } as Config,
      kafka: t.kafka,
      codec: t.codec,
      topics: t.topics,
      log,
      clientId: `bench-ws-${run}`,
    }),
  );
  await viaMosquitto('naive bridge (await one send per message), Mosquitto', 'n', o.naiveTotal, (t) =>
    startNaiveBridge({
      url: o.mosquittoUrl,
      kafka: t.kafka,
      codec: t.codec,
      topics: t.topics,
      partitions: t.config.kafkaPartitions,
      clientId: `bench-naive-${run}`,
    }),
  );
  return rows;
}

export interface IngestCurveRow {
  path: string;
  offered: number;
  published: number;
  inKafka: number;
  achieved: number;
  lateMs: number;
  lost: number;
  saturated: boolean;
}

/**
 * Ingest at rising offered rates, for the same three paths as `benchIngest`: each step starts
 * fresh topics and a fresh bridge, then the paced publisher process sends `rate` QoS 1
 * readings/s for `seconds`; the step ends when every published reading is in Kafka (or 30 s
 * after publishing stopped). achieved = readings in Kafka / elapsed; late = elapsed − seconds
 * (how far behind the offered load the last reading landed). A step is saturated when it ends
 * more than 1 s late or with readings missing; a path's curve stops at its first saturated step.
 */
export async function benchIngestCurve(o: { brokers: string; mosquittoUrl: string; rates: readonly number[]; seconds: number }): Promise<IngestCurveRow[]> {
  const rows: IngestCurveRow[] = [];
  const run = Date.now().toString(36);
  type Start = (t: BenchTopics, step: number) => Promise<{ url: string; close(): Promise<void> }>;
  const paths: [string, Start][] = [
    [
      'wardstream, embedded aedes',
      async (t) => {
        const b = await startBridge({ config: t.config, kafka: t.kafka, codec: t.codec, topics: t.topics, log });
        return { url: b.mqttUrl, close: () => b.close() };
      },
    ],
    [
      'wardstream, subscribed to Mosquitto',
      async (t, step) => {
        const b = await startBridge({
          config: { ...t.config, mqttUrl: o.mosquittoUrl, mqttProtocolVersion: 5 } as Config,
          kafka: t.kafka,
          codec: t.codec,
          topics: t.topics,
          log,
          clientId: `bench-curve-ws-${run}-${step}`,
        });
        return { url: o.mosquittoUrl, close: () => b.close() };
      },
    ],
    [
      'naive bridge, subscribed to Mosquitto',
      async (t, step) => {
        const b = await startNaiveBridge({
          url: o.mosquittoUrl,
          kafka: t.kafka,
          codec: t.codec,
          topics: t.topics,
          partitions: t.config.kafkaPartitions,
          clientId: `bench-curve-naive-${run}-${step}`,
        });
        return { url: o.mosquittoUrl, close: () => b.close() };
      },
    ],
  ];
  for (const [name, start] of paths) {
    for (const [i, rate] of o.rates.entries()) {
      const t = await benchTopics(o.brokers, `bench-curve-${i}-${name.split(/\W+/).slice(0, 2).join('')}-${run}.`);
      const bridge = await start(t, i);
      // Timed from the publisher's first message (its process start and MQTT connect excluded).
      const { published, startedAt } = await publisher<{ published: number; startedAt: number }>({
        cmd: 'paced',
        url: bridge.url,
        rate,
        seconds: o.seconds,
        wards: 8,
        patients: 500,
        prefix: `c${i}`,
      });
      const inKafka = await waitCount(t.kafka, t.topics.vitals, published, 30_000);
      const elapsed = (Date.now() - startedAt) / 1000;
      const lateMs = Math.max(0, Math.round((elapsed - o.seconds) * 1000));
      const row = {
        path: name,
        offered: rate,
        published,
        inKafka,
        achieved: Math.round(inKafka / elapsed),
        lateMs,
        lost: Math.max(0, published - inKafka),
        saturated: lateMs > 1000 || inKafka < published,
      };
      rows.push(row);
      console.error(`ingest curve, ${name}: offered ${rate}/s → ${row.achieved}/s in Kafka, ${lateMs} ms late${row.saturated ? ' — saturated' : ''}`);
      await bridge.close();
      await t.close({ deleteTopics: false });
      if (row.saturated) break;
    }
  }
  return rows;
}

export interface LatencyRow {
  rate: number;
  seconds: number;
  published: number;
  received: number;
  deliveredShare: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  alerts: { received: number; p50: number; p95: number; p99: number; max: number };
  saturated: boolean;
}

/**
 * End-to-end latency through `wardstream start --no-simulate --no-history` (bridge, processor,
 * gateway) running in its own process, at rising offered rates: device timestamp → WebSocket client for
 * every reading, and reading that completed an alert's sustain → the alert at the client. The
 * rates rise until a step delivers under 99 % of the readings within 5 s or its p99 exceeds 1 s
 * (saturation), then stop.
 */
export async function benchLatency(o: { brokers: string; rates: number[]; seconds: number; history?: boolean; separate?: boolean }): Promise<LatencyRow[]> {
  const secret = 'bench-secret-'.padEnd(48, 'x');
  const mqttPort = await freePort();
  const prefix = `bench-lat-${Date.now().toString(36)}.`;
  const pgDir = mkdtempSync(path.join(tmpdir(), 'wardstream-bench-pg-'));
  // The history sink is not on the alert path and runs in its own process in production: here
  // it would share the one Node process (and the two cores) with the path being measured.
  const env = {
    ...process.env,
    KAFKA_BROKERS: o.brokers,
    KAFKA_TOPIC_PREFIX: prefix,
    MQTT_PORT: String(mqttPort),
    WARDSTREAM_JWT_SECRET: secret,
    LOG_LEVEL: 'warn',
    PG_DATA_DIR: path.join(pgDir, 'data'),
  };
  const children: ReturnType<typeof spawn>[] = [];
  let port: number;
  if (o.separate) {
    // bridge, processor and gateway each in its own process, as in production.
    port = await freePort();
    for (const cmd of ['bridge', 'processor', 'gateway']) {
      const c = spawn(process.execPath, ['--import', 'tsx', 'bin/wardstream.ts', cmd], {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...env, PORT: String(port) },
      });
      c.stderr!.resume();
      children.push(c);
    }
  } else {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/wardstream.ts', 'start', '--no-simulate', ...(o.history ? [] : ['--no-history'])], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...env, PORT: '0' },
    });
    children.push(child);
    port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /dashboard\s+http:\/\/[^:]+:(\d+)\//.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (c) => reject(new Error(`pipeline exited with ${c}`)));
    });
    child.stderr!.resume();
  }
  // The bridge's embedded broker must be up before publishing.
  for (let i = 0; i < 300; i++) {
    if (
      await new Promise<boolean>((r) => {
        const so = net.connect(mqttPort, '127.0.0.1');
        so.once('connect', () => {
          so.destroy();
          r(true);
        });
        so.once('error', () => r(false));
      })
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch {
      /* starting */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const rows: LatencyRow[] = [];
  const wards = 8;
  const token = await signToken(
    { secret, issuer: 'wardstream', audience: 'wardstream-gateway' },
    { sub: 'bench', role: 'physician', wards: ['*'], ttlSec: 3600 },
  );
  // Warm-up (JIT, consumer fetch sessions, connection pools), not measured.
  await publisher<{ published: number }>({
    cmd: 'paced',
    url: `mqtt://127.0.0.1:${mqttPort}`,
    rate: 1000,
    seconds: 3,
    wards,
    patients: 100,
    prefix: 'warmup-',
  });
  for (const rate of o.rates) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { authorization: `Bearer ${token}` } });
    await new Promise((r, j) => {
      ws.once('open', r);
      ws.once('error', j);
    });
    const tag = `r${rate}-`;
    const lat: number[] = [];
    const alat: number[] = [];
    ws.on('message', (d) => {
      const now = Date.now();
      const m = JSON.parse(d.toString()) as {
        type: string;
        reading?: { ts: number; deviceId: string };
        alert?: { eventTs: number; patientId: string; phase: string };
      };
      if (m.type === 'vitals' && m.reading!.deviceId.startsWith(tag)) lat.push(now - m.reading!.ts);
      else if (m.type === 'alert' && m.alert!.phase === 'start' && m.alert!.patientId.startsWith(tag)) alat.push(now - m.alert!.eventTs);
    });
    for (let w = 0; w < wards; w++) ws.send(JSON.stringify({ type: 'subscribe', ward: `w${w}` }));
    await new Promise((r) => setTimeout(r, 300));
    const r = await publisher<{ published: number }>({
      cmd: 'paced',
      url: `mqtt://127.0.0.1:${mqttPort}`,
      rate,
      seconds: o.seconds,
      wards,
      patients: Math.max(100, rate / 2),
      prefix: tag,
      alertEvery: 50,
    });
    for (let i = 0; i < 100 && lat.length < r.published; i++) await new Promise((res) => setTimeout(res, 50));
    ws.close();
    const s = [...lat].sort((a, b) => a - b);
    const sa = [...alat].sort((a, b) => a - b);
    const deliveredShare = r.published ? lat.length / r.published : 0;
    const saturated = deliveredShare < 0.99 || percentile(s, 99) > 1000;
    rows.push({
      rate,
      seconds: o.seconds,
      published: r.published,
      received: lat.length,
      deliveredShare: Math.round(deliveredShare * 1000) / 1000,
      p50: percentile(s, 50),
      p95: percentile(s, 95),
      p99: percentile(s, 99),
      max: s.at(-1) ?? NaN,
      alerts: { received: alat.length, p50: percentile(sa, 50), p95: percentile(sa, 95), p99: percentile(sa, 99), max: sa.at(-1) ?? NaN },
      saturated,
    });
    process.stderr.write(
      `latency at ${rate}/s: received ${lat.length}/${r.published}, p99 ${percentile(s, 99)} ms; alerts ${alat.length}, p99 ${percentile(sa, 99)} ms${saturated ? ' — saturated, stopping' : ''}\n`,
    );
    if (saturated) break;
  }
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
  rmSync(pgDir, { recursive: true, force: true });
  return rows;
}
