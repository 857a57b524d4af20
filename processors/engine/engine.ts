/**
 * The clinical core of the processors, with no Kafka, no clock and no sockets:
 *
 *   step(state, reading, rules)          → { state, events, verdict }   a reading arrives
 *   tickPatient(state, watermark, rules) → { state, events }            event time passes
 *   applyAction(state, action, rules)    → { state, events }            a clinician acts
 *
 * Deterministic: the same inputs in the same order give the same events with the same ids,
 * which is what crash recovery (reprocessing after a restart) and replay rely on. Alert ids
 * derive from (patientId, rule, onset event time) (alert-id.ts); event ids from (alertId, n, phase).
 *
 * A reading is first admitted — de-duplicated on (deviceId, seq), and set aside as late when
 * older than what the rules already saw — and then runs through STAGES, top to bottom. Stages
 * are module functions over one shared StepContext (context.ts): no closure, no object per
 * stage, since this runs for every reading (~200k/s in a replay).
 */
import type { AlertAction, AlertEvent, VitalsReading } from '../../schemas/records.ts';
import { emptyMemory, observe, type Verdict } from '../dedup.ts';
import * as life from '../lifecycle.ts';
import type { RuleSet } from '../rulebook.ts';
import { lifecycleCtx, type Stage, StepContext } from './context.ts';
import { type DeviceSeq, initialState, MAX_ACTIONS, MAX_DEVICES, type PatientState } from './patient-state.ts';
import { news2 } from './stages/news2.ts';
import { observations } from './stages/observations.ts';
import { screening, signal, signalLossDue } from './stages/technical.ts';
import { thresholds } from './stages/thresholds.ts';
import { trends } from './stages/trends.ts';

/** Lifecycle timers due before this reading: escalation of unacknowledged alerts, silence expiry. */
const timers: Stage = (c) => c.take(life.tick(c.alerts, c.ctx, c.ts));

/** What an admitted reading runs through, in this order. */
export const STAGES: readonly Stage[] = [
  timers,
  signal, //       technical: a gap is a signal loss (stamped at its due time); the reading ends it
  screening, //    technical: probe off, implausible jumps (artifacts); the rest is `accepted`
  thresholds, //   threshold rules on accepted values
  trends, //       trend rules on accepted values
  observations, // latest accepted observations, consciousness, oxygen
  news2, //        NEWS2 on fresh observations
];

export type StepVerdict = Verdict | 'late';
export interface StepResult {
  readonly state: PatientState;
  readonly events: readonly AlertEvent[];
  readonly verdict: StepVerdict;
}
export interface TickResult {
  readonly state: PatientState;
  readonly events: readonly AlertEvent[];
}

const NO_EVENTS: readonly AlertEvent[] = Object.freeze([]);

export function step(prev: PatientState | undefined, r: VitalsReading, rules: RuleSet): StepResult {
  let st = prev ?? initialState(r);
  if (st.wardId !== r.wardId || st.bed !== r.bed) st = { ...st, wardId: r.wardId, bed: r.bed };
  // De-duplicate (deviceId, seq).
  let di = st.devices.length - 1;
  while (di >= 0 && st.devices[di]!.deviceId !== r.deviceId) di--;
  const seen = observe(di >= 0 ? st.devices[di]!.memory : emptyMemory(), r.seq, r.ts);
  if (seen.verdict === 'duplicate' || seen.verdict === 'stale') return { state: st, events: NO_EVENTS, verdict: seen.verdict };
  const devices = remember(st.devices, di, { deviceId: r.deviceId, memory: seen.memory });
  // Event time: a reading older than what the rules already saw cannot move sustain clocks
  // backwards; it is remembered for de-duplication and reported as late (the runner's reorder
  // buffer puts readings back in order within the allowed lateness before they get here).
  if (r.ts < st.lastTs) return { state: { ...st, devices }, events: NO_EVENTS, verdict: 'late' };
  const c = new StepContext(st, lifecycleCtx(st, rules, r.correlationId), rules, r, r.ts);
  c.st.devices = devices;
  c.st.lastTs = r.ts;
  for (let i = 0; i < STAGES.length; i++) STAGES[i]!(c);
  return { state: c.done(), events: c.events, verdict: seen.verdict };
}

/** The device list with `entry` for device index `di` (-1: new), most recently heard-from last; past MAX_DEVICES the least recent is forgotten. */
function remember(list: readonly DeviceSeq[], di: number, entry: DeviceSeq): readonly DeviceSeq[] {
  if (di === list.length - 1 && di >= 0) {
    const d = list.slice();
    d[di] = entry;
    return d;
  }
  const others = di >= 0 ? list.filter((_, i) => i !== di) : list;
  return [...others.slice(Math.max(0, others.length - (MAX_DEVICES - 1))), entry];
}

/**
 * Event time passed without a reading of this patient (the runner calls it when the
 * partition watermark advances): signal loss, escalation, silence expiry.
 */
export function tickPatient(st: PatientState, watermark: number, rules: RuleSet): TickResult {
  if (watermark <= st.lastTs) return { state: st, events: NO_EVENTS };
  // Fast path (runs for every patient of a partition each second): nothing open, nothing due.
  let open = false;
  for (const _ in st.alerts) {
    open = true;
    break;
  }
  if (!open && (st.lastTs === 0 || watermark - st.lastTs < rules.technical.signalLossMs)) return { state: st, events: NO_EVENTS };
  const c = new StepContext(st, lifecycleCtx(st, rules, 'timer'), rules, null, watermark);
  // Stamped at its due time, not at the watermark that noticed it: when the runner's timer
  // fires depends on batching, and the event (and its id) must not.
  signalLossDue(c, st.lastTs, watermark);
  c.take(life.tick(c.alerts, c.ctx, watermark));
  if (c.events.length === 0 && c.alerts === st.alerts) return { state: st, events: NO_EVENTS };
  return { state: c.done(), events: c.events };
}

export function applyAction(st: PatientState, a: AlertAction, rules: RuleSet): TickResult {
  if (st.actions.includes(a.actionId)) return { state: st, events: NO_EVENTS };
  const ctx = lifecycleCtx(st, rules, `action:${a.actionId}`);
  const at = Math.max(a.ts, st.lastTs);
  const out =
    a.action === 'ack'
      ? life.acknowledge(st.alerts, ctx, a.alertId, a.user, a.role, at)
      : life.silence(st.alerts, ctx, a.alertId, a.user, a.role, a.durationMs ?? rules.lifecycle.maxSilenceMs, at);
  return { state: { ...st, alerts: out.alerts, actions: [...st.actions.slice(-(MAX_ACTIONS - 1)), a.actionId] }, events: out.events };
}
