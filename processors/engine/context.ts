/**
 * What the stages of one step share (engine.ts runs them in order): the draft of the next
 * state, the alerts and events so far, and the values screening accepted for the rules.
 *
 * One StepContext per step, with every field set in the constructor (one hidden class), and
 * stages as module functions rather than closures: this runs for every reading, and a closure
 * or an object per stage would cost an allocation each (under tsx's keepNames, a
 * defineProperty too).
 */
import type { AlertEvent, VitalName, VitalsReading } from '../../schemas/records.ts';
import type * as life from '../lifecycle.ts';
import type { RuleSet } from '../rulebook.ts';
import type { EpisodeState } from './episode.ts';
import { type Bucket, copyState, type Draft, type PatientState, type VitalObs } from './patient-state.ts';

/** One stage of the engine: reads the context, replaces fields of its draft, signals the lifecycle. */
export type Stage = (c: StepContext) => void;

export function lifecycleCtx(st: PatientState, rules: RuleSet, correlationId: string): life.Ctx {
  return { patientId: st.patientId, wardId: st.wardId, bed: st.bed, ruleVersion: rules.version, correlationId, cfg: rules.lifecycle };
}

export class StepContext {
  alerts: life.Alerts;
  readonly events: AlertEvent[] = [];
  /**
   * The next state: a fresh shallow copy of the previous one made once per step, whose fields
   * stages replace (never mutate in place), so the previous state stays intact and the hot path
   * makes one copy instead of one per stage.
   */
  readonly st: Draft;
  /** Event time of the previous reading applied to the rules (0: none yet). */
  readonly prevTs: number;
  /** Values that passed technical screening, for the rules. */
  readonly accepted: Partial<Record<VitalName, number>> = {};
  readonly acceptedObs: VitalObs = {};
  /** Episodes and trend windows changed by this step (copied on first change), folded into the draft by done(). */
  episodes: Record<string, EpisodeState> | null = null;
  buckets: Record<string, readonly Bucket[]> | null = null;

  /** `reading` is null for a timer step (event time passed without one). */
  constructor(
    prev: PatientState,
    readonly ctx: life.Ctx,
    readonly rules: RuleSet,
    readonly reading: VitalsReading | null,
    readonly ts: number,
  ) {
    this.st = copyState(prev);
    this.alerts = prev.alerts;
    this.prevTs = prev.lastTs;
  }

  /** Takes a lifecycle outcome: its alerts replace ours, its events are appended. */
  take(o: life.Out): void {
    this.alerts = o.alerts;
    if (o.events.length) this.events.push(...o.events);
  }

  done(): PatientState {
    const episodes = this.episodes;
    if (episodes) {
      for (const k in episodes) if (episodes[k]!.kind === 'normal') delete episodes[k];
      this.st.episodes = episodes;
    }
    if (this.buckets) this.st.buckets = this.buckets;
    this.st.alerts = this.alerts;
    return this.st;
  }
}
