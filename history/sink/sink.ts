/**
 * The history sink: a consumer group that writes `vitals`, `alerts` and `alert-actions` into
 * PostgreSQL, and every alert transition and clinician action into the pseudonymized,
 * append-only `audit_log`.
 *
 *   batch.ts        Kafka batch → records, column arrays, audit rows, idempotency keys (pure)
 *   store.ts        the transactions (vitals: binary COPY through a staging table)
 *   partitions.ts   daily `vitals` partitions: on demand, ahead, and retention
 *   failures.ts     what a failed write means: retriable or not (pure)
 *   retry.ts        retry, then split a failing batch to isolate the refused records (pure)
 *   dead-letter.ts  refused records → `history.dlq`
 *
 * Delivery (at-least-once in, exactly-once rows):
 *   for each consumed batch of one partition:
 *     1. decode, then write all its rows in one transaction (ON CONFLICT DO NOTHING on the keys)
 *     2. COMMIT, and only then commit the batch's Kafka offset
 *   A crash between 1/2 and the offset commit redelivers the batch; the primary keys
 *   (vitals: patient, ts, device, seq; alerts: eventId; actions: actionId; audit: source id)
 *   turn the redelivered rows into no-ops, so no row is ever written twice or lost.
 * Failures (retry.ts): a lost connection or an unavailable server is waited out, however long;
 * a batch the database refuses `retry.attempts` times (default 5, with backoff) is split, the
 * records it refuses on their own are dead-lettered (acks=all, before the offset commit), and
 * the rest is written: one bad record no longer stops its partition.
 */
import type { Kafka, KafkaMessage } from 'kafkajs';
import type pg from 'pg';
import type { Config } from '../../common/config.ts';
import { createProducer } from '../../common/kafka.ts';
import type { Logger } from '../../common/log.ts';
import type { prom } from '../../common/metrics.ts';
import type { Codec } from '../../schemas/codec.ts';
import type { AlertAction, AlertEvent, VitalsReading } from '../../schemas/records.ts';
import type { Topics } from '../../schemas/topics.ts';
import type { AuditKey } from '../pseudonym.ts';
import { type Decoded, daysOf, decodeBatch, type SinkKind } from './batch.ts';
import { deadLetterOf, sendDeadLetters } from './dead-letter.ts';
import { sqlStateOf } from './failures.ts';
import { sinkMetrics } from './metrics.ts';
import { PartitionDays } from './partitions.ts';
import { DEFAULT_RETRY, type Refused, type RetryPolicy, storeOrIsolate } from './retry.ts';
import { copyVitals, writeEvents } from './store.ts';

export interface Sink {
  healthy(): boolean;
  /** Creates partitions ahead and drops expired ones (also run hourly). */
  maintain(now?: number): Promise<{ dropped: string[] }>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const MAINTENANCE_MS = 3_600_000;

export async function startSink(o: {
  config: Config;
  kafka: Kafka;
  codec: Codec;
  topics: Topics;
  log: Logger;
  pool: pg.Pool;
  auditKey: AuditKey;
  registry?: prom.Registry;
  groupId?: string;
  /** When a refused batch is split and its refused records dead-lettered (default DEFAULT_RETRY: 5 attempts, 100 ms doubling to 5 s). */
  retry?: Partial<RetryPolicy>;
}): Promise<Sink> {
  const { config, topics, codec, log, pool, auditKey } = o;
  const metrics = o.registry ? sinkMetrics(o.registry) : null;
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...o.retry };
  const partitions = new PartitionDays(pool);
  const maintain = async (now = Date.now()) => {
    const dropped = await partitions.maintain(now, config.partitionsAheadDays, config.vitalsRetentionDays);
    if (dropped.length) log.info('expired vitals partitions dropped', { partitions: dropped.join(',') });
    return { dropped };
  };
  await maintain();
  const timer = setInterval(
    () => void maintain().catch((err: unknown) => log.warn('partition maintenance failed; retrying in an hour', { err: err as Error })),
    MAINTENANCE_MS,
  );
  timer.unref();

  const producer = createProducer(o.kafka);
  await producer.connect();
  const consumer = o.kafka.consumer({
    groupId: o.groupId ?? `${config.kafkaTopicPrefix}wardstream-sink`,
    maxBytesPerPartition: 8 << 20,
    maxWaitTimeInMs: 100,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.vitals, topics.alerts, topics.alertActions], fromBeginning: true });
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined = true;
  });
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) joined = false;
    log.warn('sink consumer error', { err: e.payload.error, restart: e.payload.restart });
  });

  const kindOf = (topic: string): SinkKind => (topic === topics.vitals ? 'vitals' : topic === topics.alerts ? 'alert' : 'action');
  const part = <T>(xs: T[], lo: number, hi: number) => (lo === 0 && hi === xs.length ? xs : xs.slice(lo, hi));

  /** Records [lo, hi) of a decoded batch in one transaction, on a connection of their own (dropped if the write fails). */
  const write = async (d: Decoded<SinkKind>, lo: number, hi: number) => {
    const client = await pool.connect();
    let days: Set<number> | null = null;
    let failure: Error | null = null;
    // A checked-out connection that dies between queries reports it as an 'error' event (which
    // would crash the process unheard); the next query on it fails, and the write with it.
    const lost = (e: Error) => {
      failure ??= e;
    };
    client.on('error', lost);
    try {
      if (d.kind === 'vitals') {
        const rows = part(d.records as VitalsReading[], lo, hi);
        days = daysOf(rows);
        await partitions.ensure(days);
        await copyVitals(client, rows);
      } else {
        const events = part(d.records as (AlertEvent | AlertAction)[], lo, hi);
        await writeEvents(client, auditKey, d.kind === 'alert' ? (events as AlertEvent[]) : [], d.kind === 'action' ? (events as AlertAction[]) : []);
      }
    } catch (e) {
      failure = e as Error;
      if (days) partitions.forget(days);
      throw e;
    } finally {
      client.off('error', lost);
      client.release(failure ?? undefined);
    }
  };

  const deadLetter = async (batch: { topic: string; partition: number; messages: KafkaMessage[] }, d: Decoded<SinkKind>, refused: readonly Refused[]) => {
    const now = Date.now();
    const letters = refused.map(({ index, error }) => {
      const m = batch.messages[d.at[index]!]!;
      log.error('record refused by the database, sent to the dead-letter topic', {
        code: error.code,
        sqlState: sqlStateOf(error),
        topic: batch.topic,
        partition: batch.partition,
        offset: m.offset,
      });
      metrics?.deadLetters.inc({ reason: error.code });
      return {
        key: m.key,
        letter: deadLetterOf(d.kind, d.records[index]!, { topic: batch.topic, partition: batch.partition, offset: m.offset, value: m.value! }, error, now),
      };
    });
    await sendDeadLetters(producer, codec, topics.historyDlq, letters);
  };

  const countRows = (kind: SinkKind, stored: number) => {
    if (kind === 'vitals') {
      metrics?.rows.inc({ table: 'vitals' }, stored);
      return;
    }
    metrics?.rows.inc({ table: 'alert_events' }, kind === 'alert' ? stored : 0);
    metrics?.rows.inc({ table: 'alert_actions' }, kind === 'action' ? stored : 0);
  };

  await consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch, heartbeat, isRunning, isStale }) => {
      if (!isRunning() || isStale() || batch.messages.length === 0) return;
      const t0 = performance.now();
      const last = batch.messages.at(-1)!;
      const d = decodeBatch(
        codec,
        kindOf(batch.topic),
        batch.messages.map((m) => m.value),
        (_i, err) => {
          metrics?.undecodable.inc({ topic: batch.topic });
          log.error('undecodable record skipped by the sink', { err, topic: batch.topic });
        },
      );
      if (d.records.length) {
        const refused = await storeOrIsolate(
          d.records.length,
          {
            write: (lo, hi) => write(d, lo, hi),
            // Waiting keeps the group session alive; a revoked partition or a stopping sink abandons the batch uncommitted.
            pause: async (ms) => {
              await sleep(ms);
              if (!isRunning() || isStale()) return false;
              await heartbeat();
              return true;
            },
            failed: (err, w) => {
              metrics?.failures.inc({ code: err.code });
              const where = {
                code: err.code,
                sqlState: sqlStateOf(err),
                topic: batch.topic,
                partition: batch.partition,
                records: w.hi - w.lo,
                attempt: w.attempt ?? undefined,
              };
              log.warn(err.retriable ? 'sink write failed; retrying' : 'sink batch refused by the database', { ...where, err });
            },
          },
          policy,
        );
        if (refused === null) return; // abandoned: nothing committed, the batch is delivered again
        if (refused.length) await deadLetter(batch, d, refused);
        countRows(d.kind, d.records.length - refused.length);
      }
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }]);
      metrics?.batchSeconds.observe((performance.now() - t0) / 1000);
      metrics?.lag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(last.offset) - 1n)));
      await heartbeat();
    },
  });

  return {
    healthy: () => joined,
    maintain,
    async close() {
      clearInterval(timer);
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}
