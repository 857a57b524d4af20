/**
 * Replay core: the processors' engine (`step`, `applyAction`, `tickPatient`) over one
 * patient's history at a time. Pure and deterministic: the same readings, actions and rules
 * give the same events, in the same order, whatever the machine or the batch sizes.
 *
 * Why it reproduces the live processors: patients are independent in the engine, readings of a
 * patient are applied in (ts, seq) order exactly as the runner's reorder buffer releases them,
 * and every timer event (signal loss, escalation) is stamped at its due time, so it does not
 * matter whether a live watermark tick or the next reading noticed it. What replay cannot know
 * is how far each live partition's watermark had advanced: the caller passes the final
 * watermark of the patient's partition (newest reading of the partition minus the allowed
 * lateness, capped at the end of the period), and timers due by then fire.
 * Known differences (docs/operations.md): readings that arrived later than the allowed lateness
 * were set aside live (`vitals.late`) but are applied here in order; acknowledgements are
 * applied at their own time rather than at their arrival.
 *
 * Processing one patient at a time also keeps the working set in cache: the same engine runs
 * several times faster than over interleaved patients (benchmarks/README.md).
 */
import { applyAction, step, tickPatient, type PatientState } from '../processors/engine.ts';
import type { RuleBook, RuleSet } from '../processors/rulebook.ts';
import type { AlertAction, AlertEvent, VitalsReading } from '../schemas/records.ts';
import { partitionForWard } from '../schemas/topics.ts';

export interface PatientHistory {
  readonly patientId: string;
  /** Sorted by (ts, seq). */
  readonly readings: readonly VitalsReading[];
  /** Sorted by ts. */
  readonly actions: readonly AlertAction[];
  /** Final watermark of the patient's partition: timers due by then fire. */
  readonly endWatermark: number;
}

export const byTsSeq = (a: VitalsReading, b: VitalsReading): number => a.ts - b.ts || a.seq - b.seq || (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0);

/** A patient whose readings are applied; its final timers wait for the partition's watermark. */
export interface PatientInProgress {
  readonly patientId: string;
  readonly state: PatientState | undefined;
  readonly events: readonly AlertEvent[];
  readonly applied: number;
  /** Actions after the last reading, applied by `finishPatient`. */
  readonly remainingActions: readonly AlertAction[];
}

/** The readings (and the actions between them) of one patient, without the final timers. */
export function applyReadings(patientId: string, readings: readonly VitalsReading[], actions: readonly AlertAction[], book: RuleBook): PatientInProgress {
  let st: PatientState | undefined;
  const events: AlertEvent[] = [];
  let ai = 0;
  let applied = 0;
  // The rule set of the patient's current ward (resolved again only when the ward changes).
  let ward: string | undefined;
  let rules: RuleSet | undefined;
  const rulesFor = (wardId: string): RuleSet => (wardId === ward ? rules! : (rules = book.forPatient((ward = wardId), patientId)));
  for (const r of readings) {
    while (st && ai < actions.length && actions[ai]!.ts <= r.ts) {
      const out = applyAction(st, actions[ai++]!, rulesFor(st.wardId));
      st = out.state;
      events.push(...out.events);
    }
    const res = step(st, r, r.wardId === ward ? rules! : rulesFor(r.wardId));
    if (res.verdict === 'duplicate' || res.verdict === 'stale') continue;
    applied++;
    st = res.state;
    for (const e of res.events) events.push(e); // most readings raise nothing: no spread call
  }
  return { patientId, state: st, events, applied, remainingActions: actions.slice(ai) };
}

/** The actions after the last reading, then the timers due by the partition's final watermark. */
export function finishPatient(p: PatientInProgress, endWatermark: number, book: RuleBook): { events: AlertEvent[]; state: PatientState | undefined; applied: number } {
  let st = p.state;
  const events = [...p.events];
  if (st) {
    for (const a of p.remainingActions) {
      const out = applyAction(st, a, book.forPatient(st.wardId, st.patientId));
      st = out.state;
      events.push(...out.events);
    }
    const t = tickPatient(st, endWatermark, book.forPatient(st.wardId, st.patientId));
    st = t.state;
    events.push(...t.events);
  }
  return { events, state: st, applied: p.applied };
}

export function replayPatient(h: PatientHistory, book: RuleBook): { events: AlertEvent[]; state: PatientState | undefined; applied: number } {
  return finishPatient(applyReadings(h.patientId, h.readings, h.actions, book), h.endWatermark, book);
}

export interface PeriodOptions {
  readonly actions: ReadonlyMap<string, readonly AlertAction[]>; readonly partitionMaxTs: ReadonlyMap<number, number>;
  readonly partitions: number; readonly from: number; readonly to: number;
}

/**
 * The end of one patient's replay for the period [from, to): timers run up to the final
 * watermark of the patient's Kafka partition (its newest reading minus the allowed lateness,
 * capped at `to`); only events inside the period are returned.
 */
export function finishPeriod(p: PatientInProgress, wardId: string, firstTs: number, o: Omit<PeriodOptions, 'actions'>, book: RuleBook): AlertEvent[] {
  const pmax = o.partitionMaxTs.get(partitionForWard(wardId, o.partitions)) ?? firstTs;
  const endWatermark = Math.min(o.to, pmax - book.defaults.technical.allowedLatenessMs);
  return finishPatient(p, endWatermark, book).events.filter((e) => e.eventTs >= o.from && e.eventTs < o.to);
}

/**
 * One patient's readings (sorted) replayed for the period [from, to). Shared by the in-thread
 * replay and the worker threads.
 */
export function replayPeriod(readings: readonly VitalsReading[], o: PeriodOptions, book: RuleBook): AlertEvent[] {
  const first = readings[0]!;
  return finishPeriod(applyReadings(first.patientId, readings, o.actions.get(first.patientId) ?? [], book), first.wardId, first.ts, o, book);
}
