/**
 * `npm run bench [-- --quick]`: every benchmark in one run, both sides of each comparison on
 * this machine: ingest (vs a naive bridge), end-to-end latency, alarm fatigue (vs naive
 * thresholds), processor throughput and restore, history (sink, replay, query), gateway
 * connections (uWebSockets.js vs ws; full mode: vs Centrifugo too), and (full mode) the Kafka
 * Streams peer and the Kafka client comparison. Starts its own Kafka (unless KAFKA_BROKERS) and Mosquitto. Writes
 * benchmarks/results/<name>.json, .md and .svg charts; benchmarks/README.md explains them.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { startLocalKafka } from '../deploy/local/kafka/local-kafka.ts';
import { startMosquitto } from '../deploy/local/mosquitto.ts';
import { kafkaNeeds, provisionOrExit } from '../deploy/local/provision.ts';
import { barChart, lineChart } from './chart.ts';
import { benchIngest, benchIngestCurve, benchLatency } from './pipeline.ts';
import { flag } from './util.ts';

const quick = flag('--quick');
// Quick runs only check that the benchmarks still work: their figures go elsewhere (not committed).
const out = quick ? 'benchmarks/results/quick' : 'benchmarks/results';
mkdirSync(out, { recursive: true });
const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const stamp = new Date().toISOString();

// Mosquitto, and Java + Maven for the local Kafka: installed on first use (root on Debian), or one line naming the command.
provisionOrExit([...(process.env.KAFKA_BROKERS ? [] : kafkaNeeds()), 'mosquitto'], { log: (l) => console.error(l) });
const kafka = process.env.KAFKA_BROKERS ? null : await startLocalKafka({ log: (l) => console.error(l) });
const brokers = process.env.KAFKA_BROKERS ?? kafka!.brokers;
const mosquitto = await startMosquitto();
try {
  console.error(`== ingest (${quick ? 'quick' : 'full'})`);
  const ingest = await benchIngest({ brokers, mosquittoUrl: mosquitto.url, total: quick ? 5_000 : 100_000, naiveTotal: quick ? 300 : 3_000, connections: 4 });
  const naive = ingest.at(-1)!.readingsPerSec;
  const ingestMd = [
    '| path | readings | in Kafka | lost | s | readings/s | vs naive |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...ingest.map(
      (r) =>
        `| ${r.path} | ${r.messages} | ${r.inKafka} | ${r.lost} | ${r.seconds.toFixed(2)} | ${r.readingsPerSec.toLocaleString('en')} | ${(r.readingsPerSec / naive).toFixed(1)}× |`,
    ),
  ].join('\n');
  console.log(`\n### Ingest\n${ingestMd}`);
  writeFileSync(`${out}/ingest.json`, JSON.stringify({ stamp, machine, quick, rows: ingest }, null, 2));
  writeFileSync(
    `${out}/ingest.svg`,
    barChart(
      'Ingest: MQTT publish → Kafka acknowledged (readings/s, log scale)',
      '/s',
      ingest.map((r) => ({ label: r.path.replace(/ \(.*\)/, ''), value: r.readingsPerSec })),
      { log: true },
    ),
  );

  console.error('== ingest at rising offered rates');
  const curve = await benchIngestCurve({
    brokers,
    mosquittoUrl: mosquitto.url,
    rates: quick ? [1000, 3000] : [1000, 2000, 5000, 10000, 15000, 20000, 25000, 30000],
    seconds: quick ? 2 : 5,
  });
  const curveMd = [
    '| path | offered /s | published | in Kafka | achieved /s | last reading late by | lost |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...curve.map(
      (r) =>
        `| ${r.path} | ${r.offered.toLocaleString('en')}${r.saturated ? ' (saturated)' : ''} | ${r.published} | ${r.inKafka} | ${r.achieved.toLocaleString('en')} | ${r.lateMs.toLocaleString('en')} ms | ${r.lost} |`,
    ),
  ].join('\n');
  console.log(`\n### Ingest at rising offered rates\n${curveMd}`);
  writeFileSync(`${out}/ingest-curve.json`, JSON.stringify({ stamp, machine, quick, rows: curve }, null, 2));
  writeFileSync(
    `${out}/ingest-curve.svg`,
    lineChart(
      'Ingest: readings in Kafka per second vs offered (MQTT QoS 1, paced)',
      'offered readings/s',
      'achieved readings/s',
      [...new Set(curve.map((r) => r.path))].map((path) => ({
        name: path,
        points: curve.filter((r) => r.path === path).map((r) => [r.offered, r.achieved] as const),
      })),
      { diagonal: true },
    ),
  );

  console.error('== end-to-end latency at rising rates');
  // Bridge, processor and gateway in separate processes, as deployed (docs/operations.md).
  // (Quick steps are shorter than an alert's 10 s sustain: they measure vitals only.)
  const lat = await benchLatency({ brokers, rates: quick ? [1000, 5000] : [1000, 5000, 8000, 10000, 15000, 20000], seconds: quick ? 3 : 15, separate: true });
  const latMd = [
    '| offered readings/s | published | delivered | vitals p50 / p95 / p99 / max ms | alerts | alerts p50 / p99 / max ms |',
    '|---:|---:|---:|---|---:|---|',
    ...lat.map(
      (r) =>
        `| ${r.rate.toLocaleString('en')}${r.saturated ? ' (saturated)' : ''} | ${r.published} | ${(r.deliveredShare * 100).toFixed(1)} % | ${r.p50} / ${r.p95} / ${r.p99} / ${r.max} | ${r.alerts.received} | ${[r.alerts.p50, r.alerts.p99, r.alerts.max].map((x) => (Number.isFinite(x) ? x : '–')).join(' / ')} |`,
    ),
  ].join('\n');
  console.log(`\n### End-to-end latency (device timestamp → WebSocket client), rising rates\n${latMd}`);
  writeFileSync(`${out}/latency.json`, JSON.stringify({ stamp, machine, quick, rows: lat }, null, 2));
  writeFileSync(
    `${out}/latency.svg`,
    barChart(
      'End-to-end latency, device → WebSocket (ms): vitals p50/p99, alerts p99',
      'ms',
      lat.flatMap((r) => [
        { label: `${r.rate}/s vitals p50`, value: r.p50, group: 'p50' },
        { label: `${r.rate}/s vitals p99`, value: r.p99, group: 'p99' },
        { label: `${r.rate}/s alerts p99`, value: r.alerts.p99, group: 'alerts' },
      ]),
    ),
  );
  writeFileSync(
    `${out}/throughput.svg`,
    barChart(
      'Readings delivered to the WebSocket client per second, by offered rate',
      '/s',
      lat.map((r) => ({
        label: `offered ${r.rate.toLocaleString('en')}/s`,
        value: Math.round(r.received / r.seconds),
        group: r.saturated ? 'saturated' : 'ok',
      })),
    ),
  );

  writeFileSync(
    `${out}/summary.md`,
    `Run ${stamp} on ${machine}${quick ? ' (quick mode)' : ''}\n\n### Ingest\n${ingestMd}\n\n### Ingest at rising offered rates\n${curveMd}\n\n### End-to-end latency\n${latMd}\n`,
  );

  console.error('== alarm fatigue');
  execFileSync(process.execPath, ['--import', 'tsx', 'benchmarks/alarm-fatigue.ts', '--out', out, ...(quick ? ['--quick'] : [])], { stdio: 'inherit' });
  console.error('== processor');
  execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      'benchmarks/processor.ts',
      '--out',
      out,
      '--brokers',
      brokers,
      ...(quick ? ['--readings', '40000', '--patients', '2000'] : ['--readings', '1000000', '--patients', '10000']),
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  console.error('== history (sink, replay, query)');
  execFileSync(process.execPath, ['--import', 'tsx', 'benchmarks/history.ts', '--out', out, '--brokers', brokers, ...(quick ? ['--quick'] : [])], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  console.error(`== gateway connections (uWebSockets.js vs ws${quick ? '' : ' vs Centrifugo'})`);
  execFileSync(process.execPath, ['--import', 'tsx', 'benchmarks/connections.ts', '--out', out, '--brokers', brokers, ...(quick ? ['--quick'] : [])], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (!quick) {
    console.error('== processor vs Kafka Streams peer');
    execFileSync(
      process.execPath,
      ['--import', 'tsx', 'benchmarks/peers/kafka-streams.ts', '--out', out, '--brokers', brokers, '--readings', '1000000', '--patients', '10000'],
      { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, PROCESSOR_SESSION_TIMEOUT_MS: '2000' } },
    );
    console.error('== Kafka clients');
    execFileSync(process.execPath, ['--import', 'tsx', 'benchmarks/kafka-clients.ts', '--records', '100000', '--rounds', '3', '--brokers', brokers], {
      stdio: 'inherit',
    });
  }
} finally {
  await mosquitto.stop();
  await kafka?.stop();
}
process.exit(0);
