/**
 * The NEWS2 episode state machine, pure: one step per reading, given the patient's current
 * NEWS2 score (news2.ts) and the rule set's `news2` section.
 *
 *   normal ──alerting level──▶ pending ──held sustainMs──▶ active ──below alerting──▶ clearing ──held clearMs──▶ normal
 *
 * An alerting level is one with a priority in NEWS2_PRIORITY (single-red, urgent, emergency).
 * While active, a higher level reprioritizes at once (a worse response level is news); a lower
 * one only after it held for deescalateMs (`lowerSince`), so a score that flaps between two
 * levels does not page people every time it crosses; a higher total at the same level is a
 * `worse` signal.
 *
 * NEWS2_TRANSITIONS is the table; STEPS holds one step function per state whose return type is
 * the states the table lists for it, so an impossible transition does not compile. Runs for
 * every reading: the result is one shared object, overwritten by the next step (read it at once).
 */

import type { AlertPriority } from '../../schemas/records.ts';
import { BUILTIN_RULES } from '../builtin-rules.ts';
import { PRIORITY_RANK } from '../lifecycle.ts';
import type { News2Level, News2Score } from '../news2.ts';
import type { News2Config } from '../rulebook.ts';
import { alertIdOf } from './alert-id.ts';

/** The states by kind (an indexed type rather than Extract<>, so that a result type is covariant in its kinds). */
interface News2States {
  readonly normal: { readonly kind: 'normal' };
  readonly pending: { readonly kind: 'pending'; readonly since: number };
  readonly active: { readonly kind: 'active'; readonly alertId: string; readonly level: News2Level; readonly total: number; readonly lowerSince?: number };
  readonly clearing: { readonly kind: 'clearing'; readonly alertId: string; readonly level: News2Level; readonly total: number; readonly since: number };
}
export type News2Kind = keyof News2States;
export type News2Episode = News2States[News2Kind];

export const NEWS2_TRANSITIONS = {
  normal: ['normal', 'pending', 'active'], // active directly when sustainMs is 0
  pending: ['pending', 'normal', 'active'],
  active: ['active', 'clearing', 'normal'], // normal directly when clearMs is 0
  clearing: ['clearing', 'active', 'normal'],
} as const satisfies { readonly [K in News2Kind]: readonly News2Kind[] };

/** What a step tells the alert lifecycle: onset, end, a new priority, or a higher total at the same level. */
export type News2Signal = 'start' | 'end' | 'reprioritize' | 'worse';

/** The alert priority of each alerting response level (RCP Chart 4); the other levels do not alert. */
export const NEWS2_PRIORITY: Readonly<Partial<Record<News2Level, AlertPriority>>> = { emergency: 'high', urgent: 'medium', 'single-red': 'low' };
const alerting = (l: News2Level) => NEWS2_PRIORITY[l] !== undefined;
const rank = (l: News2Level): number => PRIORITY_RANK[NEWS2_PRIORITY[l]!];

type StateOf<K extends News2Kind> = News2States[K];
/** The kinds NEWS2_TRANSITIONS allows after K. */
export type News2Next<K extends News2Kind> = (typeof NEWS2_TRANSITIONS)[K][number];
/** A step's result with a next state of kind N; a step from K returns News2StepOut<News2Next<K>>, so N must be listed for K. */
export interface News2StepOut<N extends News2Kind> {
  readonly next: StateOf<N>;
  readonly signal: News2Signal | null;
  /** With `start`: the episode's onset (event time). */
  readonly onset: number;
}
type Step<K extends News2Kind> = (s: StateOf<K>, score: News2Score, ts: number, cfg: News2Config, patientId: string) => News2StepOut<News2Next<K>>;

export const NEWS2_NORMAL: StateOf<'normal'> = { kind: 'normal' };

const OUT: { next: News2Episode; signal: News2Signal | null; onset: number } = { next: NEWS2_NORMAL, signal: null, onset: 0 };
/** Fills the shared result. */
function out<N extends News2Kind>(next: StateOf<N>, signal: News2Signal | null = null, onset = 0): News2StepOut<N> {
  OUT.next = next;
  OUT.signal = signal;
  OUT.onset = onset;
  return OUT as News2StepOut<N>;
}

function start(pid: string, onset: number, score: News2Score): StateOf<'active'> {
  return { kind: 'active', alertId: alertIdOf(pid, BUILTIN_RULES.news2, onset), level: score.level, total: score.total };
}

/** Active or clearing and still (or again) at an alerting level. */
function alertingStep(s: StateOf<'active' | 'clearing'>, score: News2Score, ts: number, cfg: News2Config): News2StepOut<'active'> {
  if (rank(score.level) > rank(s.level)) return out({ kind: 'active', alertId: s.alertId, level: score.level, total: score.total }, 'reprioritize');
  if (rank(score.level) < rank(s.level)) {
    const since = s.kind === 'active' && s.lowerSince !== undefined ? s.lowerSince : ts;
    if (ts - since >= cfg.deescalateMs) return out({ kind: 'active', alertId: s.alertId, level: score.level, total: score.total }, 'reprioritize');
    return out({ kind: 'active', alertId: s.alertId, level: s.level, total: s.total, lowerSince: since });
  }
  return out({ kind: 'active', alertId: s.alertId, level: s.level, total: Math.max(s.total, score.total) }, score.total > s.total ? 'worse' : null);
}

const STEPS: { readonly [K in News2Kind]: Step<K> } = {
  normal: (s, score, ts, cfg, pid) => {
    if (!alerting(score.level)) return out(s);
    return cfg.sustainMs <= 0 ? out(start(pid, ts, score), 'start', ts) : out({ kind: 'pending', since: ts });
  },
  pending: (s, score, ts, cfg, pid) => {
    if (!alerting(score.level)) return out(NEWS2_NORMAL);
    return ts - s.since >= cfg.sustainMs ? out(start(pid, s.since, score), 'start', s.since) : out(s);
  },
  active: (s, score, ts, cfg) => {
    if (alerting(score.level)) return alertingStep(s, score, ts, cfg);
    return cfg.clearMs <= 0 ? out(NEWS2_NORMAL, 'end') : out({ kind: 'clearing', alertId: s.alertId, level: s.level, total: s.total, since: ts });
  },
  clearing: (s, score, ts, cfg) => {
    if (alerting(score.level)) return alertingStep(s, score, ts, cfg);
    return ts - s.since >= cfg.clearMs ? out(NEWS2_NORMAL, 'end') : out(s);
  },
};

/** One NEWS2 score at event time `ts`: the next episode state and the signal for the lifecycle, if any. */
export function stepNews2(s: News2Episode, score: News2Score, ts: number, cfg: News2Config, pid: string): News2StepOut<News2Kind> {
  // The cast only widens the per-kind signature; each entry's own type is checked above.
  return (STEPS[s.kind] as Step<News2Kind>)(s as never, score, ts, cfg, pid);
}
