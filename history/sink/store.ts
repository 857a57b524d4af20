/**
 * The sink's writes to PostgreSQL, one transaction per call; every statement is idempotent on
 * the rows' keys (history/sink/batch.ts), so writing the same records again changes nothing.
 *   vitals   binary COPY into a per-connection temporary staging table, then one
 *            INSERT … SELECT … ON CONFLICT DO NOTHING (COPY itself cannot skip rows that exist)
 *   events   alerts, actions and their audit rows: INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING
 * A few round trips per batch whatever its size.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { AlertAction, AlertEvent, VitalsReading } from '../../schemas/records.ts';
import { encodeVitalsCopy, VITALS_COPY_COLUMNS } from '../copy-binary.ts';
import type { AuditKey } from '../pseudonym.ts';
import { actionColumns, alertColumns, auditColumns } from './batch.ts';

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

/** Alert events, clinician actions and their audit rows in one transaction. */
export async function writeEvents(client: pg.PoolClient, key: AuditKey, alerts: readonly AlertEvent[], actions: readonly AlertAction[]): Promise<void> {
  await client.query('BEGIN');
  try {
    if (alerts.length) await client.query(ALERTS_SQL, alertColumns(alerts));
    if (actions.length) await client.query(ACTIONS_SQL, actionColumns(actions));
    await client.query(AUDIT_SQL, auditColumns(key, alerts, actions));
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
}
