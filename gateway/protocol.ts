/**
 * The WebSocket protocol (docs/protocol.md): JSON objects with a `type` field.
 * Pure parsing of client messages, so malformed input becomes an error message, not a crash.
 */
import type { AlertEvent, VitalsReading } from '../schemas/records.ts';
import type { ErrorCode } from '../common/errors.ts';

export interface Position { readonly partition: number; readonly offset: string }

export type ClientMessage =
  | { readonly type: 'subscribe'; readonly ward: string }
  | { readonly type: 'unsubscribe'; readonly ward: string }
  | { readonly type: 'ping' };

export type ServerMessage =
  | { type: 'welcome'; user: string; role: string; wards: readonly string[]; expiresAt: number }
  | { type: 'subscribed'; ward: string; vitals: boolean }
  | { type: 'unsubscribed'; ward: string }
  | { type: 'vitals'; position: Position; reading: VitalsReading }
  | { type: 'alert'; position: Position; alert: AlertEvent & { id: string } }
  | { type: 'pong' }
  | { type: 'error'; code: ErrorCode; message: string };

const WARD = /^[A-Za-z0-9._:-]{1,64}$/;

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
    case 'unsubscribe':
      if (typeof m.ward !== 'string' || !WARD.test(m.ward)) return { ok: false, code: 'GATEWAY_ERR_BAD_REQUEST', message: `${m.type} needs "ward": a ward id` };
      return { ok: true, msg: { type: m.type, ward: m.ward } };
    case 'ping':
      return { ok: true, msg: { type: 'ping' } };
    default:
      return { ok: false, code: 'GATEWAY_ERR_UNKNOWN_TYPE', message: `unknown message type ${JSON.stringify(String(m.type)).slice(0, 40)}` };
  }
}

export function vitalsTopic(ward: string): string { return `v/${ward}`; }
export function alertsTopic(ward: string): string { return `a/${ward}`; }
