/**
 * The history sink on real Kafka and real PostgreSQL: every record becomes exactly one row
 * (redelivery of everything, and a SIGKILLed sink process restarted mid-stream); the audit
 * trail holds pseudonyms, never a raw patient id, and refuses updates; retention drops only
 * expired daily partitions.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../common/config.ts';
import { createProducer } from '../../common/kafka.ts';
import { createRegistry } from '../../common/metrics.ts';
import { registerAuditKey } from '../../history/db.ts';
import { parseAuditKey, pseudonym } from '../../history/pseudonym.ts';
import { patientVitals } from '../../history/queries.ts';
import { dayStart, dropExpired, ensurePartitions, listPartitions, partitionName } from '../../history/sink/partitions.ts';
import { startSink } from '../../history/sink/sink.ts';
import { copyVitals } from '../../history/sink/store.ts';
import type { Codec } from '../../schemas/codec.ts';
import type { AlertAction, AlertEvent, VitalsReading } from '../../schemas/records.ts';
import { partitionForWard, type Topics } from '../../schemas/topics.ts';
import { AUDIT_KEY_HEX, committed, consumeUntil, log, setupTopics, testConfig, testDatabase, waitUntil } from '../helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const KEY = parseAuditKey('k1', AUDIT_KEY_HEX);
const DAY = 86_400_000;

function readings(n: number, patients: number, t0: number, stepMs: number): VitalsReading[] {
  return Array.from({ length: n }, (_, i) => {
    const p = i % patients;
    const seq = Math.floor(i / patients) + 1;
    return {
      patientId: `MRN-${1000 + p}`,
      wardId: `hw${p % 3}`,
      bed: `b${p}`,
      deviceId: `hd${p}`,
      seq,
      ts: t0 + seq * stepMs,
      receivedAt: t0 + seq * stepMs + 5,
      heartRate: 70 + (i % 13),
      spo2: 97,
      respRate: p % 2 ? null : 16,
      systolicBp: 121,
      diastolicBp: 80,
      temperature: 36.6 + (i % 3) / 10,
      consciousness: p % 4 === 0 ? 'A' : null,
      onOxygen: p % 5 === 0 ? true : null,
      correlationId: `hc-${i}`,
    };
  });
}

function alertsOf(rs: readonly VitalsReading[]): { alerts: AlertEvent[]; actions: AlertAction[] } {
  const alerts: AlertEvent[] = rs
    .filter((_, i) => i % 97 === 0)
    .map((r, i) => ({
      eventId: `ev-${i}`,
      alertId: `al-${i}`,
      patientId: r.patientId,
      wardId: r.wardId,
      bed: r.bed,
      rule: 'hr-high',
      priority: 'high',
      phase: 'start',
      state: 'active',
      parameter: 'heartRate',
      value: 140,
      threshold: 130,
      onsetTs: r.ts - 10_000,
      eventTs: r.ts,
      message: `Tachycardia (patient ${r.patientId} must not leak)`,
      ruleVersion: 'v1@abc',
      correlationId: r.correlationId,
      details: { total: 3 },
      notify: ['nurse'],
      actor: null,
      actorRole: null,
      groupedWith: null,
      silencedUntil: null,
    }));
  const actions: AlertAction[] = alerts.slice(0, 10).map((a, i) => ({
    actionId: `act-${i}`,
    alertId: a.alertId,
    patientId: a.patientId,
    wardId: a.wardId,
    action: i % 2 ? 'silence' : 'ack',
    durationMs: i % 2 ? 120_000 : null,
    user: `nurse-${i}`,
    role: 'nurse',
    ts: a.eventTs + 1000,
  }));
  return { alerts, actions };
}

async function produce(
  kafka: Kafka,
  codec: Codec,
  topics: Topics,
  partitions: number,
  rs: readonly VitalsReading[],
  alerts: readonly AlertEvent[] = [],
  actions: readonly AlertAction[] = [],
) {
  const producer = createProducer(kafka);
  await producer.connect();
  for (let i = 0; i < rs.length; i += 2000) {
    await producer.send({
      topic: topics.vitals,
      acks: -1,
      messages: rs.slice(i, i + 2000).map((r) => ({ key: r.patientId, value: codec.encode('vitals', r), partition: partitionForWard(r.wardId, partitions) })),
    });
  }
  if (alerts.length)
    await producer.send({
      topic: topics.alerts,
      acks: -1,
      messages: alerts.map((e) => ({ key: e.patientId, value: codec.encode('alert', e), partition: partitionForWard(e.wardId, partitions) })),
    });
  if (actions.length)
    await producer.send({
      topic: topics.alertActions,
      acks: -1,
      messages: actions.map((a) => ({ key: a.patientId, value: codec.encode('action', a), partition: partitionForWard(a.wardId, partitions) })),
    });
  await producer.disconnect();
}

const count = async (pool: pg.Pool, sql: string) => Number((await pool.query<{ n: string }>(sql)).rows[0]!.n);

describe('history sink', () => {
  let config: Config;
  let db: Awaited<ReturnType<typeof testDatabase>>;
  let env: Awaited<ReturnType<typeof setupTopics>>;
  beforeAll(async () => {
    config = testConfig();
    env = await setupTopics(config);
    db = await testDatabase(config);
    await registerAuditKey(db.pool, KEY);
  });
  afterAll(async () => {
    await db.close();
  });

  it('writes every record once, even when the whole topic is delivered again; the audit trail has pseudonyms only', async () => {
    const now = Date.now();
    const rs = readings(6000, 30, now - 30 * 3600_000, 15_000); // spans two UTC days at least
    const { alerts, actions } = alertsOf(rs);
    await produce(env.kafka, env.codec, env.topics, config.kafkaPartitions, [...rs, ...rs.slice(0, 500)], alerts, [...actions, actions[0]!]);

    const registry = createRegistry('sink');
    const first = await startSink({ ...env, config, log, pool: db.pool, auditKey: KEY, registry, groupId: `${config.kafkaTopicPrefix}sink-a` });
    await waitUntil(
      async () =>
        (await count(db.pool, 'SELECT count(*) AS n FROM vitals')) === rs.length &&
        (await count(db.pool, 'SELECT count(*) AS n FROM audit_log')) === alerts.length + actions.length,
      60_000,
      'sink caught up',
    );
    await first.close();
    // The documented sink series count every record consumed, duplicates included (inserts are idempotent).
    const byTable = Object.fromEntries((await registry.getSingleMetric('wardstream_sink_records_total')!.get()).values.map((v) => [v.labels.table, v.value]));
    expect(byTable).toEqual({ vitals: rs.length + 500, alert_events: alerts.length, alert_actions: actions.length + 1 });
    // Redelivery of everything: a second group reads both topics from the beginning.
    const again = await startSink({ ...env, config, log, pool: db.pool, auditKey: KEY, groupId: `${config.kafkaTopicPrefix}sink-b` });
    await waitUntil(
      async () => (await committed(env.kafka, `${config.kafkaTopicPrefix}sink-b`, env.topics.vitals)) === rs.length + 500,
      60_000,
      'second sink read everything',
    );
    await again.close();

    expect(await count(db.pool, 'SELECT count(*) AS n FROM vitals')).toBe(rs.length);
    expect(await count(db.pool, 'SELECT count(*) AS n FROM alert_events')).toBe(alerts.length);
    expect(await count(db.pool, 'SELECT count(*) AS n FROM alert_actions')).toBe(actions.length);
    expect(await count(db.pool, 'SELECT count(*) AS n FROM audit_log')).toBe(alerts.length + actions.length);
    expect((await listPartitions(db.pool)).length).toBeGreaterThanOrEqual(2);

    // Values round-trip exactly (replay from PostgreSQL depends on it).
    const one = rs[1234]!;
    const row = (
      await db.pool.query(
        'SELECT extract(epoch FROM ts) * 1000 AS ts, temperature, consciousness, on_oxygen, resp_rate FROM vitals WHERE patient_id = $1 AND seq = $2',
        [one.patientId, one.seq],
      )
    ).rows[0];
    expect(Number(row.ts)).toBe(one.ts);
    expect(row).toMatchObject({ temperature: one.temperature, consciousness: one.consciousness, on_oxygen: one.onOxygen, resp_rate: one.respRate });

    // One patient's range as columns (the dashboard/analyst read path), nulls as NaN.
    const mine = rs.filter((r) => r.patientId === 'MRN-1002' && r.ts >= now - 26 * 3600_000 && r.ts < now - 20 * 3600_000);
    const got = await patientVitals(db.pool, 'MRN-1002', now - 26 * 3600_000, now - 20 * 3600_000);
    expect(got.count).toBe(mine.length);
    expect(Array.from(got.ts)).toEqual(mine.map((r) => r.ts));
    expect(Array.from(got.values.temperature)).toEqual(mine.map((r) => r.temperature));
    expect(Array.from(got.values.respRate)).toEqual(mine.map((r) => r.respRate ?? NaN));
    expect((await patientVitals(db.pool, "it's-nobody", now - DAY, now)).count).toBe(0);

    // No raw patient id anywhere in the audit trail, in any column.
    const dump = JSON.stringify((await db.pool.query('SELECT * FROM audit_log')).rows);
    for (const pid of new Set(rs.map((r) => r.patientId))) expect(dump).not.toContain(pid);
    const a0 = (await db.pool.query('SELECT patient_pseudonym, key_id FROM audit_log WHERE source_id = $1', [alerts[0]!.eventId])).rows[0];
    expect(a0).toEqual({ patient_pseudonym: pseudonym(KEY, alerts[0]!.patientId), key_id: 'k1' });
    // The same patient always has the same pseudonym; different patients differ.
    const per = await db.pool.query<{ n: string }>('SELECT count(DISTINCT patient_pseudonym) AS n FROM audit_log');
    expect(Number(per.rows[0]!.n)).toBe(new Set([...alerts.map((a) => a.patientId), ...actions.map((a) => a.patientId)]).size);
  });

  it('the audit trail is append-only, and a different key under a known key id is refused', async () => {
    // A row of its own, so that this test does not depend on the one before.
    await db.pool.query(
      "INSERT INTO audit_log (source_id, kind, at, ward_id, patient_pseudonym, key_id, alert_id) VALUES ('own-row', 'alert-transition', now(), 'w', 'p', 'k1', 'a') ON CONFLICT DO NOTHING",
    );
    await expect(db.pool.query("UPDATE audit_log SET actor = 'x'")).rejects.toThrow(/append-only/);
    await expect(db.pool.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
    await expect(db.pool.query('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
    await expect(registerAuditKey(db.pool, parseAuditKey('k1', 'b2'.repeat(32)))).rejects.toThrow(/does not match the key "k1"/);
    await registerAuditKey(db.pool, parseAuditKey('k2', 'b2'.repeat(32))); // rotation: a new id is fine
    // The database knows keys by fingerprint only, never the key itself.
    const keys = JSON.stringify((await db.pool.query('SELECT * FROM audit_keys')).rows);
    expect(keys).toContain('"key_id":"k2"');
    expect(keys).not.toContain(AUDIT_KEY_HEX);
    expect(keys).not.toContain('b2'.repeat(32));
  });

  it('a failed batch leaves its connection able to write the next one (the staging table outlives the rollback)', async () => {
    const day = Date.UTC(2031, 0, 5); // no partition yet: the first write fails inside its transaction
    const r: VitalsReading = {
      patientId: 'stage-p',
      wardId: 'w',
      bed: null,
      deviceId: 'stage-d',
      seq: 1,
      ts: day + 60_000,
      receivedAt: day + 60_003,
      heartRate: 72,
      spo2: 97,
      respRate: null,
      systolicBp: null,
      diastolicBp: null,
      temperature: null,
      consciousness: 'A',
      onOxygen: false,
      correlationId: 'stage-c',
    };
    const client = await db.pool.connect();
    try {
      await expect(copyVitals(client, [r])).rejects.toThrow(/partition/);
      await ensurePartitions(db.pool, [day]);
      await copyVitals(client, [r]); // same connection
      await copyVitals(client, [r]); // a redelivery: no second row
    } finally {
      client.release();
    }
    expect(await count(db.pool, "SELECT count(*) AS n FROM vitals WHERE patient_id = 'stage-p'")).toBe(1);
  });

  it('retention drops only daily partitions that fully expired', async () => {
    const now = Date.UTC(2026, 10, 26, 13, 0);
    const days = [-45, -31, -30, -29, -1, 0, 1].map((d) => dayStart(now) + d * DAY);
    await ensurePartitions(db.pool, days);
    for (const d of days) {
      await db.pool.query(
        `INSERT INTO vitals (patient_id, ts, device_id, seq, ward_id, received_at, correlation_id) VALUES ('r', to_timestamp($1 / 1000.0), 'd', 1, 'w', now(), 'c')`,
        [d + 3600_000],
      );
    }
    const dropped = await dropExpired(db.pool, now, 30);
    expect(dropped).toEqual([partitionName(days[0]!), partitionName(days[1]!)]);
    const left = await listPartitions(db.pool);
    for (const d of days.slice(2)) expect(left).toContain(partitionName(d));
    expect(await count(db.pool, "SELECT count(*) AS n FROM vitals WHERE patient_id = 'r'")).toBe(5);
  });
});

/** Topics and a database of the test's own, the audit key registered. */
async function ownSetup() {
  const config = testConfig();
  const env = await setupTopics(config);
  const db = await testDatabase(config);
  await registerAuditKey(db.pool, KEY);
  return { config, env, db };
}

/** Records in the dead-letter topic. */
async function deadLetterCount(env: Awaited<ReturnType<typeof setupTopics>>): Promise<number> {
  const admin = env.kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(env.topics.historyDlq)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

describe('history sink dead letters', () => {
  it('a reading the database refuses (its day cannot be partitioned: year 0000) goes to history.dlq with its reason; the rows after it are written and the offsets move on', async () => {
    const { config, env, db } = await ownSetup();
    const good = readings(600, 3, Date.now() - 3600_000, 1000);
    const bad: VitalsReading = { ...good[0]!, seq: 9999, ts: Date.parse('0000-01-01T00:00:00Z'), receivedAt: Date.now(), correlationId: 'bad-1' };
    const all = [...good.slice(0, 300), bad, ...good.slice(300)]; // produced straight to vitals, in the middle of its partition
    await produce(env.kafka, env.codec, env.topics, config.kafkaPartitions, all);

    const registry = createRegistry('sink-dlq');
    const groupId = `${config.kafkaTopicPrefix}sink-dlq`;
    const sink = await startSink({ ...env, config, log, pool: db.pool, auditKey: KEY, registry, groupId, retry: { attempts: 2, initialBackoffMs: 10 } });
    try {
      await waitUntil(async () => (await committed(env.kafka, groupId, env.topics.vitals)) === all.length, 60_000, 'sink committed every offset');
    } finally {
      await sink.close();
    }
    expect(await count(db.pool, 'SELECT count(*) AS n FROM vitals')).toBe(good.length);

    expect(await deadLetterCount(env)).toBe(1);
    const [dl] = await consumeUntil(
      env.kafka,
      env.topics.historyDlq,
      (v) => env.codec.decode('historyDeadLetter', v),
      (xs) => xs.length >= 1,
    );
    expect(dl).toMatchObject({
      reason: 'HISTORY_ERR_ROW_REFUSED',
      sqlState: '22008',
      topic: env.topics.vitals,
      partition: partitionForWard(bad.wardId, config.kafkaPartitions),
      rowKey: `${bad.patientId}|${bad.ts}|${bad.deviceId}|9999`,
      correlationId: 'bad-1',
    });
    expect(dl!.detail).toMatch(/date\/time field value out of range/);
    expect(env.codec.decode('vitals', dl!.payload)).toEqual(bad);
    const dead = (await registry.getSingleMetric('wardstream_sink_dead_letters_total')!.get()).values;
    expect(dead.map((v) => [v.labels.reason, v.value])).toEqual([['HISTORY_ERR_ROW_REFUSED', 1]]);
    await db.close();
  });
});

describe('history sink waiting for the database', () => {
  it('a missing table and lost connections are waited out, never dead-lettered: once the database is back every row is written', async () => {
    const { config, env, db } = await ownSetup();
    const pool = new pg.Pool({ connectionString: db.url, max: 4, application_name: 'sink-under-test' });
    pool.on('error', () => {}); // idle connections terminated below
    const registry = createRegistry('sink-wait');
    const groupId = `${config.kafkaTopicPrefix}sink-wait`;
    const sink = await startSink({
      ...env,
      config,
      log,
      pool,
      auditKey: KEY,
      registry,
      groupId,
      retry: { attempts: 2, initialBackoffMs: 10, maxBackoffMs: 200 },
    });
    const failures = async (code: string) =>
      (await registry.getSingleMetric('wardstream_sink_write_failures_total')!.get()).values.find((v) => v.labels.code === code)?.value ?? 0;
    try {
      await waitUntil(() => sink.healthy(), 30_000, 'sink joined');
      await db.pool.query('ALTER TABLE vitals RENAME TO vitals_away');
      const rs = readings(900, 3, Date.now() - 3600_000, 1000);
      await produce(env.kafka, env.codec, env.topics, config.kafkaPartitions, rs);
      await waitUntil(async () => (await failures('HISTORY_ERR_DB_SETUP')) >= 3, 60_000, 'writes failing on the missing table');
      await db.pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sink-under-test'");
      await db.pool.query('ALTER TABLE vitals_away RENAME TO vitals');
      await waitUntil(async () => (await committed(env.kafka, groupId, env.topics.vitals)) === rs.length, 60_000, 'sink committed every offset');
      expect(await count(db.pool, 'SELECT count(*) AS n FROM vitals')).toBe(rs.length);
    } finally {
      await sink.close();
      await pool.end();
    }
    expect(await deadLetterCount(env)).toBe(0);
    await db.close();
  });
});

describe('history sink process killed with SIGKILL mid-stream', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
  });

  it('after a restart every reading is in PostgreSQL exactly once', async () => {
    const config = testConfig({ kafkaPartitions: 4 });
    const env = await setupTopics(config);
    const db = await testDatabase(config);
    const spawnSink = () => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bin/wardstream.ts'), 'sink'], {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: {
          ...process.env,
          KAFKA_BROKERS: config.kafkaBrokers!.join(','),
          KAFKA_TOPIC_PREFIX: config.kafkaTopicPrefix,
          KAFKA_PARTITIONS: '4',
          DATABASE_URL: db.url,
          WARDSTREAM_AUDIT_KEY: AUDIT_KEY_HEX,
          LOG_LEVEL: 'warn',
        },
      });
      child.stderr!.on('data', () => {});
      children.push(child);
      return child;
    };
    const rs = readings(40_000, 50, Date.now() - 2 * 3600_000, 100);
    let sink = spawnSink();
    await produce(env.kafka, env.codec, env.topics, 4, rs.slice(0, 10_000));
    await waitUntil(async () => (await count(db.pool, 'SELECT count(*) AS n FROM vitals')) > 0, 60_000, 'first rows');
    const produced = produce(env.kafka, env.codec, env.topics, 4, rs.slice(10_000));
    await waitUntil(async () => (await count(db.pool, 'SELECT count(*) AS n FROM vitals')) > 12_000, 60_000, 'sink mid-stream');
    sink.kill('SIGKILL');
    await new Promise((r) => sink.once('exit', r));
    const atKill = await count(db.pool, 'SELECT count(*) AS n FROM vitals');
    await produced;
    sink = spawnSink();
    await waitUntil(async () => (await count(db.pool, 'SELECT count(*) AS n FROM vitals')) >= rs.length, 90_000, 'restarted sink caught up', 200);
    sink.kill('SIGTERM');
    expect(atKill).toBeLessThan(rs.length); // it really was killed mid-stream
    expect(await count(db.pool, 'SELECT count(*) AS n FROM vitals')).toBe(rs.length);
    // Every (device, seq) once: no gap, no duplicate.
    const gaps = await db.pool.query<{ device_id: string; n: string; lo: number; hi: number }>(
      'SELECT device_id, count(*) AS n, min(seq) AS lo, max(seq) AS hi FROM vitals GROUP BY device_id',
    );
    expect(gaps.rows.length).toBe(50);
    for (const g of gaps.rows) expect([Number(g.n), g.lo, g.hi]).toEqual([800, 1, 800]);
    await db.close();
  });
});
