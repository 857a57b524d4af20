/**
 * Replay source: the live Kafka topics. `vitals` is read by offsets-for-times (record timestamps
 * are device times), widened by 5 min for late records and filtered on decoded times; readings
 * are grouped per patient in memory (fine for days of a few wards; use PostgreSQL for months of
 * a hospital). Worker threads each read a share of the partitions (a ward, hence a patient,
 * lives in one) with a client of their own.
 */
import type { Kafka } from 'kafkajs';
import { createKafka, readRange, whenReady } from '../../../common/kafka.ts';
import type { Logger } from '../../../common/log.ts';
import { type Codec, createCodec } from '../../../schemas/codec.ts';
import type { AlertAction, AlertEvent, VitalsReading } from '../../../schemas/records.ts';
import { partitionForWard, type Topics, topicNames } from '../../../schemas/topics.ts';
import type { ReplayArgs } from '../args.ts';
import { byTsSeq } from '../core.ts';
import { shareOf } from '../shards.ts';
import { addAction, type Shard, type ShardSpec, type Source, scopeOf } from '../source.ts';

/** Late records are looked for this far past the end of the range in the Kafka log. */
export const LATE_SLACK_MS = 5 * 60_000;

/**
 * The readings of a Kafka range as they arrive (any order, several partitions), grouped per
 * patient. Pure: records in, groups out.
 *   kept           ts in [from − warmup, to) and within the ward and patient filters
 *   wardsSeen      every ward with a reading in range, filtered or not (to name unknown wards)
 *   partitionMaxTs the newest reading in range per partition, all wards (the final watermark)
 */
export class PatientReadings {
  readonly byPatient = new Map<string, VitalsReading[]>();
  readonly wardsSeen = new Set<string>();
  readonly partitionMaxTs = new Map<number, number>();
  total = 0;
  private readonly start: number;
  private readonly end: number;
  private readonly keep: ((wardId: string, patientId: string) => boolean) | null;

  constructor(args: Pick<ReplayArgs, 'from' | 'to' | 'warmupMs' | 'wards' | 'patients'>) {
    this.start = args.from - args.warmupMs;
    this.end = args.to;
    this.keep = scopeOf(args);
  }

  add(partition: number, r: VitalsReading): void {
    if (r.ts < this.start || r.ts >= this.end) return;
    this.wardsSeen.add(r.wardId);
    this.partitionMaxTs.set(partition, Math.max(this.partitionMaxTs.get(partition) ?? 0, r.ts));
    if (this.keep && !this.keep(r.wardId, r.patientId)) return;
    const l = this.byPatient.get(r.patientId);
    if (l) l.push(r);
    else this.byPatient.set(r.patientId, [r]);
    this.total++;
  }

  /** Patients in id order, each one's readings sorted by (ts, seq, device) (in place). */
  *patients(): Generator<VitalsReading[]> {
    for (const id of [...this.byPatient.keys()].sort()) yield this.byPatient.get(id)!.sort(byTsSeq);
  }
}

/** Reads `vitals` in [from − warmup, to) of the given partitions (all when undefined). */
export async function readKafkaVitals(
  kafka: Kafka,
  topics: Topics,
  codec: Codec,
  args: ReplayArgs,
  scope: ReadonlySet<number> | undefined,
  log: Logger,
): Promise<PatientReadings> {
  const out = new PatientReadings(args);
  await readRange(kafka, topics.vitals, { fromTs: args.from - args.warmupMs, toTs: args.to + LATE_SLACK_MS, partitions: scope }, (p, msgs) => {
    for (const m of msgs) {
      if (!m.value) continue;
      let r: VitalsReading;
      try {
        r = codec.decode('vitals', m.value);
      } catch (err) {
        log.warn('undecodable vitals record skipped by replay', { err: err as Error, partition: p });
        continue;
      }
      out.add(p, r);
    }
  });
  return out;
}

/** Actions and the live alerts of the period (small: read in full by the coordinating thread). */
async function kafkaActionsAndAlerts(kafka: Kafka, topics: Topics, codec: Codec, args: ReplayArgs, scope: ReadonlySet<number> | undefined, log: Logger) {
  const start = args.from - args.warmupMs;
  const filter = scopeOf(args);
  const keep = (wardId: string, patientId: string) => !filter || filter(wardId, patientId);
  const actions = new Map<string, AlertAction[]>();
  await readRange(kafka, topics.alertActions, { fromTs: 0, partitions: scope }, (_p, msgs) => {
    for (const m of msgs) {
      if (!m.value) continue;
      try {
        const a = codec.decode('action', m.value);
        if (a.ts < start || a.ts >= args.to || !keep(a.wardId, a.patientId)) continue;
        addAction(actions, a);
      } catch (err) {
        log.warn('undecodable alert action skipped by replay', { err: err as Error });
      }
    }
  });
  for (const l of actions.values()) l.sort((x, y) => x.ts - y.ts || (x.actionId < y.actionId ? -1 : 1));
  const current: AlertEvent[] = [];
  await readRange(kafka, topics.alerts, { fromTs: args.from, toTs: args.to + LATE_SLACK_MS, partitions: scope }, (_p, msgs) => {
    for (const m of msgs) {
      if (!m.value) continue;
      try {
        const e = codec.decode('alert', m.value);
        if (e.eventTs >= args.from && e.eventTs < args.to && keep(e.wardId, e.patientId)) current.push(e);
      } catch (err) {
        log.warn('undecodable alert skipped by replay', { err: err as Error });
      }
    }
  });
  // The live processors may have emitted an event more than once (at-least-once): de-duplicate on eventId.
  return { actions, current: [...new Map(current.map((e) => [e.eventId, e])).values()] };
}

/** Where worker threads connect (their own client and codec). */
export interface KafkaWorkersAccess {
  readonly brokers: readonly string[];
  readonly topicPrefix: string;
  readonly schemaRegistryUrl: string | null;
}

/**
 * Opens the Kafka source. `workers` set: the readings are left to worker threads, a share of the
 * partitions each; otherwise they are read here, in full, before the first patient is replayed.
 */
export async function kafkaSource(
  kafka: Kafka,
  topics: Topics,
  codec: Codec,
  args: ReplayArgs,
  partitions: number,
  log: Logger,
  workers: KafkaWorkersAccess | null,
): Promise<Source> {
  const scope = args.wards.length ? new Set(args.wards.map((w) => partitionForWard(w, partitions))) : undefined;
  const { actions, current } = await kafkaActionsAndAlerts(kafka, topics, codec, args, scope, log);
  if (workers) {
    // The progress total is the number of records in the offset ranges (an upper bound); the
    // wards seen are known only once the workers have read.
    const admin = kafka.admin();
    await admin.connect();
    let total = 0;
    try {
      const a = await whenReady(() => admin.fetchTopicOffsetsByTimestamp(topics.vitals, args.from - args.warmupMs));
      const b = await whenReady(() => admin.fetchTopicOffsetsByTimestamp(topics.vitals, args.to + LATE_SLACK_MS));
      for (const x of a)
        if (!scope || scope.has(x.partition)) total += Math.max(0, Number(b.find((y) => y.partition === x.partition)!.offset) - Number(x.offset));
    } finally {
      await admin.disconnect();
    }
    const all = [...(scope ?? Array.from({ length: partitions }, (_, i) => i))];
    return {
      readers: 'workers',
      meta: Promise.resolve({ total, wardsSeen: null, partitionMaxTs: new Map<number, number>(), current }),
      actions,
      shards: (n) => Array.from({ length: n }, (_, i) => ({ source: 'kafka', ...workers, args, partitions: shareOf(all, n, i) })),
      async readingsOf(ids) {
        const want = new Set(ids);
        const v = await readKafkaVitals(kafka, topics, codec, { ...args, patients: ids }, scope, log);
        return new Map([...v.byPatient].filter(([id]) => want.has(id)).map(([id, rs]) => [id, rs.sort(byTsSeq)]));
      },
      close: async () => {},
    };
  }
  const v = await readKafkaVitals(kafka, topics, codec, args, scope, log);
  return {
    readers: 'this-thread',
    meta: Promise.resolve({ total: v.total, wardsSeen: v.wardsSeen, partitionMaxTs: v.partitionMaxTs, current }),
    actions,
    async *patients() {
      yield* v.patients();
    },
    async readingsOf(ids) {
      return new Map(ids.map((id) => [id, v.byPatient.get(id) ?? []]));
    },
    close: async () => {},
  };
}

/** A worker's share: its partitions, read in full with a client of its own, then handed out per patient. */
export async function openKafkaShard(spec: Extract<ShardSpec, { source: 'kafka' }>, index: number, log: Logger): Promise<Shard> {
  if (!spec.partitions.length) return { patients: async function* () {}, partitionMaxTs: new Map(), wardsSeen: new Set(), close: async () => {} };
  const kafka = createKafka(spec.brokers, `wardstream-replay-${index}`);
  const codec = await createCodec(spec.schemaRegistryUrl ?? undefined);
  const v = await readKafkaVitals(kafka, topicNames(spec.topicPrefix), codec, spec.args, new Set(spec.partitions), log);
  return {
    patients: async function* () {
      yield* v.patients();
    },
    partitionMaxTs: v.partitionMaxTs,
    wardsSeen: v.wardsSeen,
    close: async () => {},
  };
}
