/**
 * The clinical core of the processors, with no Kafka, no clock and no sockets:
 *
 *   step(patientState, reading, rules) → { state, events, verdict }
 *
 * It is deterministic: the same readings in the same order give the same events with the
 * same ids, which is what crash recovery (reprocessing after a restart) and replay rely on.
 * Alert ids derive from (patientId, rule, onset event time); event ids from (alertId, phase).
 *
 * Each threshold rule runs an episode state machine; its transitions are the typed table
 * TRANSITIONS below, so a step function that returns a state the table does not allow from
 * its source state does not compile.
 */
import { createHash } from 'node:crypto';
import type { AlertEvent, VitalsReading } from '../schemas/records.ts';
import { emptyMemory, observe, type SeqMemory, type Verdict } from './dedup.ts';
import { breached, recovered, worse, type RuleSet, type ThresholdRule } from './rules.ts';

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

type StateOf<K extends EpisodeKind> = Extract<EpisodeState, { kind: K }>;
type Next<K extends EpisodeKind> = (typeof TRANSITIONS)[K][number];
interface StepOut<K extends EpisodeKind> { readonly next: StateOf<Next<K>>; readonly phase?: 'start' | 'end' }
type Step<K extends EpisodeKind> = (s: StateOf<K>, v: number, ts: number, rule: ThresholdRule, patientId: string) => StepOut<K>;

const NORMAL: StateOf<'normal'> = { kind: 'normal' };

export function alertIdOf(patientId: string, ruleId: string, onset: number): string {
  return createHash('sha256').update(`${patientId}|${ruleId}|${onset}`).digest('base64url').slice(0, 22);
}

const STEPS: { readonly [K in EpisodeKind]: Step<K> } = {
  normal: (_s, v, ts, rule, pid) => {
    if (!breached(rule, v)) return { next: NORMAL };
    if (rule.sustainMs <= 0) {
      const out = STEPS.pending({ kind: 'pending', since: ts, worst: v }, v, ts, rule, pid);
      return { next: out.next, phase: out.phase };
    }
    return { next: { kind: 'pending', since: ts, worst: v } };
  },
  pending: (s, v, ts, rule, pid) => {
    if (!breached(rule, v)) return { next: NORMAL };
    const w = worse(rule, v, s.worst) ? v : s.worst;
    if (ts - s.since >= rule.sustainMs) return { next: { kind: 'active', alertId: alertIdOf(pid, rule.id, s.since), onset: s.since, worst: w }, phase: 'start' };
    return { next: { kind: 'pending', since: s.since, worst: w } };
  },
  active: (s, v, ts, rule) => {
    if (recovered(rule, v)) {
      if (rule.clearMs <= 0) return { next: NORMAL, phase: 'end' };
      return { next: { kind: 'clearing', alertId: s.alertId, onset: s.onset, worst: s.worst, since: ts } };
    }
    return { next: worse(rule, v, s.worst) ? { ...s, worst: v } : s };
  },
  clearing: (s, v, ts, rule) => {
    if (!recovered(rule, v)) return { next: { kind: 'active', alertId: s.alertId, onset: s.onset, worst: worse(rule, v, s.worst) ? v : s.worst } };
    if (ts - s.since >= rule.clearMs) return { next: NORMAL, phase: 'end' };
    return { next: s };
  },
};

function stepEpisode(s: EpisodeState, v: number, ts: number, rule: ThresholdRule, pid: string): StepOut<EpisodeKind> {
  // The cast only widens the per-kind signature; each entry's own type is checked above.
  return (STEPS[s.kind] as Step<EpisodeKind>)(s as never, v, ts, rule, pid);
}

export interface PatientState {
  readonly patientId: string;
  readonly wardId: string;
  readonly bed: string | null;
  /** Highest event time applied to the rules. */
  readonly lastTs: number;
  readonly devices: Readonly<Record<string, SeqMemory>>;
  readonly episodes: Readonly<Record<string, EpisodeState>>;
}

/** Most devices remembered per patient; the least recently heard-from is forgotten first. */
export const MAX_DEVICES = 16;

export function initialState(r: Pick<VitalsReading, 'patientId' | 'wardId' | 'bed'>): PatientState {
  return { patientId: r.patientId, wardId: r.wardId, bed: r.bed, lastTs: 0, devices: {}, episodes: {} };
}

export type StepVerdict = Verdict | 'late';

export interface StepResult {
  readonly state: PatientState;
  readonly events: readonly AlertEvent[];
  readonly verdict: StepVerdict;
}

function eventOf(rule: ThresholdRule, rules: RuleSet, st: PatientState, r: VitalsReading, ep: { alertId: string; onset: number; worst: number }, phase: 'start' | 'end', v: number): AlertEvent {
  const cmp = rule.op === 'above' ? '>' : '<';
  const message = phase === 'start'
    ? `${rule.label}: ${rule.parameter} ${v} ${cmp} ${rule.threshold} for ${Math.round((r.ts - ep.onset) / 1000)} s`
    : `${rule.label} ended: ${rule.parameter} back to ${v} (worst ${ep.worst})`;
  return {
    eventId: `${ep.alertId}:${phase}`,
    alertId: ep.alertId,
    patientId: st.patientId,
    wardId: st.wardId,
    bed: st.bed,
    rule: rule.id,
    priority: rule.priority,
    phase,
    state: phase === 'end' ? 'inactive' : 'active',
    parameter: rule.parameter,
    value: v,
    threshold: rule.threshold,
    onsetTs: ep.onset,
    eventTs: r.ts,
    message,
    ruleVersion: rules.version,
    correlationId: r.correlationId,
  };
}

export function step(prev: PatientState | undefined, r: VitalsReading, rules: RuleSet): StepResult {
  let st = prev ?? initialState(r);
  if (st.wardId !== r.wardId || st.bed !== r.bed) st = { ...st, wardId: r.wardId, bed: r.bed };
  const seen = observe(st.devices[r.deviceId] ?? emptyMemory(), r.seq, r.ts);
  if (seen.verdict === 'duplicate' || seen.verdict === 'stale') return { state: st, events: [], verdict: seen.verdict };
  let devices: Record<string, SeqMemory> = { ...st.devices, [r.deviceId]: seen.memory };
  const ids = Object.keys(devices);
  if (ids.length > MAX_DEVICES) {
    const oldest = ids.reduce((a, b) => (devices[a]!.maxTs <= devices[b]!.maxTs ? a : b));
    const { [oldest]: _dropped, ...rest } = devices;
    devices = rest;
  }
  // Event time: a reading older than what the rules already saw cannot move sustain clocks
  // backwards; it is remembered for de-duplication and reported as late.
  if (r.ts < st.lastTs) return { state: { ...st, devices }, events: [], verdict: 'late' };
  const events: AlertEvent[] = [];
  let episodes: Record<string, EpisodeState> | null = null;
  for (const rule of rules.thresholds) {
    const v = r[rule.parameter];
    if (v === null) continue;
    const cur = st.episodes[rule.id] ?? NORMAL;
    const out = stepEpisode(cur, v, r.ts, rule, st.patientId);
    if (out.next !== cur) (episodes ??= { ...st.episodes })[rule.id] = out.next;
    if (out.phase === 'start' && out.next.kind === 'active') events.push(eventOf(rule, rules, st, r, out.next, 'start', v));
    if (out.phase === 'end' && cur.kind !== 'normal' && cur.kind !== 'pending') events.push(eventOf(rule, rules, st, r, cur, 'end', v));
  }
  if (episodes) for (const [k, e] of Object.entries(episodes)) if (e.kind === 'normal') delete episodes[k];
  return { state: { ...st, lastTs: r.ts, devices, episodes: episodes ?? st.episodes }, events, verdict: seen.verdict };
}
