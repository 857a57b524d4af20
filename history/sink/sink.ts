/**
 * The history sink: a consumer group that writes `vitals`, `alerts` and `alert-actions` into
 * PostgreSQL, and every alert transition and clinician action into the pseudonymized,
 * append-only `audit_log`.
 *
 * Delivery (at-least-once in, exactly-once rows):
 *   for each consumed batch of one partition:
 *     1. decode, then write all its rows in one transaction (vitals: binary COPY into a staging
 *        table, then INSERT … SELECT … ON CONFLICT DO NOTHING; alerts, actions and audit:
 *        INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING; a few round trips per batch
 *        whatever its size)
 *     2. COMMIT, and only then commit the batch's Kafka offset
 *   A crash between 1/2 and the offset commit redelivers the batch; the primary keys
 *   (vitals: patient, ts, device, seq; alerts: eventId; actions: actionId; audit: source id)
 *   turn the redelivered rows into no-ops, so no row is ever written twice or lost.
 *
 * Partitions: the days a batch touches are created on demand (cached), days ahead every
 * maintenance round, and expired days dropped (history/partitions.ts).
 */
import type { Kafka } from 'kafkajs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Config } from '../../common/config.ts';
import type { Logger } from '../../common/log.ts';
import { LATENCY_BUCKETS, prom } from '../../common/metrics.ts';
import type { Codec } from '../../schemas/codec.ts';
import type { AlertAction, AlertEvent, VitalsReading } from '../../schemas/records.ts';
import type { Topics } from '../../schemas/topics.ts';
import { encodeVitalsCopy, VITALS_COPY_COLUMNS } from '../copy-binary.ts';
import { dayStart, daysBetween, dropExpired, ensurePartitions } from './partitions.ts';
import { pseudonym, type AuditKey } from '../pseudonym.ts';

export interface Sink {
  healthy(): boolean;
  /** Creates partitions ahead and drops expired ones (also run hourly). */
  maintain(now?: number): Promise<{ dropped: string[] }>;
  close(): Promise<void>;
}

const ALERTS_SQL = `INSERT INTO alert_events (event_id, alert_id, patient_id, ward_id, bed, rule, priority, phase, state, parameter, value, threshold, onset_ts, event_ts, message, rule_version, correlation_id, details, notify, actor, actor_role, grouped_with, silenced_until)
SELECT e, a, p, w, b, r, pr, ph, st, pa, v, th, to_timestamp(o / 1000.0), to_timestamp(t / 1000.0), m, rv, ci, dt::jsonb, string_to_array(n, ','), ac, ar, g, to_timestamp(su / 1000.0)
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::float8[], $12::float8[], $13::bigint[], $14::bigint[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[], $21::text[], $22::text[], $23::bigint[])
  AS u(e, a, p, w, b, r, pr, ph, st, pa, v, th, o, t, m, rv, ci, dt, n, ac, ar, g, su)
ON CONFLICT DO NOTHING`;

const ACTIONS_SQL = `INSERT INTO alert_actions (action_id, alert_id, patient_id, ward_id, action, duration_ms, user_id, role, ts)
SELECT i, a, p, w, ac, d, u, r, to_timestamp(t / 1000.0)
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[], $9::bigint[]) AS x(i, a, p, w, ac, d, u, r, t)
ON CONFLICT DO NOTHING`;

const AUDIT_SQL = `INSERT INTO audit_log (source_id, kind, at, ward_id, patient_pseudonym, key_id, alert_id, rule, priority, phase, action, actor, actor_role, notify, rule_version)
SELECT s, k, to_timestamp(t / 1000.0), w, ps, kid, a, r, pr, ph, ac, act, ar, string_to_array(n, ','), rv
FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[])
  AS x(s, k, t, w, ps, kid, a, r, pr, ph, ac, act, ar, n, rv)
ON CONFLICT (source_id) DO NOTHING`;

function alertColumns(rows: readonly AlertEvent[]): unknown[] {
  return [
    rows.map((e) => e.eventId), rows.map((e) => e.alertId), rows.map((e) => e.patientId), rows.map((e) => e.wardId), rows.map((e) => e.bed),
    rows.map((e) => e.rule), rows.map((e) => e.priority), rows.map((e) => e.phase), rows.map((e) => e.state), rows.map((e) => e.parameter),
    rows.map((e) => e.value), rows.map((e) => e.threshold), rows.map((e) => e.onsetTs), rows.map((e) => e.eventTs), rows.map((e) => e.message),
    rows.map((e) => e.ruleVersion), rows.map((e) => e.correlationId), rows.map((e) => (e.details ? JSON.stringify(e.details) : null)),
    rows.map((e) => e.notify.join(',')), rows.map((e) => e.actor), rows.map((e) => e.actorRole), rows.map((e) => e.groupedWith), rows.map((e) => e.silencedUntil),
  ];
}

function actionColumns(rows: readonly AlertAction[]): unknown[] {
  return [rows.map((a) => a.actionId), rows.map((a) => a.alertId), rows.map((a) => a.patientId), rows.map((a) => a.wardId), rows.map((a) => a.action),
    rows.map((a) => a.durationMs), rows.map((a) => a.user), rows.map((a) => a.role), rows.map((a) => a.ts)];
}

/** Audit rows: the patient appears only as its pseudonym. */
export function auditColumns(key: AuditKey, alerts: readonly AlertEvent[], actions: readonly AlertAction[]): unknown[] {
  const rows = [
    ...alerts.map((e) => [e.eventId, 'alert-transition', e.eventTs, e.wardId, pseudonym(key, e.patientId), key.id, e.alertId, e.rule, e.priority, e.phase, null, e.actor, e.actorRole, e.notify.join(','), e.ruleVersion]),
    ...actions.map((a) => [a.actionId, 'clinician-action', a.ts, a.wardId, pseudonym(key, a.patientId), key.id, a.alertId, null, null, null, a.action, a.user, a.role, null, null]),
  ];
  return Array.from({ length: 15 }, (_, c) => rows.map((r) => r[c]));
}

/**
 * Vitals in bulk: binary COPY into a per-connection temporary staging table, then one
 * INSERT … SELECT … ON CONFLICT DO NOTHING (COPY itself cannot skip rows that exist, which a
 * redelivered batch has). Exported for its tests. Binary COPY spares both sides the text arrays of an unnest insert:
 * the driver escaping 16 arrays per batch and PostgreSQL parsing them back.
 */
const staged = new WeakSet<pg.PoolClient>();
export async function copyVitals(client: pg.PoolClient, rows: readonly VitalsReading[]): Promise<void> {
  // Created outside the batch's transaction: created inside, a rolled-back batch would take the
  // table with it while this connection is remembered as having one.
  if (!staged.has(client)) {
    await client.query('CREATE TEMP TABLE IF NOT EXISTS vitals_stage (LIKE vitals) ON COMMIT DELETE ROWS');
    staged.add(client);
  }
  await client.query('BEGIN');
  try {
    const copy = client.query(copyFrom(`COPY vitals_stage (${VITALS_COPY_COLUMNS}) FROM STDIN (FORMAT binary)`));
    await pipeline(Readable.from([encodeVitalsCopy(rows)]), copy);
    await client.query(`INSERT INTO vitals (${VITALS_COPY_COLUMNS}) SELECT ${VITALS_COPY_COLUMNS} FROM vitals_stage ON CONFLICT DO NOTHING`);
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

export function sinkMetrics(registry: prom.Registry) {
  const registers = [registry];
  return {
    rows: new prom.Counter({ name: 'wardstream_sink_records_total', help: 'Records consumed by the history sink, by table (rows already present count too: inserts are idempotent)', labelNames: ['table'], registers }),
    undecodable: new prom.Counter({ name: 'wardstream_sink_undecodable_total', help: 'Records the sink could not decode (logged, skipped)', labelNames: ['topic'], registers }),
    batchSeconds: new prom.Histogram({ name: 'wardstream_sink_batch_seconds', help: 'Decode plus database transaction plus offset commit of one batch', buckets: LATENCY_BUCKETS, registers }),
    lag: new prom.Gauge({ name: 'wardstream_sink_consumer_lag', help: 'High watermark minus the next offset, per topic and partition', labelNames: ['topic', 'partition'], registers }),
  };
}

export async function startSink(o: {
  config: Config; kafka: Kafka; codec: Codec; topics: Topics; log: Logger; pool: pg.Pool; auditKey: AuditKey;
  registry?: prom.Registry; groupId?: string;
}): Promise<Sink> {
  const { config, topics, codec, log, pool, auditKey } = o;
  const metrics = o.registry ? sinkMetrics(o.registry) : null;
  const knownDays = new Set<number>();
  const maintain = async (now = Date.now()) => {
    const days = daysBetween(now, now + config.partitionsAheadDays * 86_400_000);
    await ensurePartitions(pool, days);
    days.forEach((d) => knownDays.add(d));
    const dropped = await dropExpired(pool, now, config.vitalsRetentionDays);
    if (dropped.length) log.info('expired vitals partitions dropped', { partitions: dropped.join(',') });
    if (dropped.length) { knownDays.clear(); days.forEach((d) => knownDays.add(d)); }
    return { dropped };
  };
  await maintain();
  const timer = setInterval(() => void maintain().catch((err: unknown) => log.warn('partition maintenance failed; retrying in an hour', { err: err as Error })), 3_600_000);
  timer.unref();

  const consumer = o.kafka.consumer({ groupId: o.groupId ?? `${config.kafkaTopicPrefix}wardstream-sink`, maxBytesPerPartition: 8 << 20, maxWaitTimeInMs: 100, sessionTimeout: 10_000, heartbeatInterval: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.vitals, topics.alerts, topics.alertActions], fromBeginning: true });
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => { joined = true; });
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) joined = false;
    log.warn('sink consumer error', { err: e.payload.error, restart: e.payload.restart });
  });

  const decodeAll = <K extends 'vitals' | 'alert' | 'action'>(kind: K, topic: string, values: (Buffer | null)[]) => {
    const out = [];
    for (const v of values) {
      if (!v) continue;
      try { out.push(codec.decode(kind, v)); } catch (err) { metrics?.undecodable.inc({ topic }); log.error('undecodable record skipped by the sink', { err: err as Error, topic }); }
    }
    return out;
  };

  const write = async (topic: string, values: (Buffer | null)[]) => {
    const client = await pool.connect();
    try {
      if (topic === topics.vitals) {
        const rows = decodeAll('vitals', topic, values);
        if (rows.length === 0) return;
        const days = new Set<number>();
        for (const r of rows) { const d = dayStart(r.ts); if (!knownDays.has(d)) days.add(d); }
        if (days.size) { await ensurePartitions(pool, [...days]); days.forEach((d) => knownDays.add(d)); }
        await copyVitals(client, rows);
        metrics?.rows.inc({ table: 'vitals' }, rows.length);
      } else {
        const alerts = topic === topics.alerts ? decodeAll('alert', topic, values) : [];
        const actions = topic === topics.alertActions ? decodeAll('action', topic, values) : [];
        if (alerts.length + actions.length === 0) return;
        await client.query('BEGIN');
        try {
          if (alerts.length) await client.query(ALERTS_SQL, alertColumns(alerts));
          if (actions.length) await client.query(ACTIONS_SQL, actionColumns(actions));
          await client.query(AUDIT_SQL, auditColumns(auditKey, alerts, actions));
          await client.query('COMMIT');
        } catch (e) { await client.query('ROLLBACK').catch(() => {}); throw e; }
        metrics?.rows.inc({ table: 'alert_events' }, alerts.length);
        metrics?.rows.inc({ table: 'alert_actions' }, actions.length);
      }
    } finally { client.release(); }
  };

  await consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch, heartbeat, isRunning, isStale }) => {
      if (!isRunning() || isStale() || batch.messages.length === 0) return;
      const t0 = performance.now();
      const last = batch.messages.at(-1)!;
      // A failed write throws: kafkajs retries the batch from the same offset (nothing committed).
      await write(batch.topic, batch.messages.map((m) => m.value));
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }]);
      metrics?.batchSeconds.observe((performance.now() - t0) / 1000);
      metrics?.lag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(last.offset) - 1n)));
      await heartbeat();
    },
  });

  return {
    healthy: () => joined,
    maintain,
    async close() { clearInterval(timer); await consumer.disconnect(); },
  };
}
