/**
 * The WebSocket protocol (docs/protocol.md): JSON objects with a `type` field.
 * Pure parsing of client messages, so malformed input becomes an error message, not a crash.
 */

import type { ErrorCode } from '../common/errors.ts';
import { type AlertEvent, isId, type PatientStatus, type VitalsReading } from '../schemas/records.ts';

/** Where an event sits: its Kafka topic (`vitals` or `alerts`), partition and offset. */
export interface Position {
  readonly topic: 'vitals' | 'alerts';
  readonly partition: number;
  readonly offset: string;
}

/** The last event a client saw of each stream of a ward; sent back on resubscribe to resume. */
export interface ResumePoint {
  readonly partition: number;
  readonly vitals: string | null;
  readonly alerts: string | null;
}

export type ClientMessage =
  | { readonly type: 'subscribe'; readonly ward: string; readonly since?: ResumePoint }
  | { readonly type: 'unsubscribe'; readonly ward: string }
  | { readonly type: 'ack'; readonly alertId: string }
  | { readonly type: 'silence'; readonly alertId: string; readonly durationSec: number }
  | { readonly type: 'refresh'; readonly token: string }
  | { readonly type: 'ping' };

/** Snapshot of one patient, as the processors last published it (patient-status). */
export interface PatientSnapshot {
  readonly patientId: string;
  readonly bed: string | null;
  readonly updatedTs: number;
  /** Omitted for roles that may not see vitals. */
  readonly vitals?: PatientStatus['vitals'];
  readonly news2Total?: number | null;
  readonly news2Level?: string | null;
  readonly news2SubScores?: PatientStatus['news2SubScores'];
  readonly activeAlerts: PatientStatus['activeAlerts'];
}

export type ServerMessage =
  | { type: 'welcome'; user: string; role: string; wards: readonly string[]; expiresAt: number }
  | { type: 'subscribed'; ward: string; vitals: boolean; partition: number; resumed: boolean; resynced: boolean; head: { vitals: string; alerts: string } }
  | { type: 'snapshot'; ward: string; patients: readonly PatientSnapshot[]; resynced: boolean }
  | { type: 'action-accepted'; actionId: string; alertId: string; action: 'ack' | 'silence' }
  | { type: 'unsubscribed'; ward: string }
  | { type: 'vitals'; position: Position; reading: VitalsReading }
  | { type: 'alert'; position: Position; alert: AlertEvent & { id: string } }
  | { type: 'refreshed'; expiresAt: number; role: string; wards: readonly string[] }
  | { type: 'pong' }
  | { type: 'error'; code: ErrorCode; message: string };

/** Alert ids (the processors' deterministic ids): a narrower alphabet than ward and patient ids. */
const ALERT_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function parseClientMessage(raw: ArrayBuffer | string): { ok: true; msg: ClientMessage } | { ok: false; code: ErrorCode; message: string } {
  let j: unknown;
  try {
    j = JSON.parse(typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8'));
  } catch {
    return { ok: false, code: 'GATEWAY_ERR_BAD_REQUEST', message: 'message is not valid JSON' };
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) return { ok: false, code: 'GATEWAY_ERR_BAD_REQUEST', message: 'message must be a JSON object' };
  const m = j as Record<string, unknown>;
  switch (m.type) {
    case 'subscribe':
    case 'unsubscribe': {
      if (!isId(m.ward)) return { ok: false, code: 'GATEWAY_ERR_BAD_REQUEST', message: `${m.type} needs "ward": a ward id` };
      if (m.type === 'unsubscribe' || m.since === undefined) return { ok: true, msg: { type: m.type, ward: m.ward } };
      const since = m.since as Record<string, unknown> | null;
      const off = (v: unknown) => v === null || (typeof v === 'string' && /^(-1|\d{1,19})$/.test(v));
      if (typeof since !== 'object' || since === null || !Number.isInteger(since.partition) || !off(since.vitals ?? null) || !off(since.alerts ?? null)) {
        return { ok: false, code: 'GATEWAY_ERR_BAD_REQUEST', message: '"since" must be {"partition": n, "vitals": "offset"|null, "alerts": "offset"|null}' };
      }
      return {
        ok: true,
        msg: {
          type: 'subscribe',
          ward: m.ward,
          since: { partition: since.partition as number, vitals: (since.vitals as string | null) ?? null, alerts: (since.alerts as string | null) ?? null },
        },
      };
    }
    case 'ping':
      return { ok: true, msg: { type: 'ping' } };
    case 'refresh':
      if (typeof m.token !== 'string' || m.token.length < 10 || m.token.length > 8192)
        return { ok: false, code: 'GATEWAY_ERR_BAD_REQUEST', message: 'refresh needs "token": a JWT' };
      return { ok: true, msg: { type: 'refresh', token: m.token } };
    case 'ack':
    case 'silence': {
      if (typeof m.alertId !== 'string' || !ALERT_ID.test(m.alertId))
        return { ok: false, code: 'GATEWAY_ERR_BAD_REQUEST', message: `${m.type} needs "alertId"` };
      if (m.type === 'ack') return { ok: true, msg: { type: 'ack', alertId: m.alertId } };
      const d = m.durationSec;
      if (typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > 3600)
        return { ok: false, code: 'GATEWAY_ERR_BAD_REQUEST', message: 'silence needs "durationSec": 1 to 3600 (the rule file may cap it lower)' };
      return { ok: true, msg: { type: 'silence', alertId: m.alertId, durationSec: d } };
    }
    default:
      return { ok: false, code: 'GATEWAY_ERR_UNKNOWN_TYPE', message: `unknown message type ${JSON.stringify(String(m.type)).slice(0, 40)}` };
  }
}

export function vitalsTopic(ward: string): string {
  return `v/${ward}`;
}
export function alertsTopic(ward: string): string {
  return `a/${ward}`;
}
