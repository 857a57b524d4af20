/**
 * Gateway connection benchmark (issue 4): one gateway process holds N authenticated, subscribed
 * connections opened by several load-generator processes (benchmarks/conn-clients.ts, each from
 * its own 127.0.0.x address); measured in the same run for the uWebSockets.js gateway and for
 * the same connection path on `ws` (benchmarks/ws-gateway.ts):
 *  - connections held (all subscribed), and the server's own file descriptors;
 *  - server memory per idle connection: RSS after − RSS before, / N;
 *  - fan-out latency: alert records produced to Kafka (eventTs = now) for one ward, received by
 *    every subscriber of that ward; p50/p99 over all (subscriber, alert) deliveries.
 * This machine caps a process at 20,000 open files (hard limit), and the gateway needs a few
 * dozen for itself (Kafka sockets, epoll, pipes): N defaults to 19,900.
 *
 *   npx tsx benchmarks/connections.ts [--connections 19900] [--procs 4] [--wards 20] [--alerts 20] [--brokers h:p] [--out DIR] [--quick]
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { createProducer } from '../common/kafka.ts';
import { freePort, startLocalKafka } from '../deploy/local/kafka/local-kafka.ts';
import { localCodec } from '../schemas/codec.ts';
import type { AlertEvent } from '../schemas/records.ts';
import { partitionForWard } from '../schemas/topics.ts';
import { barChart } from './chart.ts';
import { arg, benchTopics, flag, percentile } from './util.ts';

const quick = flag('--quick');
const N = Number(arg('--connections', quick ? '2000' : '19900'));
const PROCS = Number(arg('--procs', quick ? '2' : '4'));
const WARDS = Number(arg('--wards', '20'));
const ALERTS = Number(arg('--alerts', quick ? '5' : '20'));
const out = arg('--out', 'benchmarks/results');
const SECRET = 'bench-secret-'.padEnd(48, 'x');
const codec = localCodec();

const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitPort(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status !== 0, () => false);
    if (ok) return;
    await sleep(100);
  }
  throw new Error('server did not start');
}

async function run(impl: 'uWebSockets.js' | 'ws', brokers: string) {
  const prefix = `bench-conn-${impl === 'ws' ? 'ws' : 'uws'}-${Date.now().toString(36)}.`;
  const bt = await benchTopics(brokers, prefix);
  const { kafka, topics } = bt;
  const port = await freePort();
  const env = { ...process.env, KAFKA_BROKERS: brokers, KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: '8', WARDSTREAM_JWT_SECRET: SECRET, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', RESUME_WINDOW_MS: '0' };
  const server = spawn(process.execPath, ['--import', 'tsx', impl === 'ws' ? 'benchmarks/ws-gateway.ts' : 'bin/wardstream.ts', ...(impl === 'ws' ? [] : ['gateway'])], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    if (impl === 'ws') await sleep(3000); // no /healthz on the ws server: wait for its consumer
    else await waitPort(port, server);
    await sleep(1500);
    const rss0 = rssKb(server.pid!);
    const fd0 = fds(server.pid!);
    const t0 = performance.now();
    const per = Math.ceil(N / PROCS);
    const procs: ChildProcess[] = [];
    const ready: Promise<{ subscribed: number; failed: number }>[] = [];
    for (let p = 0; p < PROCS; p++) {
      const c = fork('benchmarks/conn-clients.ts', ['--url', `ws://127.0.0.1:${port}/ws`, '--count', String(Math.min(per, N - p * per)), '--local', `127.0.0.${10 + p}`, '--wards', String(WARDS), '--offset', String(p * per)], {
        env: { ...process.env, WARDSTREAM_JWT_SECRET: SECRET }, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
      procs.push(c);
      ready.push(new Promise((resolve) => c.on('message', (m: { type: string; subscribed: number; failed: number }) => {
        if (m.type === 'progress') process.stderr.write(`\r${impl}: process ${p} ${m.subscribed} subscribed, ${m.failed} failed   `);
        if (m.type === 'ready') resolve(m);
      })));
    }
    const r = await Promise.all(ready);
    const held = r.reduce((a, x) => a + x.subscribed, 0);
    const failed = r.reduce((a, x) => a + x.failed, 0);
    const connectSecs = (performance.now() - t0) / 1000;
    process.stderr.write(`\n${impl}: ${held} connections subscribed in ${connectSecs.toFixed(1)} s (${failed} failed)\n`);
    await sleep(3000); // let allocations settle
    const rss1 = rssKb(server.pid!);
    const fd1 = fds(server.pid!);

    // Fan-out: alerts for ward lw-0 (N / WARDS subscribers), eventTs = send time.
    const producer = createProducer(kafka);
    await producer.connect();
    for (let i = 0; i < ALERTS; i++) {
      const now = Date.now();
      const ev: AlertEvent = {
        eventId: `bench-${i}`, alertId: `bench-alert-${i}`, patientId: 'bp-1', wardId: 'lw-0', bed: '1', rule: 'hr-high', priority: 'high', phase: 'start', state: 'active',
        parameter: 'heartRate', value: 150, threshold: 130, onsetTs: now - 10_000, eventTs: now, message: 'Tachycardia', ruleVersion: 'bench', correlationId: `bench-${i}`,
        details: null, notify: ['nurse'], actor: null, actorRole: null, groupedWith: null, silencedUntil: null,
      };
      await producer.send({ topic: topics.alerts, acks: -1, messages: [{ key: ev.patientId, value: codec.encode('alert', ev), partition: partitionForWard('lw-0', 8) }] });
      await sleep(250);
    }
    await producer.disconnect();
    await sleep(3000);
    const lat: number[] = [];
    await Promise.all(procs.map((c) => new Promise<void>((resolve) => {
      c.on('message', (m: { type: string; latencies: number[] }) => { if (m.type === 'latencies') { lat.push(...m.latencies); resolve(); } });
      c.send({ type: 'report' });
    })));
    lat.sort((a, b) => a - b);
    const subsPerWard = Math.round(held / WARDS);
    for (const c of procs) c.send({ type: 'stop' });
    await Promise.all(procs.map((c) => new Promise((res) => c.once('exit', res))));
    const result = {
      impl, connections: held, failed, connectSeconds: Math.round(connectSecs * 10) / 10, serverFds: fd1, serverFdsBefore: fd0,
      rssBeforeMb: Math.round(rss0 / 1024), rssAfterMb: Math.round(rss1 / 1024), bytesPerConnection: Math.round(((rss1 - rss0) * 1024) / Math.max(1, held)),
      fanout: { subscribers: subsPerWard, alerts: ALERTS, deliveries: lat.length, expected: subsPerWard * ALERTS, p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat.at(-1) ?? null },
    };
    console.error(JSON.stringify(result));
    return result;
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await bt.close();
  }
}

const local = arg('--brokers', '') || process.env.KAFKA_BROKERS ? null : await startLocalKafka({ log: (l) => console.error(l) });
const brokers = process.env.KAFKA_BROKERS ?? (arg('--brokers', '') || local!.brokers);
try {
  const uws = await run('uWebSockets.js', brokers);
  const ws = await run('ws', brokers);
  const res = { date: new Date().toISOString(), quick, machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`, target: N, procs: PROCS, wards: WARDS, uws, ws, memoryRatio: Math.round((ws.bytesPerConnection / Math.max(1, uws.bytesPerConnection)) * 10) / 10 };
  console.log(JSON.stringify(res, null, 2));
  mkdirSync(out, { recursive: true });
  writeFileSync(`${out}/connections.json`, JSON.stringify(res, null, 2));
  writeFileSync(`${out}/connections.svg`, barChart(`Gateway, ${uws.connections.toLocaleString('en')} idle subscribed connections: server memory per connection (bytes)`, 'B', [
    { label: 'uWebSockets.js gateway', value: uws.bytesPerConnection, group: 'uws' },
    { label: 'same path on ws', value: ws.bytesPerConnection, group: 'ws' },
  ]));
} finally {
  await local?.stop();
}
process.exit(0);
