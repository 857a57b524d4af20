/**
 * Device payload → VitalsReading, as a pure function (no I/O, no clock: `now` is passed in).
 * Every rejection carries a BRIDGE_ERR_* code that becomes the dead letter's reason.
 *
 * Accepted topics:  patients/{patientId}/vitals
 *                   wards/{wardId}/patients/{patientId}/vitals
 * Payload (JSON):   {"deviceId": "...", "seq": 42, "ts": <epoch ms | ISO-8601>,
 *                    "vitals": {"heartRate": 88, "spo2": 97, "respRate": 16,
 *                               "systolicBp": 120, "diastolicBp": 80, "temperature": 37.1},
 *                    "consciousness": "A"|"C"|"V"|"P"|"U", "onOxygen": true|false}
 */
import type { ErrorCode } from '../common/errors.ts';
import { type Acvpu, ID_PATTERN, UNASSIGNED_WARD, VITAL_NAMES, type VitalName, type VitalsReading } from '../schemas/records.ts';

/**
 * Physiological plausibility: values outside these closed ranges cannot come from a living
 * patient on a working sensor (or are a unit mistake) and are dead-lettered, not alarmed on.
 */
export const PLAUSIBLE: Readonly<Record<VitalName, readonly [number, number]>> = {
  heartRate: [0, 350],
  spo2: [0, 100],
  respRate: [0, 150],
  systolicBp: [0, 350],
  diastolicBp: [0, 300],
  temperature: [15, 46],
};

const ACVPU = new Set(['A', 'C', 'V', 'P', 'U']);

export interface Route {
  readonly patientId: string;
  readonly wardId: string | null;
}

export type ParseResult =
  | { readonly ok: true; readonly reading: VitalsReading }
  | { readonly ok: false; readonly reason: ErrorCode; readonly detail: string; readonly patientId: string | null };

/** Parses an MQTT topic; null when it is not a vitals topic. */
export function parseTopic(topic: string): Route | null {
  const p = topic.split('/');
  if (p.length === 3 && p[0] === 'patients' && p[2] === 'vitals' && ID_PATTERN.test(p[1]!)) return { patientId: p[1]!, wardId: null };
  if (p.length === 5 && p[0] === 'wards' && p[2] === 'patients' && p[4] === 'vitals' && ID_PATTERN.test(p[1]!) && ID_PATTERN.test(p[3]!)) {
    return { patientId: p[3]!, wardId: p[1]! };
  }
  return null;
}

export interface ParseContext {
  readonly now: number;
  readonly maxPayloadBytes: number;
  readonly maxFutureSkewMs: number;
  /** Latest assignment of a patient (from patient-assignments), used when the topic names no ward. */
  readonly lookupWard: (patientId: string) => { wardId: string; bed: string | null } | undefined;
  readonly correlationId: string;
}

const fail = (reason: ErrorCode, detail: string, patientId: string | null = null): ParseResult => ({ ok: false, reason, detail, patientId });

function parseTs(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return Math.trunc(v);
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v)) {
    const t = Date.parse(v);
    return Number.isFinite(t) ? t : null;
  }
  return null;
}

export function parseDeviceMessage(topic: string, payload: Buffer, ctx: ParseContext): ParseResult {
  const route = parseTopic(topic);
  if (!route) return fail('BRIDGE_ERR_BAD_TOPIC', `"${topic.slice(0, 200)}" is not patients/{id}/vitals or wards/{ward}/patients/{id}/vitals`);
  const pid = route.patientId;
  if (payload.length > ctx.maxPayloadBytes) return fail('BRIDGE_ERR_TOO_LARGE', `${payload.length} bytes > ${ctx.maxPayloadBytes}`, pid);
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch (e) {
    return fail('BRIDGE_ERR_NOT_JSON', (e as Error).message, pid);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return fail('BRIDGE_ERR_NOT_OBJECT', `got ${Array.isArray(body) ? 'array' : typeof body}`, pid);
  const b = body as Record<string, unknown>;

  for (const f of ['deviceId', 'seq', 'ts', 'vitals'] as const)
    if (b[f] === undefined || b[f] === null) return fail('BRIDGE_ERR_MISSING_FIELD', `"${f}" is required`, pid);
  if (typeof b.deviceId !== 'string' || !ID_PATTERN.test(b.deviceId))
    return fail('BRIDGE_ERR_BAD_FIELD', '"deviceId" must be 1-64 characters of [A-Za-z0-9._:-]', pid);
  if (typeof b.seq !== 'number' || !Number.isSafeInteger(b.seq) || b.seq < 0) return fail('BRIDGE_ERR_BAD_FIELD', '"seq" must be a non-negative integer', pid);
  const ts = parseTs(b.ts);
  if (ts === null) return fail('BRIDGE_ERR_BAD_FIELD', '"ts" must be epoch milliseconds or an ISO-8601 date-time', pid);
  if (ts - ctx.now > ctx.maxFutureSkewMs)
    return fail('BRIDGE_ERR_FUTURE_TS', `ts is ${Math.round((ts - ctx.now) / 1000)} s ahead of the bridge clock (limit ${ctx.maxFutureSkewMs / 1000} s)`, pid);
  if (typeof b.vitals !== 'object' || b.vitals === null || Array.isArray(b.vitals)) return fail('BRIDGE_ERR_BAD_FIELD', '"vitals" must be an object', pid);
  const v = b.vitals as Record<string, unknown>;
  const values: Partial<Record<VitalName, number>> = {};
  let count = 0;
  for (const name of VITAL_NAMES) {
    const x = v[name];
    if (x === undefined || x === null) continue;
    if (typeof x !== 'number' || !Number.isFinite(x)) return fail('BRIDGE_ERR_BAD_FIELD', `vitals.${name} must be a number`, pid);
    const [lo, hi] = PLAUSIBLE[name];
    if (x < lo || x > hi) return fail('BRIDGE_ERR_IMPLAUSIBLE', `vitals.${name}=${x} outside [${lo}, ${hi}]`, pid);
    values[name] = x;
    count++;
  }
  for (const k of Object.keys(v))
    if (!(VITAL_NAMES as readonly string[]).includes(k)) return fail('BRIDGE_ERR_BAD_FIELD', `unknown vital "${k.slice(0, 40)}"`, pid);
  let consciousness: Acvpu | null = null;
  if (b.consciousness !== undefined && b.consciousness !== null) {
    if (typeof b.consciousness !== 'string' || !ACVPU.has(b.consciousness))
      return fail('BRIDGE_ERR_BAD_FIELD', '"consciousness" must be one of A, C, V, P, U', pid);
    consciousness = b.consciousness as Acvpu;
    count++;
  }
  let onOxygen: boolean | null = null;
  if (b.onOxygen !== undefined && b.onOxygen !== null) {
    if (typeof b.onOxygen !== 'boolean') return fail('BRIDGE_ERR_BAD_FIELD', '"onOxygen" must be true or false', pid);
    onOxygen = b.onOxygen;
  }
  if (count === 0) return fail('BRIDGE_ERR_NO_VITALS', 'the reading carries no vital sign', pid);
  const assigned = ctx.lookupWard(pid);
  const wardId = route.wardId ?? assigned?.wardId ?? UNASSIGNED_WARD;
  const bed = assigned && assigned.wardId === wardId ? assigned.bed : null;
  return {
    ok: true,
    reading: {
      patientId: pid,
      wardId,
      bed,
      deviceId: b.deviceId,
      seq: b.seq,
      ts,
      receivedAt: ctx.now,
      heartRate: values.heartRate ?? null,
      spo2: values.spo2 ?? null,
      respRate: values.respRate ?? null,
      systolicBp: values.systolicBp ?? null,
      diastolicBp: values.diastolicBp ?? null,
      temperature: values.temperature ?? null,
      consciousness,
      onOxygen,
      correlationId: ctx.correlationId,
    },
  };
}
