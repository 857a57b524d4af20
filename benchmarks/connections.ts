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
 * and for the peer, Centrifugo v6 (benchmarks/peers/centrifugo.ts), with the same clients, tokens
 * and alerts; also the server's CPU to connect, to hold idle connections, and per delivery.
 *
 *   npx tsx benchmarks/connections.ts [--connections 19900] [--procs 4] [--wards 20] [--alerts 20] [--brokers h:p] [--out DIR] [--quick] [--peer | --no-peer]
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createProducer } from '../common/kafka.ts';
import { freePort, startLocalKafka } from '../deploy/local/kafka/local-kafka.ts';
import { localCodec } from '../schemas/codec.ts';
import type { AlertEvent } from '../schemas/records.ts';
import { partitionForWard } from '../schemas/topics.ts';
import { barChart } from './chart.ts';
import { buildCentrifugo, CENTRIFUGO_VERSION, writeCentrifugoConfig } from './peers/centrifugo.ts';
import { arg, benchTopics, flag, percentile } from './util.ts';

const quick = flag('--quick');
const N = Number(arg('--connections', quick ? '2000' : '19900'));
const PROCS = Number(arg('--procs', quick ? '2' : '4'));
const WARDS = Number(arg('--wards', '20'));
const ALERTS = Number(arg('--alerts', quick ? '5' : '20'));
const out = arg('--out', 'benchmarks/results');
/** Centrifugo (built from source on first use) runs in full mode, or with --peer; --no-peer skips it. */
const withPeer = (flag('--peer') || !quick) && !flag('--no-peer');
const SECRET = 'bench-secret-'.padEnd(48, 'x');
const codec = localCodec();

const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Server CPU time (user + system) in ms, from /proc (clock ticks of 10 ms). */
const cpuMs = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};

async function waitPort(port: number, child: ChildProcess, healthPath = '/healthz'): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await fetch(`http://127.0.0.1:${port}${healthPath}`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
  throw new Error('server did not start');
}

type Impl = 'uWebSockets.js' | 'ws' | 'Centrifugo';

async function run(impl: Impl, brokers: string) {
  const prefix = `bench-conn-${impl === 'ws' ? 'ws' : impl === 'Centrifugo' ? 'cf' : 'uws'}-${Date.now().toString(36)}.`;
  const bt = await benchTopics(brokers, prefix);
  const { kafka, topics } = bt;
  const port = await freePort();
  const centrifugoTopic = `${prefix}alerts.centrifugo`;
  let server: ChildProcess;
  if (impl === 'Centrifugo') {
    await bt.admin.createTopics({ topics: [{ topic: centrifugoTopic, numPartitions: 8 }], waitForLeaders: true });
    const work = mkdtempSync(path.join(os.tmpdir(), 'wardstream-centrifugo-'));
    const config = writeCentrifugoConfig(work, {
      port,
      brokers,
      topic: centrifugoTopic,
      group: `${prefix}centrifugo`,
      secret: SECRET,
      issuer: 'wardstream',
      audience: 'wardstream-gateway',
    });
    server = spawn(buildCentrifugo(), ['--config', config], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
  } else {
    const env = {
      ...process.env,
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_PARTITIONS: '8',
      WARDSTREAM_JWT_SECRET: SECRET,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      RESUME_WINDOW_MS: '0',
    };
    server = spawn(
      process.execPath,
      ['--import', 'tsx', impl === 'ws' ? 'benchmarks/ws-gateway.ts' : 'bin/wardstream.ts', ...(impl === 'ws' ? [] : ['gateway'])],
      { env, stdio: ['ignore', 'ignore', 'inherit'] },
    );
  }
  try {
    if (impl === 'ws')
      await sleep(3000); // no /healthz on the ws server: wait for its consumer
    else await waitPort(port, server, impl === 'Centrifugo' ? '/health' : '/healthz');
    await sleep(impl === 'Centrifugo' ? 4000 : 1500); // its consumer joins the group
    const cpu0 = cpuMs(server.pid!);
    const rss0 = rssKb(server.pid!);
    const fd0 = fds(server.pid!);
    const t0 = performance.now();
    const per = Math.ceil(N / PROCS);
    const procs: ChildProcess[] = [];
    const ready: Promise<{ subscribed: number; failed: number }>[] = [];
    for (let p = 0; p < PROCS; p++) {
      const c = fork(
        'benchmarks/conn-clients.ts',
        [
          '--url',
          impl === 'Centrifugo' ? `ws://127.0.0.1:${port}/connection/websocket` : `ws://127.0.0.1:${port}/ws`,
          '--protocol',
          impl === 'Centrifugo' ? 'centrifugo' : 'wardstream',
          '--count',
          String(Math.min(per, N - p * per)),
          '--local',
          `127.0.0.${10 + p}`,
          '--wards',
          String(WARDS),
          '--offset',
          String(p * per),
        ],
        {
          env: { ...process.env, WARDSTREAM_JWT_SECRET: SECRET },
          execArgv: ['--import', 'tsx'],
          stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        },
      );
      procs.push(c);
      ready.push(
        new Promise((resolve) =>
          c.on('message', (m: { type: string; subscribed: number; failed: number }) => {
            if (m.type === 'progress') process.stderr.write(`\r${impl}: process ${p} ${m.subscribed} subscribed, ${m.failed} failed   `);
            if (m.type === 'ready') resolve(m);
          }),
        ),
      );
    }
    const r = await Promise.all(ready);
    const held = r.reduce((a, x) => a + x.subscribed, 0);
    const failed = r.reduce((a, x) => a + x.failed, 0);
    const connectSecs = (performance.now() - t0) / 1000;
    process.stderr.write(`\n${impl}: ${held} connections subscribed in ${connectSecs.toFixed(1)} s (${failed} failed)\n`);
    const cpuConnect = cpuMs(server.pid!) - cpu0;
    await sleep(3000); // let allocations settle
    const rss1 = rssKb(server.pid!);
    const fd1 = fds(server.pid!);
    // Idle cost: CPU spent holding the subscribed connections for 10 s (pings, timers, GC).
    const cpuIdle0 = cpuMs(server.pid!);
    await sleep(10_000);
    const cpuIdle = cpuMs(server.pid!) - cpuIdle0;
    const cpuFan0 = cpuMs(server.pid!);

    // Fan-out: alerts for ward lw-0 (N / WARDS subscribers), eventTs = send time.
    const producer = createProducer(kafka);
    await producer.connect();
    for (let i = 0; i < ALERTS; i++) {
      const now = Date.now();
      const ev: AlertEvent = {
        eventId: `bench-${i}`,
        alertId: `bench-alert-${i}`,
        patientId: 'bp-1',
        wardId: 'lw-0',
        bed: '1',
        rule: 'hr-high',
        priority: 'high',
        phase: 'start',
        state: 'active',
        parameter: 'heartRate',
        value: 150,
        threshold: 130,
        onsetTs: now - 10_000,
        eventTs: now,
        message: 'Tachycardia',
        ruleVersion: 'bench',
        correlationId: `bench-${i}`,
        details: null,
        notify: ['nurse'],
        actor: null,
        actorRole: null,
        groupedWith: null,
        silencedUntil: null,
      };
      const message =
        impl === 'Centrifugo'
          ? { key: ev.patientId, value: JSON.stringify(ev), headers: { 'centrifugo-channels': ev.wardId }, partition: partitionForWard('lw-0', 8) }
          : { key: ev.patientId, value: codec.encode('alert', ev), partition: partitionForWard('lw-0', 8) };
      await producer.send({ topic: impl === 'Centrifugo' ? centrifugoTopic : topics.alerts, acks: -1, messages: [message] });
      await sleep(250);
    }
    await producer.disconnect();
    await sleep(3000);
    // CPU of the fan-out window (20 alerts × subscribers of one ward), less the idle rate.
    const cpuFanout = Math.max(0, cpuMs(server.pid!) - cpuFan0 - (cpuIdle / 10_000) * (ALERTS * 250 + 3000));
    const lat: number[] = [];
    await Promise.all(
      procs.map(
        (c) =>
          new Promise<void>((resolve) => {
            c.on('message', (m: { type: string; latencies: number[] }) => {
              if (m.type === 'latencies') {
                lat.push(...m.latencies);
                resolve();
              }
            });
            c.send({ type: 'report' });
          }),
      ),
    );
    lat.sort((a, b) => a - b);
    const subsPerWard = Math.round(held / WARDS);
    for (const c of procs) c.send({ type: 'stop' });
    await Promise.all(procs.map((c) => new Promise((res) => c.once('exit', res))));
    const result = {
      impl,
      connections: held,
      failed,
      connectSeconds: Math.round(connectSecs * 10) / 10,
      serverFds: fd1,
      serverFdsBefore: fd0,
      rssBeforeMb: Math.round(rss0 / 1024),
      rssAfterMb: Math.round(rss1 / 1024),
      bytesPerConnection: Math.round(((rss1 - rss0) * 1024) / Math.max(1, held)),
      cpu: {
        // Idle CPU is mostly a fixed cost (Kafka polling, timers), so it is given whole as well.
        connectMsPer1000: Math.round((cpuConnect / Math.max(1, held)) * 1000),
        idlePercentOfCore: Math.round((cpuIdle / 10_000) * 100 * 10) / 10,
        idlePercentPer1000: Math.round((((cpuIdle / 10_000) * 100 * 1000) / Math.max(1, held)) * 100) / 100,
        fanoutMsPer1000Deliveries: Math.round((cpuFanout / Math.max(1, lat.length)) * 1000 * 10) / 10,
      },
      fanout: {
        subscribers: subsPerWard,
        alerts: ALERTS,
        deliveries: lat.length,
        expected: subsPerWard * ALERTS,
        p50: percentile(lat, 50),
        p99: percentile(lat, 99),
        max: lat.at(-1) ?? null,
      },
    };
    console.error(JSON.stringify(result));
    return result;
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await bt.close({ deleteTopics: impl === 'Centrifugo' ? [centrifugoTopic] : true });
  }
}

const local = arg('--brokers', '') || process.env.KAFKA_BROKERS ? null : await startLocalKafka({ log: (l) => console.error(l) });
const brokers = process.env.KAFKA_BROKERS ?? (arg('--brokers', '') || local!.brokers);
try {
  const uws = await run('uWebSockets.js', brokers);
  const ws = await run('ws', brokers);
  const centrifugo = withPeer ? await run('Centrifugo', brokers) : null;
  const res = {
    date: new Date().toISOString(),
    quick,
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`,
    target: N,
    procs: PROCS,
    wards: WARDS,
    uws,
    ws,
    memoryRatio: Math.round((ws.bytesPerConnection / Math.max(1, uws.bytesPerConnection)) * 10) / 10,
    centrifugo: centrifugo && {
      version: CENTRIFUGO_VERSION,
      ...centrifugo,
      memoryRatio: Math.round((centrifugo.bytesPerConnection / Math.max(1, uws.bytesPerConnection)) * 10) / 10,
    },
  };
  console.log(JSON.stringify(res, null, 2));
  mkdirSync(out, { recursive: true });
  writeFileSync(`${out}/connections.json`, JSON.stringify(res, null, 2));
  writeFileSync(
    `${out}/connections.svg`,
    barChart(`Gateway, ${uws.connections.toLocaleString('en')} idle subscribed connections: server memory per connection (bytes)`, 'B', [
      { label: 'uWebSockets.js gateway', value: uws.bytesPerConnection, group: 'uws' },
      { label: 'same path on ws', value: ws.bytesPerConnection, group: 'ws' },
      ...(centrifugo ? [{ label: `Centrifugo ${CENTRIFUGO_VERSION}`, value: centrifugo.bytesPerConnection, group: 'peer' }] : []),
    ]),
  );
} finally {
  await local?.stop();
}
process.exit(0);
