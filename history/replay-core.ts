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
import type { RuleBook } from '../processors/rulebook.ts';
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

export function replayPatient(h: PatientHistory, book: RuleBook): { events: AlertEvent[]; state: PatientState | undefined; applied: number } {
  let st: PatientState | undefined;
  const events: AlertEvent[] = [];
  let ai = 0;
  let applied = 0;
  for (const r of h.readings) {
    while (st && ai < h.actions.length && h.actions[ai]!.ts <= r.ts) {
      const a = h.actions[ai++]!;
      const out = applyAction(st, a, book.forPatient(st.wardId, st.patientId));
      st = out.state;
      events.push(...out.events);
    }
    const res = step(st, r, book.forPatient(r.wardId, r.patientId));
    if (res.verdict === 'duplicate' || res.verdict === 'stale') continue;
    applied++;
    st = res.state;
    events.push(...res.events);
  }
  if (st) {
    for (; ai < h.actions.length; ai++) {
      const out = applyAction(st, h.actions[ai]!, book.forPatient(st.wardId, st.patientId));
      st = out.state;
      events.push(...out.events);
    }
    const t = tickPatient(st, h.endWatermark, book.forPatient(st.wardId, st.patientId));
    st = t.state;
    events.push(...t.events);
  }
  return { events, state: st, applied };
}

/**
 * One patient's readings (sorted) replayed for the period [from, to): timers run up to the final
 * watermark of the patient's Kafka partition (its newest reading minus the allowed lateness,
 * capped at `to`); only events inside the period are returned. Shared by the in-thread replay
 * and the worker threads.
 */
export function replayPeriod(readings: readonly VitalsReading[], o: {
  readonly actions: ReadonlyMap<string, readonly AlertAction[]>; readonly partitionMaxTs: ReadonlyMap<number, number>;
  readonly partitions: number; readonly from: number; readonly to: number;
}, book: RuleBook): AlertEvent[] {
  const first = readings[0]!;
  const pmax = o.partitionMaxTs.get(partitionForWard(first.wardId, o.partitions)) ?? first.ts;
  const endWatermark = Math.min(o.to, pmax - book.defaults.technical.allowedLatenessMs);
  const out = replayPatient({ patientId: first.patientId, readings, actions: o.actions.get(first.patientId) ?? [], endWatermark }, book);
  return out.events.filter((e) => e.eventTs >= o.from && e.eventTs < o.to);
}
