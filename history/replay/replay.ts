/**
 * `wardstream replay`: run (proposed) rules over recorded history with the processors' own
 * engine and compare with what was actually raised.
 *
 * Sources:
 *   postgres  the sink's tables; readings stream as binary COPY in primary-key order
 *             (patient, ts), so memory holds one patient at a time
 *   kafka     the `vitals` topic by offsets-for-times (record timestamps are device times),
 *             widened by 5 min for late records and filtered on decoded times; readings are
 *             grouped per patient in memory (fine for days of a few wards; use postgres for
 *             months of a hospital)
 * Readings from `from - warmup` are replayed so that windows and episodes are warm at `from`;
 * only events in [from, to) are reported. Live topics are never written; `--publish` writes
 * the proposed events to `alerts.replay.<name>`.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Kafka } from 'kafkajs';
import pg from 'pg';
import type { Config } from '../../common/config.ts';
import { WardstreamError } from '../../common/errors.ts';
import { createProducer, readRange, sendChunked, whenReady, type Message } from '../../common/kafka.ts';
import type { Logger } from '../../common/log.ts';
import type { RuleBook } from '../../processors/rulebook.ts';
import type { Codec } from '../../schemas/codec.ts';
import type { AlertAction, AlertEvent, Acvpu, VitalsReading } from '../../schemas/records.ts';
import { partitionForWard, type Topics } from '../../schemas/topics.ts';
import { to as copyTo } from 'pg-copy-streams';
import { VITALS_COPY_COLUMNS, VitalsCopyDecoder } from '../copy-binary.ts';
import type { ReplayArgs } from './args.ts';
import { applyReadings, byTsSeq, finishPeriod, type PatientInProgress } from './core.ts';
import type { WorkerInput, WorkerOutput } from './worker.ts';
import { buildReport, downsample, eventOrder, spansOf, type ReplayReport, type Timeline } from './report.ts';

/** Late records are looked for this far past the end of the range in the Kafka log. */
const LATE_SLACK_MS = 5 * 60_000;
const FETCH_ROWS = 20_000;

export interface ReplayDeps {
  readonly config: Config;
  readonly codec: Codec;
  readonly log: Logger;
  readonly book: RuleBook;
  readonly kafka?: Kafka;
  readonly topics?: Topics;
  readonly pool?: pg.Pool;
  /** Called as readings are replayed (done, total). */
  readonly progress?: (done: number, total: number) => void;
  /** Worker threads for PostgreSQL replays (default: min(4, cores - 1)); 1 = in this thread. */
  readonly workers?: number;
  /** Needed for workers: the database URL they connect to. */
  readonly databaseUrl?: string;
}

export interface ReplayResult { readonly report: ReplayReport; readonly proposed: readonly AlertEvent[]; readonly current: readonly AlertEvent[] }

/** What a source knows about the whole range; PostgreSQL finds it while the readings stream. */
interface SourceMeta {
  readonly total: number;
  readonly wardsSeen: ReadonlySet<string>;
  /** Newest reading per Kafka partition within the range (all wards of it). */
  readonly partitionMaxTs: ReadonlyMap<number, number>;
  /** The alerts actually raised in the period. */
  readonly current: readonly AlertEvent[];
}

interface Source {
  readonly meta: Promise<SourceMeta>;
  /** PostgreSQL only: the filter, so that worker threads can read shards of the patients. */
  readonly shardable?: { readonly where: string };
  /** Kafka in worker threads: the partitions to share out (readings are read by the workers). */
  readonly kafkaScope?: readonly number[];
  /** Per patient, in patient order: readings sorted by (ts, seq). */
  patients(): AsyncIterable<VitalsReading[]>;
  readonly actions: ReadonlyMap<string, AlertAction[]>;
  readingsOf(patientIds: readonly string[]): Promise<Map<string, VitalsReading[]>>;
  /** Releases what the source holds if patients() is not (fully) consumed. */
  close?(): Promise<void>;
}

const usage = (msg: string): never => { throw new WardstreamError('CLI_ERR_USAGE', msg); };

function checkWards(args: ReplayArgs, seen: ReadonlySet<string>): void {
  const unknown = args.wards.filter((w) => !seen.has(w));
  if (unknown.length) usage(`unknown ward${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}: no readings between ${new Date(args.from).toISOString()} and ${new Date(args.to).toISOString()}${seen.size ? ` (wards with readings: ${[...seen].sort().slice(0, 20).join(', ')})` : ' (no readings at all in that period)'}`);
}

// ------------------------------------------------------------------------- PostgreSQL

function rowToAlert(x: Record<string, unknown>): AlertEvent {
  const ms = (d: unknown) => (d === null ? null : (d as Date).getTime());
  return {
    eventId: x.event_id as string, alertId: x.alert_id as string, patientId: x.patient_id as string, wardId: x.ward_id as string, bed: x.bed as string | null,
    rule: x.rule as string, priority: x.priority as AlertEvent['priority'], phase: x.phase as AlertEvent['phase'], state: x.state as AlertEvent['state'],
    parameter: x.parameter as string | null, value: x.value as number | null, threshold: x.threshold as number | null, onsetTs: ms(x.onset_ts)!, eventTs: ms(x.event_ts)!,
    message: x.message as string, ruleVersion: x.rule_version as string, correlationId: x.correlation_id as string, details: x.details as Record<string, number> | null,
    notify: x.notify as string[], actor: x.actor as string | null, actorRole: x.actor_role as string | null, groupedWith: x.grouped_with as string | null, silencedUntil: ms(x.silenced_until),
  };
}

/**
 * One patient's readings at a time, in primary-key order, streamed with binary COPY on `client`
 * (a read-only transaction of its own; history/copy-binary.ts decodes). `where` is SQL with
 * literals only: COPY takes no bind parameters. Used in-process and by replay workers. Flow
 * control is TCP's: PostgreSQL produces rows on its core while the engine runs on this one, and
 * waits when this side falls behind. If the consumer stops early, `discard` is called: the
 * connection is mid-COPY and must not be reused.
 */
export async function* streamPatients(client: pg.ClientBase, where: string, discard: () => void): AsyncGenerator<VitalsReading[]> {
  let finished = false;
  try {
    await client.query('BEGIN READ ONLY');
    // Walk the primary key (patient_id, ts, device_id, seq), which is the order needed, rather
    // than sort the range: a sort delays the first patient until the whole range is read (and
    // spills to disk for weeks of history); the index delivers patients as it goes.
    await client.query('SET LOCAL enable_sort = off');
    const stream = client.query(copyTo(`COPY (SELECT ${VITALS_COPY_COLUMNS} FROM vitals WHERE ${where} ORDER BY patient_id, ts, device_id, seq) TO STDOUT (FORMAT binary)`));
    const decoder = new VitalsCopyDecoder();
    let group: VitalsReading[] = [];
    for await (const chunk of stream) {
      for (const r of decoder.push(chunk as Buffer)) {
        if (group.length && group[0]!.patientId !== r.patientId) { yield group; group = []; }
        group.push(r);
      }
    }
    decoder.end();
    if (group.length) yield group;
    await client.query('COMMIT');
    finished = true;
  } finally {
    if (!finished) discard();
  }
}

/**
 * The replay's filters as SQL with literals, for every query of the PostgreSQL source: COPY takes
 * no bind parameters, and one builder keeps the readings, their counts, actions and live alerts
 * under the same filter. Times are integers; identifiers are quoted by pg.escapeLiteral.
 *   range  `column` within [from, args.to)
 *   scope  the ward and patient filters (and `patients`, e.g. the timeline patients)
 */
function filterSql(args: ReplayArgs, o: { column?: string; from?: number; patients?: readonly string[] } = {}): { range: string; scope: string[] } {
  const col = o.column ?? 'ts';
  const list = (xs: readonly string[]) => `ARRAY[${xs.map((x) => pg.escapeLiteral(x)).join(', ')}]::text[]`;
  const scope: string[] = [];
  if (args.wards.length) scope.push(`ward_id = ANY(${list(args.wards)})`);
  if (args.patients.length) scope.push(`patient_id = ANY(${list(args.patients)})`);
  if (o.patients) scope.push(`patient_id = ANY(${list(o.patients)})`);
  const from = Math.trunc(o.from ?? args.from - args.warmupMs);
  return { range: `${col} >= to_timestamp(${from} / 1000.0) AND ${col} < to_timestamp(${Math.trunc(args.to)} / 1000.0)`, scope };
}
const whereOf = (f: { range: string; scope: string[] }) => [f.range, ...f.scope].join(' AND ');

async function postgresSource(pool: pg.Pool, args: ReplayArgs, partitions: number, inThread: boolean): Promise<Source> {
  const readings = filterSql(args);
  const where = whereOf(readings);
  // The readings' stream is opened first, on a connection of its own, so that PostgreSQL
  // walks the index while the small queries below run; the first patient is fetched now and
  // handed out by patients(). (Worker threads open streams of their own: replay-worker.ts.)
  const streamClient = inThread ? await pool.connect() : null;
  let released = false;
  const release = (broken?: Error) => { if (!released) { released = true; streamClient?.release(broken); } };
  const stream = streamClient ? streamPatients(streamClient, where, () => release(new Error('replay stream abandoned mid-COPY'))) : (async function* (): AsyncGenerator<VitalsReading[]> {})();
  const first = stream.next();
  first.catch(() => {}); // observed by patients(), or dropped by close()
  try {
    // Not awaited: one scan for the newest reading per ward in range (the live partitions' final
    // watermarks, all patients), the number of readings (the filtered ones) and the live alerts
    // of the period. Only the final timers of each patient need it (runReplay holds them back
    // until it arrives), so the readings do not wait for a scan of the whole range.
    const meta = (async (): Promise<SourceMeta> => {
      const [perWard, cur] = await Promise.all([
        pool.query<{ ward_id: string; max: number; n: string }>(
          `SELECT ward_id, (extract(epoch FROM max(ts)) * 1000)::bigint AS max, count(*) ${readings.scope.length ? `FILTER (WHERE ${readings.scope.join(' AND ')})` : ''} AS n
           FROM vitals WHERE ${readings.range} GROUP BY ward_id`),
        pool.query(`SELECT * FROM alert_events WHERE ${whereOf(filterSql(args, { column: 'event_ts', from: args.from }))}`),
      ]);
      const wardsSeen = new Set(perWard.rows.map((r) => r.ward_id));
      const partitionMaxTs = new Map<number, number>();
      for (const r of perWard.rows) { const p = partitionForWard(r.ward_id, partitions); partitionMaxTs.set(p, Math.max(partitionMaxTs.get(p) ?? 0, Number(r.max))); }
      return { wardsSeen, partitionMaxTs, total: perWard.rows.reduce((a, r) => a + Number(r.n), 0), current: cur.rows.map(rowToAlert) };
    })();
    meta.catch(() => {}); // awaited by runReplay

    const acts = await pool.query(`SELECT action_id, alert_id, patient_id, ward_id, action, duration_ms, user_id, role, (extract(epoch FROM ts) * 1000)::bigint AS ts FROM alert_actions WHERE ${where} ORDER BY ts, action_id`);
    const actions = new Map<string, AlertAction[]>();
    for (const x of acts.rows) {
      const a: AlertAction = { actionId: x.action_id, alertId: x.alert_id, patientId: x.patient_id, wardId: x.ward_id, action: x.action, durationMs: x.duration_ms, user: x.user_id, role: x.role, ts: Number(x.ts) };
      const l = actions.get(a.patientId);
      if (l) l.push(a); else actions.set(a.patientId, [a]);
    }

    return {
      meta, actions,
      shardable: { where },
      async *patients() {
        try {
          const r = await first;
          if (r.done) return;
          yield r.value;
          yield* stream;
        } finally { await stream.return(undefined); release(); }
      },
      close: async () => { await stream.return(undefined).catch(() => {}); release(); await meta.catch(() => {}); },
      async readingsOf(ids) {
        const client = await pool.connect();
        let ok = false;
        const out = new Map<string, VitalsReading[]>();
        try {
          for await (const rs of streamPatients(client, whereOf(filterSql(args, { patients: ids })), () => {})) out.set(rs[0]!.patientId, rs);
          ok = true;
        } finally { client.release(ok ? undefined : new Error('replay query abandoned')); }
        return out;
      },
    };
  } catch (e) {
    await stream.return(undefined).catch(() => {});
    release();
    throw e;
  }
}

// ------------------------------------------------------------------------- Kafka

/** Reads `vitals` in [from − warmup, to) of the given partitions, grouped per patient (unsorted). */
export async function readKafkaVitals(kafka: Kafka, topics: Topics, codec: Codec, args: ReplayArgs, scope: ReadonlySet<number> | undefined, log: Logger) {
  const start = args.from - args.warmupMs;
  const wantPatient = args.patients.length ? new Set(args.patients) : null;
  const wantWard = args.wards.length ? new Set(args.wards) : null;
  const byPatient = new Map<string, VitalsReading[]>();
  const patientPartition = new Map<string, number>();
  const wardsSeen = new Set<string>();
  const partitionMaxTs = new Map<number, number>();
  let total = 0;
  await readRange(kafka, topics.vitals, { fromTs: start, toTs: args.to + LATE_SLACK_MS, partitions: scope }, (p, msgs) => {
    for (const m of msgs) {
      if (!m.value) continue;
      let r: VitalsReading;
      try { r = codec.decode('vitals', m.value); } catch (err) { log.warn('undecodable vitals record skipped by replay', { err: err as Error, partition: p }); continue; }
      if (r.ts < start || r.ts >= args.to) continue;
      wardsSeen.add(r.wardId);
      partitionMaxTs.set(p, Math.max(partitionMaxTs.get(p) ?? 0, r.ts));
      if ((wantWard && !wantWard.has(r.wardId)) || (wantPatient && !wantPatient.has(r.patientId))) continue;
      const l = byPatient.get(r.patientId);
      if (l) l.push(r); else { byPatient.set(r.patientId, [r]); patientPartition.set(r.patientId, p); }
      total++;
    }
  });
  return { byPatient, patientPartition, wardsSeen, partitionMaxTs, total };
}

/** Actions and the live alerts of the period (small: read in full by the coordinating thread). */
async function kafkaActionsAndAlerts(kafka: Kafka, topics: Topics, codec: Codec, args: ReplayArgs, scope: ReadonlySet<number> | undefined, log: Logger) {
  const start = args.from - args.warmupMs;
  const wantPatient = args.patients.length ? new Set(args.patients) : null;
  const wantWard = args.wards.length ? new Set(args.wards) : null;
  const keep = (wardId: string, patientId: string) => (!wantWard || wantWard.has(wardId)) && (!wantPatient || wantPatient.has(patientId));
  const actions = new Map<string, AlertAction[]>();
  await readRange(kafka, topics.alertActions, { fromTs: 0, partitions: scope }, (_p, msgs) => {
    for (const m of msgs) {
      if (!m.value) continue;
      try {
        const a = codec.decode('action', m.value);
        if (a.ts < start || a.ts >= args.to || !keep(a.wardId, a.patientId)) continue;
        const l = actions.get(a.patientId);
        if (l) l.push(a); else actions.set(a.patientId, [a]);
      } catch (err) { log.warn('undecodable alert action skipped by replay', { err: err as Error }); }
    }
  });
  for (const l of actions.values()) l.sort((x, y) => x.ts - y.ts || (x.actionId < y.actionId ? -1 : 1));
  const current: AlertEvent[] = [];
  await readRange(kafka, topics.alerts, { fromTs: args.from, toTs: args.to + LATE_SLACK_MS, partitions: scope }, (_p, msgs) => {
    for (const m of msgs) {
      if (!m.value) continue;
      try { const e = codec.decode('alert', m.value); if (e.eventTs >= args.from && e.eventTs < args.to && keep(e.wardId, e.patientId)) current.push(e); } catch (err) { log.warn('undecodable alert skipped by replay', { err: err as Error }); }
    }
  });
  // The live processors may have emitted an event more than once (at-least-once): de-duplicate on eventId.
  return { actions, current: [...new Map(current.map((e) => [e.eventId, e])).values()] };
}

async function kafkaSource(kafka: Kafka, topics: Topics, codec: Codec, args: ReplayArgs, partitions: number, log: Logger, inWorkers: boolean): Promise<Source> {
  const scope = args.wards.length ? new Set(args.wards.map((w) => partitionForWard(w, partitions))) : undefined;
  const { actions, current } = await kafkaActionsAndAlerts(kafka, topics, codec, args, scope, log);
  if (inWorkers) {
    // Readings are read by the workers, a share of the partitions each (history/replay-worker.ts).
    // The progress total is the number of records in the offset ranges (an upper bound).
    const admin = kafka.admin();
    await admin.connect();
    let total = 0;
    try {
      const a = await whenReady(() => admin.fetchTopicOffsetsByTimestamp(topics.vitals, args.from - args.warmupMs));
      const b = await whenReady(() => admin.fetchTopicOffsetsByTimestamp(topics.vitals, args.to + LATE_SLACK_MS));
      for (const x of a) if (!scope || scope.has(x.partition)) total += Math.max(0, Number(b.find((y) => y.partition === x.partition)!.offset) - Number(x.offset));
    } finally { await admin.disconnect(); }
    return {
      meta: Promise.resolve({ total, wardsSeen: new Set<string>(), partitionMaxTs: new Map<number, number>(), current }), actions, kafkaScope: [...(scope ?? Array.from({ length: partitions }, (_, i) => i))],
      async *patients() { /* read by workers */ },
      async readingsOf(ids) {
        const want = new Set(ids);
        const v = await readKafkaVitals(kafka, topics, codec, { ...args, patients: ids }, scope, log);
        return new Map([...v.byPatient].filter(([id]) => want.has(id)).map(([id, rs]) => [id, rs.sort(byTsSeq)]));
      },
    };
  }
  const v = await readKafkaVitals(kafka, topics, codec, args, scope, log);
  return {
    meta: Promise.resolve({ total: v.total, wardsSeen: v.wardsSeen, partitionMaxTs: v.partitionMaxTs, current }), actions,
    async *patients() {
      for (const id of [...v.byPatient.keys()].sort()) yield v.byPatient.get(id)!.sort(byTsSeq);
    },
    async readingsOf(ids) { return new Map(ids.map((id) => [id, v.byPatient.get(id) ?? []])); },
  };
}

// ------------------------------------------------------------------------- run

export async function runReplay(args: ReplayArgs, d: ReplayDeps): Promise<ReplayResult> {
  const partitions = d.config.kafkaPartitions;
  // One core is left to the data source (PostgreSQL producing rows, or a co-located broker):
  // on these 2 cores one thread was faster than two for both sources (benchmarks/README.md).
  const workers = Math.max(1, Math.floor(d.workers ?? Math.min(4, os.availableParallelism() - 1)));
  let src: Source;
  const pgWorkers = workers > 1 && !!d.databaseUrl && !!d.book.text;
  if (args.source === 'postgres') {
    if (!d.pool) throw new WardstreamError('CONFIG_ERR_INVALID', 'replay from postgres needs a database (DATABASE_URL or the embedded one)');
    src = await postgresSource(d.pool, args, partitions, !pgWorkers);
  } else {
    if (!d.kafka || !d.topics) throw new WardstreamError('CONFIG_ERR_INVALID', 'replay from kafka needs KAFKA_BROKERS');
    src = await kafkaSource(d.kafka, d.topics, d.codec, args, partitions, d.log, workers > 1 && !!d.config.kafkaBrokers && !!d.book.text);
  }
  try {
    return await replayFrom(src, args, d, workers, pgWorkers, partitions);
  } finally { await src.close?.(); }
}

async function replayFrom(src: Source, args: ReplayArgs, d: ReplayDeps, workers: number, pgWorkers: boolean, partitions: number): Promise<ReplayResult> {
  const proposed: AlertEvent[] = [];
  let done = 0;
  let patients = 0;
  let lastReport = 0;
  let meta: SourceMeta;
  if ((pgWorkers && src.shardable) || src.kafkaScope) {
    meta = await src.meta;
    if (!src.kafkaScope) checkWards(args, meta.wardsSeen);
    d.progress?.(0, meta.total);
    const r = await inWorkers(workers, src, meta, args, d, partitions, (n) => d.progress?.(n, meta.total));
    if (src.kafkaScope) checkWards(args, r.wardsSeen);
    proposed.push(...r.events);
    done = r.readings;
    patients = r.patients;
  } else {
    // Patients are replayed as they stream in; their final timers need the partitions' last
    // watermarks (meta), which PostgreSQL computes meanwhile: until then they wait here.
    let known: SourceMeta | null = null;
    const waiting: PatientInProgress[] = [];
    const finish = (p: PatientInProgress, m: SourceMeta) => finishPeriod(p, { partitionMaxTs: m.partitionMaxTs, partitions, from: args.from, to: args.to }, d.book);
    void src.meta.then((m) => {
      known = m;
      d.progress?.(done, m.total);
    }, () => {});
    d.progress?.(0, 0);
    for await (const readings of src.patients()) {
      const p = applyReadings(readings, src.actions.get(readings[0]!.patientId) ?? [], d.book);
      if (known) proposed.push(...finish(p, known)); else waiting.push(p);
      done += readings.length;
      patients++;
      if (done - lastReport >= 50_000) { lastReport = done; d.progress?.(done, known ? (known as SourceMeta).total : 0); }
    }
    meta = await src.meta;
    checkWards(args, meta.wardsSeen);
    for (const p of waiting) proposed.push(...finish(p, meta));
  }
  d.progress?.(done, meta.total);
  proposed.sort(eventOrder);

  // Timelines for the patients where current and proposed differ most.
  const pre = buildReport({ name: args.name, source: args.source, from: args.from, to: args.to, wards: args.wards, patients, readings: done, current: meta.current, proposed, proposedVersion: d.book.version });
  const score = new Map<string, number>();
  for (const i of pre.diff.items) score.set(i.patientId, (score.get(i.patientId) ?? 0) + 10);
  for (const s of [...spansOf(meta.current), ...spansOf(proposed)]) score.set(s.patientId, (score.get(s.patientId) ?? 0) + 1);
  const chosen = [...score].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, args.timelines).map(([id]) => id);
  let timelines: Timeline[] = [];
  if (chosen.length) {
    const rs = await src.readingsOf(chosen);
    const cur = spansOf(meta.current);
    const prop = spansOf(proposed);
    timelines = chosen.map((id) => ({
      patientId: id,
      series: downsample((rs.get(id) ?? []).filter((r) => r.ts >= args.from)),
      current: cur.filter((s) => s.patientId === id), proposed: prop.filter((s) => s.patientId === id),
    }));
  }
  const report = { ...pre, timelines };
  return { report, proposed, current: [...meta.current].sort(eventOrder) };
}

/** Shards the patients over worker threads (history/replay-worker.ts) and merges their events. */
async function inWorkers(n: number, src: Source, meta: SourceMeta, args: ReplayArgs, d: ReplayDeps, partitions: number, progress: (done: number) => void): Promise<{ events: AlertEvent[]; readings: number; patients: number; wardsSeen: Set<string> }> {
  const done = new Array<number>(n).fill(0);
  // Workers do not inherit the TypeScript loader: a small bootstrap registers tsx's ESM hooks
  // in the worker first, then loads the worker module.
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(new URL('./worker.ts', import.meta.url).href)}); })`;
  const scope = src.kafkaScope;
  const results = await Promise.all(Array.from({ length: n }, (_, shard) => new Promise<Extract<WorkerOutput, { type: 'done' }>>((resolve, reject) => {
    const common = { shard, shards: n, ruleText: d.book.text, ruleVersion: d.book.version, from: args.from, to: args.to, partitions, actions: [...src.actions] };
    const input: WorkerInput = scope
      ? { ...common, source: 'kafka', brokers: d.config.kafkaBrokers!, topicPrefix: d.config.kafkaTopicPrefix, schemaRegistryUrl: d.config.schemaRegistryUrl, args, kafkaPartitions: scope.filter((_, i) => i % n === shard) }
      : { ...common, source: 'postgres', url: d.databaseUrl!, where: src.shardable!.where, partitionMaxTs: [...meta.partitionMaxTs] };
    const w = new Worker(bootstrap, { eval: true, workerData: input });
    w.on('message', (m: WorkerOutput) => {
      if (m.type === 'progress') { done[shard] = m.done; progress(done.reduce((a, b) => a + b, 0)); }
      else if (m.type === 'done') { resolve(m); void w.terminate(); }
      else reject(new Error(`replay worker ${shard}: ${m.message}`));
    });
    w.on('error', reject);
    w.on('exit', (code) => { if (code !== 0 && code !== 1) reject(new Error(`replay worker ${shard} exited with ${code}`)); });
  })));
  return { events: results.flatMap((r) => r.events), readings: results.reduce((a, r) => a + r.readings, 0), patients: results.reduce((a, r) => a + r.patients, 0), wardsSeen: new Set(results.flatMap((r) => r.wardsSeen)) };
}

/** Writes the proposed events to `<prefix>alerts.replay.<name>` (created if missing); never to live topics. */
export async function publishReplay(kafka: Kafka, config: Config, codec: Codec, name: string, events: readonly AlertEvent[]): Promise<string> {
  const topic = `${config.kafkaTopicPrefix}alerts.replay.${name}`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await whenReady(() => admin.createTopics({ topics: [{ topic, numPartitions: config.kafkaPartitions }], waitForLeaders: true }));
  } finally { await admin.disconnect(); }
  const producer = createProducer(kafka);
  await producer.connect();
  try {
    const messages: Message[] = events.map((e) => ({ key: e.patientId, value: codec.encode('alert', e), partition: partitionForWard(e.wardId, config.kafkaPartitions), timestamp: String(e.eventTs) }));
    await whenReady(() => sendChunked(producer, [{ topic, messages }]));
  } finally { await producer.disconnect(); }
  return topic;
}
