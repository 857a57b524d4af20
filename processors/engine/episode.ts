/**
 * The episode state machine of a condition rule (threshold and trend rules), pure:
 *
 *   normal ──breach──▶ pending ──held sustainMs──▶ active ──recovered (hysteresis)──▶ clearing ──held clearMs──▶ normal
 *
 * with the shortcuts the table allows (normal → active when sustainMs is 0, active → normal
 * when clearMs is 0, clearing → active on a relapse, pending → normal when the breach ends
 * early). TRANSITIONS is the table; STEPS holds one step function per state whose return type
 * is the states TRANSITIONS lists for it, so an impossible transition does not compile.
 *
 * The outputs are phases for the alert lifecycle (lifecycle.ts): `start` when an episode
 * becomes active, `worse` when it worsens, `end` when it closes. Runs for every rule and
 * every reading: the most common outcome (a normal value of a normal episode) is one shared,
 * frozen result.
 */
import { alertIdOf } from './alert-id.ts';

export type EpisodeKind = 'normal' | 'pending' | 'active' | 'clearing';
export type EpisodeState =
  | { readonly kind: 'normal' }
  | { readonly kind: 'pending'; readonly since: number; readonly worst: number }
  | { readonly kind: 'active'; readonly alertId: string; readonly onset: number; readonly worst: number }
  | { readonly kind: 'clearing'; readonly alertId: string; readonly onset: number; readonly worst: number; readonly since: number };

export const TRANSITIONS = {
  normal: ['normal', 'pending', 'active'], // active directly when sustainMs is 0
  pending: ['pending', 'normal', 'active'],
  active: ['active', 'clearing', 'normal'],
  clearing: ['clearing', 'active', 'normal'],
} as const satisfies { readonly [K in EpisodeKind]: readonly EpisodeKind[] };

export type EpisodePhase = 'start' | 'end' | 'worse';
type StateOf<K extends EpisodeKind> = Extract<EpisodeState, { kind: K }>;
type Next<K extends EpisodeKind> = (typeof TRANSITIONS)[K][number];
export interface StepOut<K extends EpisodeKind> {
  readonly next: StateOf<Next<K>>;
  readonly phase?: EpisodePhase;
}
/** The condition of a rule, abstracted: threshold rules and trend rules both fit. */
export interface Condition {
  readonly id: string;
  readonly op: 'above' | 'below';
  readonly threshold: number;
  readonly hysteresis: number;
  readonly sustainMs: number;
  readonly clearMs: number;
  /** Trend rules say "falls by at least N": the threshold itself breaches. Threshold rules are strict. */
  readonly inclusive?: boolean;
}
type Step<K extends EpisodeKind> = (s: StateOf<K>, v: number, ts: number, rule: Condition, patientId: string) => StepOut<K>;

export const NORMAL: StateOf<'normal'> = { kind: 'normal' };

export function breached(rule: Condition, v: number): boolean {
  if (rule.inclusive) return rule.op === 'above' ? v >= rule.threshold : v <= rule.threshold;
  return rule.op === 'above' ? v > rule.threshold : v < rule.threshold;
}
/** Back in range with the hysteresis margin: only then does the clearing clock run. */
export function recovered(rule: Condition, v: number): boolean {
  return rule.op === 'above' ? v <= rule.threshold - rule.hysteresis : v >= rule.threshold + rule.hysteresis;
}
const worse = (rule: Condition, a: number, b: number) => (rule.op === 'above' ? a > b : a < b);

/** The most common outcome of all (a normal value of a normal episode), shared: no allocation. */
const STAY_NORMAL: StepOut<'normal'> = Object.freeze({ next: NORMAL });

const STEPS: { readonly [K in EpisodeKind]: Step<K> } = {
  normal: (_s, v, ts, rule, pid) => {
    if (!breached(rule, v)) return STAY_NORMAL;
    if (rule.sustainMs <= 0) {
      const out = STEPS.pending({ kind: 'pending', since: ts, worst: v }, v, ts, rule, pid);
      return { next: out.next, phase: out.phase };
    }
    return { next: { kind: 'pending', since: ts, worst: v } };
  },
  pending: (s, v, ts, rule, pid) => {
    if (!breached(rule, v)) return { next: NORMAL };
    const w = worse(rule, v, s.worst) ? v : s.worst;
    if (ts - s.since >= rule.sustainMs)
      return { next: { kind: 'active', alertId: alertIdOf(pid, rule.id, s.since), onset: s.since, worst: w }, phase: 'start' };
    return { next: { kind: 'pending', since: s.since, worst: w } };
  },
  active: (s, v, ts, rule) => {
    if (recovered(rule, v)) {
      if (rule.clearMs <= 0) return { next: NORMAL, phase: 'end' };
      return { next: { kind: 'clearing', alertId: s.alertId, onset: s.onset, worst: s.worst, since: ts } };
    }
    return worse(rule, v, s.worst) ? { next: { ...s, worst: v }, phase: 'worse' } : { next: s };
  },
  clearing: (s, v, ts, rule) => {
    if (!recovered(rule, v)) return { next: { kind: 'active', alertId: s.alertId, onset: s.onset, worst: worse(rule, v, s.worst) ? v : s.worst } };
    if (ts - s.since >= rule.clearMs) return { next: NORMAL, phase: 'end' };
    return { next: s };
  },
};

/** One value of the rule's parameter at event time `ts`: the next episode state and the phase to signal, if any. */
export function stepEpisode(s: EpisodeState, v: number, ts: number, rule: Condition, pid: string): StepOut<EpisodeKind> {
  // The cast only widens the per-kind signature; each entry's own type is checked above.
  return (STEPS[s.kind] as Step<EpisodeKind>)(s as never, v, ts, rule, pid);
}
