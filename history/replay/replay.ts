/**
 * `wardstream replay`: run (proposed) rules over recorded history with the processors' own
 * engine and compare with what was actually raised.
 *
 *   source.ts            what a replay reads: sources/postgres.ts (the sink's tables, streamed in
 *                        key order) or sources/kafka.ts (the live topics)
 *   core.ts              the engine over one patient's history (pure)
 *   this module          in this thread: patients replayed as they stream in; or
 *   workers.ts, worker.ts  shares of the patients over worker threads (shards.ts)
 *   report.ts            the comparison, its renderings and the timelines (pure)
 *
 * Readings from `from - warmup` are replayed so that windows and episodes are warm at `from`;
 * only events in [from, to) are reported. Live topics are never written; `--publish`
 * (publish.ts) writes the proposed events to `alerts.replay.<name>`.
 */
import os from 'node:os';
import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import type { Config } from '../../common/config.ts';
import { WardstreamError } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import type { RuleBook } from '../../processors/rulebook.ts';
import type { Codec } from '../../schemas/codec.ts';
import type { AlertEvent } from '../../schemas/records.ts';
import type { Topics } from '../../schemas/topics.ts';
import type { ReplayArgs } from './args.ts';
import { applyReadings, finishPeriod, type PatientInProgress } from './core.ts';
import { buildReport, eventOrder, type ReplayReport, spansOf, type Timeline, timelineOf, timelinePatients } from './report.ts';
import { workerCount } from './shards.ts';
import { checkWards, type Source, type SourceMeta } from './source.ts';
import { kafkaSource } from './sources/kafka.ts';
import { postgresSource } from './sources/postgres.ts';
import { replayInWorkers } from './workers.ts';

export { publishReplay } from './publish.ts';

const PROGRESS_EVERY = 50_000;

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
  /** Worker threads (default: min(4, cores - 1)); 1 = in this thread. */
  readonly workers?: number;
  /** Needed for PostgreSQL workers: the database URL they connect to. */
  readonly databaseUrl?: string;
}

export interface ReplayResult {
  readonly report: ReplayReport;
  readonly proposed: readonly AlertEvent[];
  readonly current: readonly AlertEvent[];
}

/** Opens the source of `args.source`, read by worker threads when there are several and they can load the rules. */
async function openSource(args: ReplayArgs, d: ReplayDeps, workers: number): Promise<Source> {
  const partitions = d.config.kafkaPartitions;
  const threads = workers > 1 && !!d.book.text;
  if (args.source === 'postgres') {
    if (!d.pool) throw new WardstreamError('CONFIG_ERR_INVALID', 'replay from postgres needs a database (DATABASE_URL or the embedded one)');
    return postgresSource(d.pool, args, partitions, threads && d.databaseUrl ? d.databaseUrl : null);
  }
  if (!d.kafka || !d.topics) throw new WardstreamError('CONFIG_ERR_INVALID', 'replay from kafka needs KAFKA_BROKERS');
  const c = d.config;
  const access = threads && c.kafkaBrokers ? { brokers: c.kafkaBrokers, topicPrefix: c.kafkaTopicPrefix, schemaRegistryUrl: c.schemaRegistryUrl } : null;
  return kafkaSource(d.kafka, d.topics, d.codec, args, partitions, d.log, access);
}

export async function runReplay(args: ReplayArgs, d: ReplayDeps): Promise<ReplayResult> {
  // One core is left to the data source (PostgreSQL producing rows, or a co-located broker):
  // on these 2 cores one thread was faster than two for both sources (benchmarks/README.md).
  const workers = workerCount(d.workers, os.availableParallelism());
  try {
    const src = await openSource(args, d, workers);
    try {
      const run = src.readers === 'workers' ? await inWorkers(src, workers, args, d) : await inThisThread(src, args, d);
      return await report(src, run, args, d);
    } finally {
      await src.close();
    }
  } catch (e) {
    // The database's or Kafka's own errors (a lost connection, a missing table) get the replay's code.
    throw e instanceof WardstreamError ? e : new WardstreamError('HISTORY_ERR_REPLAY_SOURCE', (e as Error).message, { cause: e });
  }
}

interface Run {
  readonly proposed: AlertEvent[];
  readonly readings: number;
  readonly patients: number;
  readonly meta: SourceMeta;
}

async function inWorkers(src: Extract<Source, { readers: 'workers' }>, n: number, args: ReplayArgs, d: ReplayDeps): Promise<Run> {
  const meta = await src.meta;
  if (meta.wardsSeen) checkWards(args, meta.wardsSeen);
  d.progress?.(0, meta.total);
  const r = await replayInWorkers(src, meta, n, {
    book: d.book,
    from: args.from,
    to: args.to,
    partitions: d.config.kafkaPartitions,
    progress: (done) => d.progress?.(done, meta.total),
  });
  if (!meta.wardsSeen) checkWards(args, r.wardsSeen);
  d.progress?.(r.readings, meta.total);
  return { proposed: r.events, readings: r.readings, patients: r.patients, meta };
}

/**
 * Patients are replayed as they stream in; their final timers need the partitions' last
 * watermarks (meta), which PostgreSQL computes meanwhile: until then they wait here.
 */
async function inThisThread(src: Extract<Source, { readers: 'this-thread' }>, args: ReplayArgs, d: ReplayDeps): Promise<Run> {
  const proposed: AlertEvent[] = [];
  let done = 0;
  let patients = 0;
  let lastReport = 0;
  let known: SourceMeta | null = null;
  const waiting: PatientInProgress[] = [];
  const period = (m: SourceMeta) => ({ partitionMaxTs: m.partitionMaxTs, partitions: d.config.kafkaPartitions, from: args.from, to: args.to });
  void src.meta.then(
    (m) => {
      known = m;
      d.progress?.(done, m.total);
    },
    () => {},
  );
  d.progress?.(0, 0);
  for await (const readings of src.patients()) {
    const p = applyReadings(readings, src.actions.get(readings[0]!.patientId) ?? [], d.book);
    if (known) proposed.push(...finishPeriod(p, period(known), d.book));
    else waiting.push(p);
    done += readings.length;
    patients++;
    if (done - lastReport >= PROGRESS_EVERY) {
      lastReport = done;
      d.progress?.(done, known ? (known as SourceMeta).total : 0);
    }
  }
  const meta = await src.meta;
  checkWards(args, meta.wardsSeen!);
  for (const p of waiting) proposed.push(...finishPeriod(p, period(meta), d.book));
  d.progress?.(done, meta.total);
  return { proposed, readings: done, patients, meta };
}

/** The comparison, with timelines for the patients where current and proposed differ most. */
async function report(src: Source, run: Run, args: ReplayArgs, d: ReplayDeps): Promise<ReplayResult> {
  const { meta, proposed } = run;
  proposed.sort(eventOrder);
  const pre = buildReport({
    name: args.name,
    source: args.source,
    from: args.from,
    to: args.to,
    wards: args.wards,
    patients: run.patients,
    readings: run.readings,
    current: meta.current,
    proposed,
    proposedVersion: d.book.version,
  });
  const cur = spansOf(meta.current);
  const prop = spansOf(proposed);
  const chosen = timelinePatients(pre.diff, cur, prop, args.timelines);
  let timelines: Timeline[] = [];
  if (chosen.length) {
    const rs = await src.readingsOf(chosen);
    timelines = chosen.map((id) => timelineOf(id, rs.get(id) ?? [], args.from, cur, prop));
  }
  return { report: { ...pre, timelines }, proposed, current: [...meta.current].sort(eventOrder) };
}
