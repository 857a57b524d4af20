/**
 * History benchmarks (issue 5), each side of each comparison in the same run:
 *  1. sink throughput: `wardstream sink` (its own process) over a pre-loaded `vitals` topic into
 *     a PostgreSQL with default durability (fsync, synchronous_commit on); rows/s from its first
 *     to its last offset commit (offsets are committed only after the rows are durable).
 *     Baseline: one INSERT per reading (autocommit) on the same table.
 *  2. replay speed: `runReplay` over the same readings with the full default rule set, from
 *     PostgreSQL and from Kafka. Baseline: the same engine over the same readings interleaved
 *     across patients (the live processors' order), in memory.
 *  3. query: one patient's 24 h out of 30 daily partitions; the queried day holds
 *     --query-patients patients at 1 Hz (generated server-side), the other days a thin minute
 *     of 1,000 patients each (they exist for partition pruning, not for size). Baseline: the same query with index scans disabled (sequential scan of the day).
 *
 *   npx tsx benchmarks/history.ts [--readings 500000] [--patients 1000] [--query-patients 100] [--brokers h:p] [--out DIR] [--quick]
 *   npx tsx benchmarks/history.ts --replay-only [--runs 3] [--readings 500000] [--patients 1000]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { loadConfig } from '../common/config.ts';
import { createProducer } from '../common/kafka.ts';
import { createLogger } from '../common/log.ts';
import { startLocalKafka } from '../deploy/local/kafka/local-kafka.ts';
import { createDatabase, startLocalPostgres } from '../deploy/local/postgres.ts';
import { encodeVitalsCopy, VITALS_COPY_COLUMNS } from '../history/copy-binary.ts';
import { migrate } from '../history/db.ts';
import { patientVitals } from '../history/queries.ts';
import { parseReplayArgs } from '../history/replay/args.ts';
import { runReplay } from '../history/replay/replay.ts';
import { dayStart, ensurePartitions } from '../history/sink/partitions.ts';
import { type PatientState, step } from '../processors/engine.ts';
import { DEFAULT_RULE_FILE, loadRuleFile } from '../processors/rulebook.ts';
import { localCodec } from '../schemas/codec.ts';
import type { VitalsReading } from '../schemas/records.ts';
import { partitionForWard } from '../schemas/topics.ts';
import { barChart } from './chart.ts';
import { arg, benchTopics, flag, percentile, progress } from './util.ts';

const quick = flag('--quick');
const READINGS = Number(arg('--readings', quick ? '40000' : '500000'));
const PATIENTS = Number(arg('--patients', quick ? '200' : '1000'));
const QUERY_PATIENTS = Number(arg('--query-patients', quick ? '20' : '100'));
const QUERY_HOURS = quick ? 6 : 24;
const out = arg('--out', 'benchmarks/results');
const codec = localCodec();
const log = createLogger('bench', 'error');
const DAY = 86_400_000;

function reading(i: number, t: number, T0: number): VitalsReading {
  const ep = i % 10 === 0 && t % 900 > 300 && t % 900 < 420;
  return {
    patientId: `hp${i}`,
    wardId: `hw${i % 16}`,
    bed: null,
    deviceId: `hd${i}`,
    seq: t + 1,
    ts: T0 + t * 1000,
    receivedAt: T0 + t * 1000 + 3,
    heartRate: ep ? 142 : 70 + (t % 11),
    spo2: ep ? 88 : 96 + (t % 3),
    respRate: 14 + (t % 5),
    systolicBp: 118 + (t % 9),
    diastolicBp: 76,
    temperature: 36.7,
    consciousness: 'A',
    onOxygen: false,
    correlationId: `c${i}.${t}`,
  };
}

/** A fresh database on the embedded cluster, migrated, and a pool on it. */
async function benchDatabase(pgsql: { url: string }) {
  const url = await createDatabase(pgsql.url, 'bench');
  await migrate(url, log);
  return { url, pool: new pg.Pool({ connectionString: url, max: 4 }) };
}

/** READINGS readings of PATIENTS patients at 1 Hz ending an hour ago, in arrival order (patients interleaved). */
function generateReadings() {
  const seconds = Math.ceil(READINGS / PATIENTS);
  const T0 = Math.floor((Date.now() - 3600_000 - seconds * 1000) / 1000) * 1000;
  const all: VitalsReading[] = [];
  for (let k = 0; k < READINGS; k++) all.push(reading(k % PATIENTS, Math.floor(k / PATIENTS), T0));
  return {
    seconds,
    T0,
    all,
    replayArgs: (source: 'kafka' | 'postgres') =>
      parseReplayArgs({ from: String(T0), to: String(T0 + seconds * 1000 + 1000), warmup: '0', timelines: '0', source }, Date.now()),
  };
}

/** The baseline of replay: the same engine over the same readings interleaved across patients (the live processors' order), in memory; readings/s. */
function interleavedEngineRps(all: readonly VitalsReading[], book: ReturnType<typeof loadRuleFile>): number {
  const states = new Map<string, PatientState>();
  const t = performance.now();
  for (const r of all) states.set(r.patientId, step(states.get(r.patientId), r, book.forPatient(r.wardId, r.patientId)).state);
  return Math.round(all.length / ((performance.now() - t) / 1000));
}

async function main() {
  const localKafka = arg('--brokers', '') || process.env.KAFKA_BROKERS ? null : await startLocalKafka({ log: (l) => console.error(l) });
  const brokers = process.env.KAFKA_BROKERS ?? (arg('--brokers', '') || localKafka!.brokers);
  const pgsql = await startLocalPostgres({ log: (l) => console.error(l) });
  try {
    const prefix = `bench-hist-${Date.now().toString(36)}.`;
    const bt = await benchTopics(brokers, prefix);
    const { config, kafka, topics } = bt;
    const { url, pool } = await benchDatabase(pgsql);
    const { seconds, T0, all, replayArgs } = generateReadings();
    const producer = createProducer(kafka);
    await producer.connect();
    const pl = progress('loading vitals into Kafka', READINGS);
    for (let i = 0; i < all.length; i += 5000) {
      const chunk = all.slice(i, i + 5000);
      await producer.send({
        topic: topics.vitals,
        acks: -1,
        messages: chunk.map((r) => ({ key: r.patientId, value: codec.encode('vitals', r), partition: partitionForWard(r.wardId, 8), timestamp: String(r.ts) })),
      });
      pl.tick(chunk.length);
    }
    pl.done();
    await producer.disconnect();

    // 1a. naive baseline: one INSERT per reading, autocommit (a sample, on the same table).
    await ensurePartitions(pool, [dayStart(T0 - DAY), dayStart(T0), dayStart(T0 + seconds * 1000)]);
    const sample = all.slice(0, quick ? 2000 : 10_000).map((r) => ({ ...r, deviceId: `naive-${r.deviceId}` }));
    const client = await pool.connect();
    const t = performance.now();
    for (const r of sample) {
      const cols = [
        r.patientId,
        r.ts,
        r.deviceId,
        r.seq,
        r.wardId,
        r.bed,
        r.receivedAt,
        r.heartRate,
        r.spo2,
        r.respRate,
        r.systolicBp,
        r.diastolicBp,
        r.temperature,
        r.consciousness,
        r.onOxygen,
        r.correlationId,
      ];
      await client.query(
        'INSERT INTO vitals (patient_id, ts, device_id, seq, ward_id, bed, received_at, heart_rate, spo2, resp_rate, systolic_bp, diastolic_bp, temperature, consciousness, on_oxygen, correlation_id) VALUES ($1, to_timestamp($2 / 1000.0), $3, $4, $5, $6, to_timestamp($7 / 1000.0), $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT DO NOTHING',
        cols,
      );
    }
    const naiveRps = Math.round(sample.length / ((performance.now() - t) / 1000));
    await client.query("DELETE FROM vitals WHERE device_id LIKE 'naive-%'");
    client.release();
    console.error(`naive single-row inserts: ${naiveRps} rows/s`);

    // 1b. the sink process.
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/wardstream.ts', 'sink'], {
      env: {
        ...process.env,
        KAFKA_BROKERS: brokers,
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKA_PARTITIONS: '8',
        DATABASE_URL: url,
        WARDSTREAM_AUDIT_KEY: 'ab'.repeat(32),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const groupId = `${prefix}wardstream-sink`;
    const ps = progress('sink', READINGS);
    let first = 0,
      firstAt = 0,
      last = 0;
    for (;;) {
      const c = await bt.committed(groupId);
      if (c > 0 && !firstAt) {
        first = c;
        firstAt = performance.now();
      }
      ps.tick(c - last);
      last = c;
      if (c >= READINGS) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    ps.done();
    const sinkRps = Math.round((READINGS - first) / ((performance.now() - firstAt) / 1000));
    child.kill('SIGTERM');
    const rows = Number((await pool.query('SELECT count(*) AS n FROM vitals')).rows[0].n);
    console.error(`sink: ${sinkRps} rows/s (${rows} rows in PostgreSQL)`);

    // 2. replay speed.
    const book = loadRuleFile(DEFAULT_RULE_FILE);
    const replay = async (source: 'kafka' | 'postgres', workers?: number) => {
      const t1 = performance.now();
      const pr = progress(`replay from ${source}${workers ? `, ${workers} thread(s)` : ''}`, READINGS);
      let seen = 0;
      const r = await runReplay(replayArgs(source), {
        config,
        codec,
        log,
        book,
        pool,
        kafka,
        topics,
        databaseUrl: url,
        workers,
        progress: (d) => {
          pr.tick(d - seen);
          seen = d;
        },
      });
      pr.done();
      const secs = (performance.now() - t1) / 1000;
      return {
        readings: r.report.readings,
        seconds: Math.round(secs * 100) / 100,
        readingsPerSec: Math.round(r.report.readings / secs),
        alerts: r.report.totals.proposed.alerts,
      };
    };
    // First read of rows the sink has just written: PostgreSQL sets their hint bits as it goes
    // (a one-time write per page). Then after VACUUM, as autovacuum leaves history long before
    // anyone replays it: the figure for last night's or last month's data.
    const fromPgFirstRead = await replay('postgres');
    await pool.query('VACUUM (ANALYZE) vitals');
    const fromPg = await replay('postgres');
    const fromKafka = await replay('kafka');
    const fromKafka1 = await replay('kafka', 2); // two worker threads, half of the partitions each
    const interleavedRps = interleavedEngineRps(all, book);
    console.error(
      `replay: postgres ${fromPg.readingsPerSec}/s (first read right after the sink ${fromPgFirstRead.readingsPerSec}/s), kafka ${fromKafka.readingsPerSec}/s (two worker threads ${fromKafka1.readingsPerSec}/s); engine interleaved in memory ${interleavedRps}/s`,
    );

    // 3. query: 30 daily partitions, the queried day full at 1 Hz for QUERY_PATIENTS patients.
    const qDay = dayStart(T0) - 40 * DAY;
    const days = Array.from({ length: 30 }, (_, i) => qDay - 15 * DAY + i * DAY);
    await ensurePartitions(pool, days);
    const pq = progress('generating query data (server-side)', days.length);
    for (const d of days) {
      const full = d === qDay;
      const secs = full ? QUERY_HOURS * 3600 : 60;
      const pts = full ? QUERY_PATIENTS : quick ? 100 : 1000;
      // Time-major order: rows of one patient interleave with every other patient's, as the sink writes them.
      await pool.query(
        `INSERT INTO vitals (patient_id, ts, device_id, seq, ward_id, received_at, heart_rate, spo2, resp_rate, systolic_bp, diastolic_bp, temperature, correlation_id)
        SELECT 'qp' || p, to_timestamp($1 / 1000.0) + s * interval '1 second', 'qd' || p, s + 1, 'qw' || (p % 16), to_timestamp($1 / 1000.0) + s * interval '1 second',
               70 + (s % 11), 96 + (s % 3), 14 + (s % 5), 118 + (s % 9), 76, 36.7, 'c'
        FROM generate_series(0, $2 - 1) s, generate_series(0, $3 - 1) p ORDER BY s, p`,
        [d, secs, pts],
      );
      pq.tick(1);
    }
    pq.done();
    await pool.query('VACUUM ANALYZE vitals');
    const from = qDay,
      to = qDay + QUERY_HOURS * 3600_000;
    const stats = (ms: number[]) => {
      const first = ms[0]!;
      const sorted = ms.slice(1).sort((a, b) => a - b);
      const r = (x: number) => Math.round(x * 10) / 10;
      return { firstMs: r(first), p50: r(percentile(sorted, 50)), p95: r(percentile(sorted, 95)) };
    };
    const pid = (i: number) => `qp${(i * 7) % QUERY_PATIENTS}`;
    // (a) patientVitals: COPY binary from the covering key's index-only scan, into typed arrays.
    const a: number[] = [];
    let rowsBack = 0;
    for (let i = 0; i < 21; i++) {
      const t2 = performance.now();
      rowsBack = (await patientVitals(pool, pid(i), from, to)).count;
      a.push(performance.now() - t2);
    }
    // (b) server-side execution alone (EXPLAIN ANALYZE of the same SELECT).
    const qc = await pool.connect();
    const sel = (p: string) =>
      `SELECT ts, heart_rate, spo2, resp_rate, systolic_bp, diastolic_bp, temperature FROM vitals WHERE patient_id = '${p}' AND ts >= to_timestamp(${from} / 1000.0) AND ts < to_timestamp(${to} / 1000.0) ORDER BY ts`;
    const server: number[] = [];
    let plan = '';
    for (let i = 0; i < 11; i++) {
      const r = await qc.query(`EXPLAIN (ANALYZE, BUFFERS) ${sel(pid(i))}`);
      const lines = r.rows.map((x) => x['QUERY PLAN'] as string);
      server.push(Number(/Execution Time: ([\d.]+)/.exec(lines.join('\n'))![1]));
      plan = lines.join('\n');
    }
    // (c) baseline: a plain row query through the driver (row objects), as most code would write it.
    const rowQ: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t2 = performance.now();
      await qc.query(sel(pid(i)));
      rowQ.push(performance.now() - t2);
    }
    qc.release();
    const indexed = { ...stats(a), rows: rowsBack, serverP50: stats(server).p50 };
    const rowsBaseline = stats(rowQ);
    console.error(
      `query ${QUERY_HOURS} h of one patient: patientVitals p50 ${indexed.p50} ms (server execution p50 ${indexed.serverP50} ms), row query p50 ${rowsBaseline.p50} ms\n${plan}`,
    );

    const result = {
      date: new Date().toISOString(),
      quick,
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, PostgreSQL 18 (embedded, default durability)`,
      sink: { readings: READINGS, patients: PATIENTS, rowsPerSec: sinkRps, naiveRowsPerSec: naiveRps, ratio: Math.round((sinkRps / naiveRps) * 10) / 10, rows },
      replay: {
        postgres: fromPg,
        postgresFirstRead: fromPgFirstRead,
        kafka: fromKafka,
        kafkaTwoThreads: fromKafka1,
        interleavedEngineRps: interleavedRps,
        ratioPostgres: Math.round((fromPg.readingsPerSec / interleavedRps) * 10) / 10,
      },
      query: {
        partitions: days.length,
        patientsInDay: QUERY_PATIENTS,
        hours: QUERY_HOURS,
        patientVitals: indexed,
        rowQuery: rowsBaseline,
        ratio: Math.round((rowsBaseline.p50 / indexed.p50) * 10) / 10,
        plan,
      },
    };
    console.log(JSON.stringify(result, null, 2));
    mkdirSync(out, { recursive: true });
    writeFileSync(`${out}/history.json`, JSON.stringify(result, null, 2));
    writeFileSync(
      `${out}/history.svg`,
      barChart(
        'History: sink rows/s and replay readings/s vs baselines (log scale)',
        '/s',
        [
          { label: 'sink (batched, idempotent)', value: sinkRps, group: 'sink' },
          { label: 'naive single-row INSERT', value: naiveRps, group: 'baseline' },
          { label: 'replay from PostgreSQL (vacuumed)', value: fromPg.readingsPerSec, group: 'replay' },
          { label: 'replay, first read after the sink', value: fromPgFirstRead.readingsPerSec, group: 'replay' },
          { label: 'replay from Kafka', value: fromKafka.readingsPerSec, group: 'replay' },
          { label: 'engine, interleaved patients', value: interleavedRps, group: 'baseline' },
        ],
        { log: true },
      ),
    );
    await pool.end();
    await bt.close();
  } finally {
    await pgsql.stop();
    await localKafka?.stop();
  }
}

/**
 * `--replay-only [--runs 3]`: replay speed alone, without Kafka or the sink. The same generated
 * readings are written straight into `vitals` with binary COPY in arrival order (patients
 * interleaved on disk, as the sink leaves them), vacuumed as history is when analysts replay it,
 * then replayed from PostgreSQL `--runs` times; the in-memory baseline is measured after each run.
 */
async function replayOnly(): Promise<void> {
  const runs = Number(arg('--runs', '3'));
  const pgsql = await startLocalPostgres({ log: (l) => console.error(l) });
  try {
    const { pool } = await benchDatabase(pgsql);
    const { seconds, T0, all, replayArgs } = generateReadings();
    await ensurePartitions(pool, [dayStart(T0 - DAY), dayStart(T0), dayStart(T0 + seconds * 1000)]);
    const client = await pool.connect();
    await pipeline(Readable.from([encodeVitalsCopy(all)]), client.query(copyFrom(`COPY vitals (${VITALS_COPY_COLUMNS}) FROM STDIN (FORMAT binary)`)));
    client.release();
    await pool.query('VACUUM (ANALYZE) vitals');
    const book = loadRuleFile(DEFAULT_RULE_FILE);
    const config = loadConfig({}, { kafkaPartitions: 8 });
    const rows = [];
    for (let r = 0; r < runs; r++) {
      const t = performance.now();
      const res = await runReplay(replayArgs('postgres'), { config, codec: localCodec(), log, book, pool, workers: 1 });
      const rps = Math.round(res.report.readings / ((performance.now() - t) / 1000));
      const baseline = interleavedEngineRps(all, book);
      rows.push({ readings: res.report.readings, readingsPerSec: rps, interleavedEngineRps: baseline, ratio: Math.round((rps / baseline) * 100) / 100 });
      console.error(`replay from PostgreSQL: ${rps} readings/s (in-memory engine over interleaved patients: ${baseline}/s)`);
    }
    console.log(
      JSON.stringify(
        {
          date: new Date().toISOString(),
          machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`,
          readings: READINGS,
          patients: PATIENTS,
          runs: rows,
        },
        null,
        2,
      ),
    );
    await pool.end();
  } finally {
    await pgsql.stop();
  }
}

if (flag('--replay-only')) await replayOnly();
else await main();
process.exit(0);
