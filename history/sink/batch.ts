/**
 * From a consumed Kafka batch to database rows (pure; unit-tested): decoding, the column
 * arrays of the multi-row inserts, the audit rows, and each row's idempotency key.
 *
 * Idempotency keys: the primary keys that make a redelivered record a no-op
 * (`ON CONFLICT DO NOTHING`), so the sink writes every row exactly once:
 *   vitals         (patient_id, ts, device_id, seq)
 *   alert_events   event_id
 *   alert_actions  action_id
 *   audit_log      source_id (the event or action id)
 */
import type { Codec, RecordOf } from '../../schemas/codec.ts';
import type { AlertAction, AlertEvent, VitalsReading } from '../../schemas/records.ts';
import { type AuditKey, pseudonym } from '../pseudonym.ts';
import { dayStart } from './partitions.ts';

export type SinkKind = 'vitals' | 'alert' | 'action';

/** A batch's decoded records; `at[i]` is the index of `records[i]` among the batch's messages. */
export interface Decoded<K extends SinkKind> {
  readonly kind: K;
  readonly records: RecordOf[K][];
  readonly at: number[];
}

/** Decodes the batch's values; null values (tombstones) are skipped, undecodable ones reported and skipped. */
export function decodeBatch<K extends SinkKind>(
  codec: Codec,
  kind: K,
  values: readonly (Buffer | null)[],
  undecodable: (index: number, err: Error) => void,
): Decoded<K> {
  const records: RecordOf[K][] = [];
  const at: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!v) continue;
    try {
      records.push(codec.decode(kind, v));
      at.push(i);
    } catch (err) {
      undecodable(i, err as Error);
    }
  }
  return { kind, records, at };
}

/** Records [lo, hi) of a decoded batch. */
export function sliceDecoded<K extends SinkKind>(d: Decoded<K>, lo: number, hi: number): Decoded<K> {
  return { kind: d.kind, records: d.records.slice(lo, hi), at: d.at.slice(lo, hi) };
}

/** The idempotency key of a record (the primary key of its row), as text. */
export function rowKey<K extends SinkKind>(kind: K, r: RecordOf[K]): string {
  if (kind === 'vitals') {
    const v = r as VitalsReading;
    return `${v.patientId}|${v.ts}|${v.deviceId}|${v.seq}`;
  }
  return kind === 'alert' ? (r as AlertEvent).eventId : (r as AlertAction).actionId;
}

/** The UTC days of these readings (their daily `vitals` partitions). */
export function daysOf(rows: readonly VitalsReading[]): Set<number> {
  const days = new Set<number>();
  for (const r of rows) days.add(dayStart(r.ts));
  return days;
}

/** Columns of `alert_events`, in the order of ALERTS_SQL's unnest parameters (history/sink/store.ts). */
export function alertColumns(rows: readonly AlertEvent[]): unknown[] {
  return [
    rows.map((e) => e.eventId),
    rows.map((e) => e.alertId),
    rows.map((e) => e.patientId),
    rows.map((e) => e.wardId),
    rows.map((e) => e.bed),
    rows.map((e) => e.rule),
    rows.map((e) => e.priority),
    rows.map((e) => e.phase),
    rows.map((e) => e.state),
    rows.map((e) => e.parameter),
    rows.map((e) => e.value),
    rows.map((e) => e.threshold),
    rows.map((e) => e.onsetTs),
    rows.map((e) => e.eventTs),
    rows.map((e) => e.message),
    rows.map((e) => e.ruleVersion),
    rows.map((e) => e.correlationId),
    rows.map((e) => (e.details ? JSON.stringify(e.details) : null)),
    rows.map((e) => e.notify.join(',')),
    rows.map((e) => e.actor),
    rows.map((e) => e.actorRole),
    rows.map((e) => e.groupedWith),
    rows.map((e) => e.silencedUntil),
  ];
}

/** Columns of `alert_actions`, in the order of ACTIONS_SQL's unnest parameters. */
export function actionColumns(rows: readonly AlertAction[]): unknown[] {
  return [
    rows.map((a) => a.actionId),
    rows.map((a) => a.alertId),
    rows.map((a) => a.patientId),
    rows.map((a) => a.wardId),
    rows.map((a) => a.action),
    rows.map((a) => a.durationMs),
    rows.map((a) => a.user),
    rows.map((a) => a.role),
    rows.map((a) => a.ts),
  ];
}

/** Audit rows (columns of AUDIT_SQL): every alert transition and action; the patient appears only as its pseudonym. */
export function auditColumns(key: AuditKey, alerts: readonly AlertEvent[], actions: readonly AlertAction[]): unknown[] {
  const rows = [
    ...alerts.map((e) => [
      e.eventId,
      'alert-transition',
      e.eventTs,
      e.wardId,
      pseudonym(key, e.patientId),
      key.id,
      e.alertId,
      e.rule,
      e.priority,
      e.phase,
      null,
      e.actor,
      e.actorRole,
      e.notify.join(','),
      e.ruleVersion,
    ]),
    ...actions.map((a) => [
      a.actionId,
      'clinician-action',
      a.ts,
      a.wardId,
      pseudonym(key, a.patientId),
      key.id,
      a.alertId,
      null,
      null,
      null,
      a.action,
      a.user,
      a.role,
      null,
      null,
    ]),
  ];
  return Array.from({ length: 15 }, (_, c) => rows.map((r) => r[c]));
}
