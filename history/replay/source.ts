/**
 * What a replay reads, behind one interface, whichever store it comes from:
 *   sources/postgres.ts  the sink's tables; readings stream as binary COPY in primary-key order
 *   sources/kafka.ts     the live topics by offsets-for-times; readings grouped per patient in memory
 *
 * The replay core (core.ts) needs, per patient, the readings in (ts, seq, device) order and the
 * clinician actions in (ts, actionId) order; and, for the final timers, the newest reading of
 * each Kafka partition (the live partitions' final watermarks). The report needs the alerts
 * actually raised in the period and a few patients' readings again (timelines).
 *
 * A source reads its readings either in this thread (`patients()`) or in worker threads
 * (`shards()`: a description of each worker's share, which the worker opens itself with
 * `openShard` of the same source module).
 */
import { WardstreamError } from '../../common/errors.ts';
import type { AlertAction, AlertEvent, VitalsReading } from '../../schemas/records.ts';
import type { ReplayArgs } from './args.ts';

/** What a source knows about the whole range; PostgreSQL finds it while the readings stream. */
export interface SourceMeta {
  /** Readings to replay (after the ward and patient filters); for Kafka in worker threads an upper bound (records in the offset ranges). */
  readonly total: number;
  /** Wards with readings in range (before the filters); null when only the readers find out (Kafka in worker threads). */
  readonly wardsSeen: ReadonlySet<string> | null;
  /** Newest reading per Kafka partition within the range (all wards of it). */
  readonly partitionMaxTs: ReadonlyMap<number, number>;
  /** The alerts actually raised in the period. */
  readonly current: readonly AlertEvent[];
}

/** One worker thread's share of the readings (structured-clonable: it is sent to the worker). */
export type ShardSpec =
  | { readonly source: 'postgres'; readonly url: string; readonly where: string; readonly partitionMaxTs: readonly (readonly [number, number])[] }
  | {
      readonly source: 'kafka';
      readonly brokers: readonly string[];
      readonly topicPrefix: string;
      readonly schemaRegistryUrl: string | null;
      readonly args: ReplayArgs;
      readonly partitions: readonly number[];
    };

interface SourceCommon {
  readonly meta: Promise<SourceMeta>;
  /** Clinician actions in range per patient, in (ts, actionId) order. */
  readonly actions: ReadonlyMap<string, readonly AlertAction[]>;
  /** All readings in range of a few patients, each sorted (the report's timelines). */
  readingsOf(patientIds: readonly string[]): Promise<Map<string, VitalsReading[]>>;
  /** Releases what the source holds (a stream not fully consumed, its connection). */
  close(): Promise<void>;
}

export type Source = SourceCommon &
  /** Per patient, in patient order: readings sorted by (ts, seq, device). */
  (
    | { readonly readers: 'this-thread'; patients(): AsyncIterable<VitalsReading[]> }
    /** The share of each of `n` worker threads (`meta` first: the shares may need its watermarks). */
    | { readonly readers: 'workers'; shards(n: number, meta: SourceMeta): ShardSpec[] }
  );

/** A worker's share, opened in the worker: its patients in order, and the watermarks to finish them with. */
export interface Shard {
  patients(): AsyncIterable<VitalsReading[]>;
  /** Final at the latest when `patients()` is exhausted (Kafka: found while reading). */
  readonly partitionMaxTs: ReadonlyMap<number, number>;
  readonly wardsSeen: ReadonlySet<string>;
  close(): Promise<void>;
}

/** The ward and patient filters of the arguments as one predicate; null when nothing is filtered. */
export function scopeOf(args: Pick<ReplayArgs, 'wards' | 'patients'>): ((wardId: string, patientId: string) => boolean) | null {
  const wards = args.wards.length ? new Set(args.wards) : null;
  const patients = args.patients.length ? new Set(args.patients) : null;
  if (!wards && !patients) return null;
  return (w, p) => (!wards || wards.has(w)) && (!patients || patients.has(p));
}

/** A ward asked for but without a single reading in the range is a usage error (a typo, or the wrong period). */
export function checkWards(args: Pick<ReplayArgs, 'wards' | 'from' | 'to'>, seen: ReadonlySet<string>): void {
  const unknown = args.wards.filter((w) => !seen.has(w));
  if (!unknown.length) return;
  const range = `between ${new Date(args.from).toISOString()} and ${new Date(args.to).toISOString()}`;
  const known = seen.size ? ` (wards with readings: ${[...seen].sort().slice(0, 20).join(', ')})` : ' (no readings at all in that period)';
  throw new WardstreamError('CLI_ERR_USAGE', `unknown ward${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}: no readings ${range}${known}`);
}

/** Adds an action to its patient's list (in the order given). */
export function addAction(byPatient: Map<string, AlertAction[]>, a: AlertAction): void {
  const l = byPatient.get(a.patientId);
  if (l) l.push(a);
  else byPatient.set(a.patientId, [a]);
}
