/**
 * The state the engine keeps per patient: immutable, replaced (never mutated) by every step.
 * It is all the engine knows about a patient, so it is also what the processors store in the
 * changelog (state-codec.ts) and restore after a crash or a rebalance.
 *
 * Copies are field by field (copyState, copyObs) rather than spreads: every state then has one
 * hidden class (spreads of states decoded from the changelog did not), which made the copy the
 * engine's hottest line.
 */
import type { Acvpu, PatientStatus, VitalName, VitalsReading } from '../../schemas/records.ts';
import type { SeqMemory } from '../dedup.ts';
import type * as life from '../lifecycle.ts';
import type { News2Level } from '../news2.ts';
import type { EpisodeState } from './episode.ts';
import type { News2Episode } from './news2-episode.ts';

/** A time bucket of a trend window: min and max of the parameter within it. */
export interface Bucket {
  readonly t: number;
  readonly min: number;
  readonly max: number;
}
export interface Obs {
  readonly v: number;
  readonly ts: number;
}
export interface DeviceSeq {
  readonly deviceId: string;
  readonly memory: SeqMemory;
}
/** The open technical alerts of a patient, by kind: their alert ids. */
export type TechnicalKind = 'signalLoss' | 'sensorOff' | 'artifact';
export type TechnicalAlerts = Readonly<{ [K in TechnicalKind]?: string }>;
export interface News2Last {
  readonly total: number;
  readonly level: News2Level;
  readonly sub: Readonly<Record<string, number>>;
}

export interface PatientState {
  readonly patientId: string;
  readonly wardId: string;
  readonly bed: string | null;
  /** Highest event time applied to the rules. */
  readonly lastTs: number;
  /** De-duplication memory per device, least recently heard-from first (an array: cheaper to copy per reading than a keyed object). */
  readonly devices: readonly DeviceSeq[];
  /** Episodes of condition rules that are not normal, by threshold rule id or `trend:<id>`. */
  readonly episodes: Readonly<Record<string, EpisodeState>>;
  /** Trend windows by trend rule id. */
  readonly buckets: Readonly<Record<string, readonly Bucket[]>>;
  /** Latest accepted (clinically used) value per vital. */
  readonly obs: Readonly<Partial<Record<VitalName, Obs>>>;
  /** Latest raw value per vital, artifacts included (for jump detection). */
  readonly raw: Readonly<Partial<Record<VitalName, Obs>>>;
  readonly consciousness: { readonly v: Acvpu; readonly ts: number } | null;
  readonly onOxygen: { readonly v: boolean; readonly ts: number } | null;
  readonly news2: News2Episode;
  readonly news2Last: News2Last | null;
  /** Event times of recent artifacts (at most 10). */
  readonly artifacts: readonly number[];
  /** Event time since when the SpO2 probe reports no signal (null: it does). */
  readonly sensorOffSince: number | null;
  /** Open technical alerts by kind. */
  readonly tech: TechnicalAlerts;
  readonly alerts: life.Alerts;
  /** Recently applied action ids (at most MAX_ACTIONS), so a redelivered action is applied once. */
  readonly actions: readonly string[];
}

/** Most devices remembered per patient; the least recently heard-from is forgotten first. */
export const MAX_DEVICES = 16;
/** Most action ids remembered per patient. */
export const MAX_ACTIONS = 64;
/** Most artifact times remembered per patient. */
export const MAX_ARTIFACTS = 10;

export function initialState(r: Pick<VitalsReading, 'patientId' | 'wardId' | 'bed'>): PatientState {
  return {
    patientId: r.patientId,
    wardId: r.wardId,
    bed: r.bed,
    lastTs: 0,
    devices: [],
    episodes: {},
    buckets: {},
    obs: {},
    raw: {},
    consciousness: null,
    onOxygen: null,
    news2: { kind: 'normal' },
    news2Last: null,
    artifacts: [],
    sensorOffSince: null,
    tech: {},
    alerts: {},
    actions: [],
  };
}

/** A state being built by one step: a fresh shallow copy whose fields are replaced, never mutated in place. */
export type Draft = { -readonly [K in keyof PatientState]: PatientState[K] };

export function copyState(p: PatientState): Draft {
  return {
    patientId: p.patientId,
    wardId: p.wardId,
    bed: p.bed,
    lastTs: p.lastTs,
    devices: p.devices,
    episodes: p.episodes,
    buckets: p.buckets,
    obs: p.obs,
    raw: p.raw,
    consciousness: p.consciousness,
    onOxygen: p.onOxygen,
    news2: p.news2,
    news2Last: p.news2Last,
    artifacts: p.artifacts,
    sensorOffSince: p.sensorOffSince,
    tech: p.tech,
    alerts: p.alerts,
    actions: p.actions,
  };
}

export type VitalObs = Partial<Record<VitalName, Obs>>;
export function copyObs(o: Readonly<VitalObs>): VitalObs {
  const c: VitalObs = {};
  if (o.heartRate) c.heartRate = o.heartRate;
  if (o.spo2) c.spo2 = o.spo2;
  if (o.respRate) c.respRate = o.respRate;
  if (o.systolicBp) c.systolicBp = o.systolicBp;
  if (o.diastolicBp) c.diastolicBp = o.diastolicBp;
  if (o.temperature) c.temperature = o.temperature;
  return c;
}

/** The patient's status for dashboards (topic patient-status), written beside the state at every commit. */
export function statusOf(s: PatientState): PatientStatus {
  const vitals: Record<string, { value: number; ts: number }> = {};
  for (const [k, o] of Object.entries(s.obs)) if (o) vitals[k] = { value: o.v, ts: o.ts };
  return {
    patientId: s.patientId,
    wardId: s.wardId,
    bed: s.bed,
    updatedTs: s.lastTs,
    vitals,
    consciousness: s.consciousness?.v ?? null,
    onOxygen: s.onOxygen?.v ?? null,
    news2Total: s.news2Last?.total ?? null,
    news2Level: s.news2Last?.level ?? null,
    news2SubScores: s.news2Last?.sub ?? null,
    activeAlerts: Object.values(s.alerts).map((a) => ({
      alertId: a.alertId,
      rule: a.rule,
      priority: a.priority,
      state: a.state,
      acked: a.acked,
      onsetTs: a.onsetTs,
    })),
  };
}
