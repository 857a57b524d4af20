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
import { applyAction, type PatientState, step, tickPatient } from '../../processors/engine.ts';
import type { RuleBook, RuleSet } from '../../processors/rulebook.ts';
import type { AlertAction, AlertEvent, VitalsReading } from '../../schemas/records.ts';
import { partitionForWard } from '../../schemas/topics.ts';

export const byTsSeq = (a: VitalsReading, b: VitalsReading): number =>
  a.ts - b.ts || a.seq - b.seq || (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0);

/** A patient whose readings are applied; its final timers wait for the partition's watermark. */
export interface PatientInProgress {
  readonly patientId: string;
  /** Ward and time of the first reading: they locate the patient's Kafka partition (and its watermark). */
  readonly wardId: string;
  readonly firstTs: number;
  readonly state: PatientState | undefined;
  readonly events: readonly AlertEvent[];
  /** Actions after the last reading, applied by `finishPeriod`. */
  readonly remainingActions: readonly AlertAction[];
}

/** One patient's readings (non-empty, sorted by (ts, seq)) and the actions between them, without the final timers. */
export function applyReadings(readings: readonly VitalsReading[], actions: readonly AlertAction[], book: RuleBook): PatientInProgress {
  const { patientId, wardId, ts: firstTs } = readings[0]!;
  let st: PatientState | undefined;
  const events: AlertEvent[] = [];
  let ai = 0;
  // The rule set of the patient's current ward (resolved again only when the ward changes).
  let ward: string | undefined;
  let rules: RuleSet | undefined;
  const rulesFor = (w: string): RuleSet => (w === ward ? rules! : (rules = book.forPatient((ward = w), patientId)));
  for (const r of readings) {
    while (st && ai < actions.length && actions[ai]!.ts <= r.ts) {
      const out = applyAction(st, actions[ai++]!, rulesFor(st.wardId));
      st = out.state;
      events.push(...out.events);
    }
    const res = step(st, r, r.wardId === ward ? rules! : rulesFor(r.wardId));
    if (res.verdict === 'duplicate' || res.verdict === 'stale') continue;
    st = res.state;
    for (const e of res.events) events.push(e); // most readings raise nothing: no spread call
  }
  return { patientId, wardId, firstTs, state: st, events, remainingActions: actions.slice(ai) };
}

export interface PeriodOptions {
  readonly actions: ReadonlyMap<string, readonly AlertAction[]>;
  readonly partitionMaxTs: ReadonlyMap<number, number>;
  readonly partitions: number;
  readonly from: number;
  readonly to: number;
}

/**
 * The end of one patient's replay for the period [from, to): the actions after its last reading,
 * then the timers due by the final watermark of its Kafka partition (the partition's newest
 * reading minus the allowed lateness, capped at `to`); only events inside the period are returned.
 */
export function finishPeriod(p: PatientInProgress, o: Omit<PeriodOptions, 'actions'>, book: RuleBook): AlertEvent[] {
  const pmax = o.partitionMaxTs.get(partitionForWard(p.wardId, o.partitions)) ?? p.firstTs;
  const endWatermark = Math.min(o.to, pmax - book.defaults.technical.allowedLatenessMs);
  let st = p.state;
  const events = [...p.events];
  if (st) {
    for (const a of p.remainingActions) {
      const out = applyAction(st, a, book.forPatient(st.wardId, st.patientId));
      st = out.state;
      events.push(...out.events);
    }
    events.push(...tickPatient(st, endWatermark, book.forPatient(st.wardId, st.patientId)).events);
  }
  return events.filter((e) => e.eventTs >= o.from && e.eventTs < o.to);
}

/**
 * One patient's readings (sorted) replayed for the period [from, to). Shared by the in-thread
 * replay and the worker threads.
 */
export function replayPeriod(readings: readonly VitalsReading[], o: PeriodOptions, book: RuleBook): AlertEvent[] {
  return finishPeriod(applyReadings(readings, o.actions.get(readings[0]!.patientId) ?? [], book), o, book);
}
