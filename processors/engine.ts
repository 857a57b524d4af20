/**
 * The clinical core of the processors, with no Kafka, no clock and no sockets:
 *
 *   step(state, reading, rules)        → { state, events, verdict }   a reading arrives
 *   tickPatient(state, watermark, rules) → { state, events }          event time passes
 *   applyAction(state, action, rules)  → { state, events }            a clinician acts
 *
 * Deterministic: the same inputs in the same order give the same events with the same ids,
 * which is what crash recovery (reprocessing after a restart) and replay rely on. Alert ids
 * derive from (patientId, rule, onset event time); event ids from (alertId, n, phase).
 *
 * Pipeline of one reading, top to bottom:
 *   de-duplicate (deviceId, seq) → late? → signal back (ends signal loss) →
 *   technical screening (probe off, implausible jumps = artifacts, kept out of the rules) →
 *   threshold rules → trend rules → NEWS2 → lifecycle timers
 *
 * Condition rules run an episode state machine whose transitions are the typed table
 * TRANSITIONS; its outputs are signals to the alert lifecycle (lifecycle.ts).
 */
import { createHash } from 'node:crypto';
import type { Acvpu, AlertAction, AlertEvent, AlertPriority, VitalName, VitalsReading } from '../schemas/records.ts';
import { VITAL_NAMES } from '../schemas/records.ts';
import { emptyMemory, observe, type SeqMemory, type Verdict } from './dedup.ts';
import { PRIORITY_RANK } from './lifecycle.ts';
import * as life from './lifecycle.ts';
import { news2, type News2Level, type News2Score } from './news2.ts';
import type { RuleSet, ThresholdRule, TrendRule } from './rulebook.ts';

// ---------------------------------------------------------------- episode state machine

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
interface StepOut<K extends EpisodeKind> { readonly next: StateOf<Next<K>>; readonly phase?: 'start' | 'end' | 'worse' }
/** The condition of a rule, abstracted: threshold rules and trend rules both fit. */
export interface Condition {
  readonly id: string; readonly op: 'above' | 'below'; readonly threshold: number; readonly hysteresis: number; readonly sustainMs: number; readonly clearMs: number;
  /** Trend rules say "falls by at least N": the threshold itself breaches. Threshold rules are strict. */
  readonly inclusive?: boolean;
}
type Step<K extends EpisodeKind> = (s: StateOf<K>, v: number, ts: number, rule: Condition, patientId: string) => StepOut<K>;

const NORMAL: StateOf<'normal'> = { kind: 'normal' };

export function breached(rule: Condition, v: number): boolean {
  if (rule.inclusive) return rule.op === 'above' ? v >= rule.threshold : v <= rule.threshold;
  return rule.op === 'above' ? v > rule.threshold : v < rule.threshold;
}
/** Back in range with the hysteresis margin: only then does the clearing clock run. */
export function recovered(rule: Condition, v: number): boolean {
  return rule.op === 'above' ? v <= rule.threshold - rule.hysteresis : v >= rule.threshold + rule.hysteresis;
}
const worse = (rule: Condition, a: number, b: number) => (rule.op === 'above' ? a > b : a < b);

export function alertIdOf(patientId: string, ruleId: string, onset: number): string {
  return createHash('sha256').update(`${patientId}|${ruleId}|${onset}`).digest('base64url').slice(0, 22);
}

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
    if (ts - s.since >= rule.sustainMs) return { next: { kind: 'active', alertId: alertIdOf(pid, rule.id, s.since), onset: s.since, worst: w }, phase: 'start' };
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

export function stepEpisode(s: EpisodeState, v: number, ts: number, rule: Condition, pid: string): StepOut<EpisodeKind> {
  // The cast only widens the per-kind signature; each entry's own type is checked above.
  return (STEPS[s.kind] as Step<EpisodeKind>)(s as never, v, ts, rule, pid);
}

// ---------------------------------------------------------------- patient state

/** A time bucket of a trend window: min and max of the parameter within it. */
export interface Bucket { readonly t: number; readonly min: number; readonly max: number }
export interface Obs { readonly v: number; readonly ts: number }
export interface DeviceSeq { readonly deviceId: string; readonly memory: SeqMemory }

export type News2Episode =
  | { readonly kind: 'normal' }
  | { readonly kind: 'pending'; readonly since: number }
  | { readonly kind: 'active'; readonly alertId: string; readonly level: News2Level; readonly total: number; readonly lowerSince?: number }
  | { readonly kind: 'clearing'; readonly alertId: string; readonly level: News2Level; readonly total: number; readonly since: number };

export interface PatientState {
  readonly patientId: string;
  readonly wardId: string;
  readonly bed: string | null;
  /** Highest event time applied to the rules. */
  readonly lastTs: number;
  /** De-duplication memory per device, least recently heard-from first (an array: cheaper to copy per reading than a keyed object). */
  readonly devices: readonly DeviceSeq[];
  readonly episodes: Readonly<Record<string, EpisodeState>>;
  readonly buckets: Readonly<Record<string, readonly Bucket[]>>;
  /** Latest accepted (clinically used) value per vital. */
  readonly obs: Readonly<Partial<Record<VitalName, Obs>>>;
  /** Latest raw value per vital, artifacts included (for jump detection). */
  readonly raw: Readonly<Partial<Record<VitalName, Obs>>>;
  readonly consciousness: { readonly v: Acvpu; readonly ts: number } | null;
  readonly onOxygen: { readonly v: boolean; readonly ts: number } | null;
  readonly news2: News2Episode;
  readonly news2Last: { readonly total: number; readonly level: News2Level; readonly sub: Readonly<Record<string, number>> } | null;
  /** Event times of recent artifacts (at most 10). */
  readonly artifacts: readonly number[];
  /** Event time since when the SpO2 probe reports no signal (null: it does). */
  readonly sensorOffSince: number | null;
  /** Open technical alerts by kind. */
  readonly tech: Readonly<{ signalLoss?: string; sensorOff?: string; artifact?: string }>;
  readonly alerts: life.Alerts;
  /** Recently applied action ids (at most 64), so a redelivered action is applied once. */
  readonly actions: readonly string[];
}

/** Most devices remembered per patient; the least recently heard-from is forgotten first. */
export const MAX_DEVICES = 16;
const ARTIFACT_WINDOW_MS = 60_000;
const ARTIFACT_ALERT_COUNT = 3;

export function initialState(r: Pick<VitalsReading, 'patientId' | 'wardId' | 'bed'>): PatientState {
  return {
    patientId: r.patientId, wardId: r.wardId, bed: r.bed, lastTs: 0, devices: [], episodes: {}, buckets: {}, obs: {}, raw: {},
    consciousness: null, onOxygen: null, news2: { kind: 'normal' }, news2Last: null, artifacts: [], sensorOffSince: null, tech: {}, alerts: {}, actions: [],
  };
}

export type StepVerdict = Verdict | 'late';
export interface StepResult { readonly state: PatientState; readonly events: readonly AlertEvent[]; readonly verdict: StepVerdict }
export interface TickResult { readonly state: PatientState; readonly events: readonly AlertEvent[] }

const NEWS2_PRIORITY: Readonly<Partial<Record<News2Level, AlertPriority>>> = { emergency: 'high', urgent: 'medium', 'single-red': 'low' };
const NEWS2_ALERTING = (l: News2Level) => NEWS2_PRIORITY[l] !== undefined;
const NEWS2_WORDS: Readonly<Record<News2Level, string>> = { none: 'routine', low: 'ward-based response', 'single-red': 'urgent ward-based response (a parameter scored 3)', urgent: 'urgent response', emergency: 'emergency response' };

type Draft = { -readonly [K in keyof PatientState]: PatientState[K] };

/**
 * Field-by-field copies instead of `{ ...x }`: every state then has one hidden class (spreads
 * of states decoded from the changelog did not), which made the copy the engine's hottest line.
 */
function copyState(p: PatientState): Draft {
  return {
    patientId: p.patientId, wardId: p.wardId, bed: p.bed, lastTs: p.lastTs, devices: p.devices, episodes: p.episodes, buckets: p.buckets,
    obs: p.obs, raw: p.raw, consciousness: p.consciousness, onOxygen: p.onOxygen, news2: p.news2, news2Last: p.news2Last,
    artifacts: p.artifacts, sensorOffSince: p.sensorOffSince, tech: p.tech, alerts: p.alerts, actions: p.actions,
  };
}
type VitalObs = Partial<Record<VitalName, Obs>>;
function copyObs(o: Readonly<VitalObs>): VitalObs {
  const c: VitalObs = {};
  if (o.heartRate) c.heartRate = o.heartRate;
  if (o.spo2) c.spo2 = o.spo2;
  if (o.respRate) c.respRate = o.respRate;
  if (o.systolicBp) c.systolicBp = o.systolicBp;
  if (o.diastolicBp) c.diastolicBp = o.diastolicBp;
  if (o.temperature) c.temperature = o.temperature;
  return c;
}

/**
 * Accumulator of one step. `st` is a draft: a fresh shallow copy of the previous state made
 * once per step, whose fields are then replaced (never mutated in place), so the previous
 * state stays intact and the hot path makes one copy instead of one per stage.
 */
class Acc {
  alerts: life.Alerts;
  events: AlertEvent[] = [];
  readonly st: Draft;
  constructor(prev: PatientState, readonly ctx: life.Ctx) { this.st = copyState(prev); this.alerts = prev.alerts; }
  take(o: life.Out): void { this.alerts = o.alerts; if (o.events.length) this.events.push(...o.events); }
  done(): PatientState { this.st.alerts = this.alerts; return this.st; }
}

/** What an alert from a condition rule says about itself (no closures: this runs per reading). */
interface ConditionMeta {
  readonly kind: 'threshold' | 'trend';
  readonly rule: string; readonly label: string; readonly priority: AlertPriority; readonly parameter: string; readonly threshold: number;
  readonly op: 'above' | 'below'; readonly windowMs: number;
}

function onsetMessage(m: ConditionMeta, v: number, onset: number, ts: number, current: number): string {
  if (m.kind === 'trend') return `${m.label}: ${m.parameter} ${v >= 0 ? '+' : ''}${Math.round(v)} within ${Math.round(m.windowMs / 60000)} min (now ${current})`;
  return `${m.label}: ${m.parameter} ${v} ${m.op === 'above' ? '>' : '<'} ${m.threshold} for ${Math.round((ts - onset) / 1000)} s`;
}

const thresholdMeta = new WeakMap<ThresholdRule, ConditionMeta>();
function metaOfThreshold(r: ThresholdRule): ConditionMeta {
  let m = thresholdMeta.get(r);
  if (!m) thresholdMeta.set(r, (m = { kind: 'threshold', rule: r.id, label: r.label, priority: r.priority, parameter: r.parameter, threshold: r.threshold, op: r.op, windowMs: 0 }));
  return m;
}
const trendMeta = new WeakMap<TrendRule, { meta: ConditionMeta; cond: Condition; key: string; width: number }>();
function metaOfTrend(r: TrendRule) {
  let m = trendMeta.get(r);
  if (!m) {
    const op = r.change < 0 ? 'below' : 'above';
    m = {
      meta: { kind: 'trend', rule: r.id, label: r.label, priority: r.priority, parameter: r.parameter, threshold: r.change, op, windowMs: r.windowMs },
      cond: { id: r.id, op, threshold: r.change, hysteresis: Math.abs(r.change) / 2, sustainMs: r.sustainMs, clearMs: 60_000, inclusive: true },
      key: `trend:${r.id}`,
      width: Math.max(1000, Math.floor(r.windowMs / 10)),
    };
    trendMeta.set(r, m);
  }
  return m;
}

/** The metadata of every condition rule of a rule set, looked up once per reading rather than once per rule. */
const metasByRuleSet = new WeakMap<RuleSet, { thresholds: ConditionMeta[]; trends: ReturnType<typeof metaOfTrend>[] }>();
function metasOf(rules: RuleSet) {
  let m = metasByRuleSet.get(rules);
  if (!m) metasByRuleSet.set(rules, (m = { thresholds: rules.thresholds.map(metaOfThreshold), trends: rules.trends.map(metaOfTrend) }));
  return m;
}

function runCondition(acc: Acc, cond: Condition, meta: ConditionMeta, cur: EpisodeState, v: number, ts: number, current: number): EpisodeState {
  const out = stepEpisode(cur, v, ts, cond, acc.ctx.patientId);
  const next = out.next;
  if (out.phase === undefined) return next;
  if (out.phase === 'start' && next.kind === 'active') {
    acc.take(life.onset(acc.alerts, acc.ctx, { alertId: next.alertId, rule: meta.rule, label: meta.label, priority: meta.priority, onsetTs: next.onset, parameter: meta.parameter, value: v, threshold: meta.threshold, message: onsetMessage(meta, v, next.onset, ts, current) }, ts));
  } else if (out.phase === 'worse' && next.kind === 'active') {
    acc.take(life.worse(acc.alerts, acc.ctx, next.alertId, v, ts, `${meta.label} worse: ${meta.parameter} ${v}`));
  } else if (out.phase === 'end' && (cur.kind === 'active' || cur.kind === 'clearing')) {
    acc.take(life.clear(acc.alerts, acc.ctx, cur.alertId, v, ts, `${meta.label} ended: ${meta.parameter} back to ${v} (worst ${cur.worst})`));
  }
  return next;
}

function technicalOnset(acc: Acc, kind: 'signalLoss' | 'sensorOff' | 'artifact', rule: string, priority: AlertPriority, onsetTs: number, ts: number, message: string, parameter: string | null = null): void {
  if (acc.st.tech[kind]) return;
  const alertId = alertIdOf(acc.ctx.patientId, rule, onsetTs);
  acc.take(life.onset(acc.alerts, acc.ctx, { alertId, rule, label: message, priority, onsetTs, parameter, value: null, threshold: null, message }, ts));
  acc.st.tech = { ...acc.st.tech, [kind]: alertId };
}

function technicalClear(acc: Acc, kind: 'signalLoss' | 'sensorOff' | 'artifact', ts: number, message: string): void {
  const id = acc.st.tech[kind];
  if (!id) return;
  acc.take(life.clear(acc.alerts, acc.ctx, id, null, ts, message));
  const { [kind]: _gone, ...rest } = acc.st.tech;
  acc.st.tech = rest;
}

function ctxOf(st: PatientState, rules: RuleSet, correlationId: string): life.Ctx {
  return { patientId: st.patientId, wardId: st.wardId, bed: st.bed, ruleVersion: rules.version, correlationId, cfg: rules.lifecycle };
}

export function step(prev: PatientState | undefined, r: VitalsReading, rules: RuleSet): StepResult {
  let st = prev ?? initialState(r);
  if (st.wardId !== r.wardId || st.bed !== r.bed) st = { ...st, wardId: r.wardId, bed: r.bed };
  let di = st.devices.length - 1;
  while (di >= 0 && st.devices[di]!.deviceId !== r.deviceId) di--;
  const seen = observe(di >= 0 ? st.devices[di]!.memory : emptyMemory(), r.seq, r.ts);
  if (seen.verdict === 'duplicate' || seen.verdict === 'stale') return { state: st, events: [], verdict: seen.verdict };
  // Most recently heard-from last; past MAX_DEVICES the least recent is forgotten.
  const entry: DeviceSeq = { deviceId: r.deviceId, memory: seen.memory };
  let devices: readonly DeviceSeq[];
  if (di === st.devices.length - 1 && di >= 0) { const d = st.devices.slice(); d[di] = entry; devices = d; }
  else {
    const others = di >= 0 ? st.devices.filter((_, i) => i !== di) : st.devices;
    devices = [...others.slice(Math.max(0, others.length - (MAX_DEVICES - 1))), entry];
  }
  // Event time: a reading older than what the rules already saw cannot move sustain clocks
  // backwards; it is remembered for de-duplication and reported as late (the runner's reorder
  // buffer puts readings back in order within the allowed lateness before they get here).
  if (r.ts < st.lastTs) return { state: { ...st, devices }, events: [], verdict: 'late' };
  const ts = r.ts;
  const acc = new Acc(st, ctxOf(st, rules, r.correlationId));
  acc.st.devices = devices;
  acc.st.lastTs = ts;
  const tech = rules.technical;
  acc.take(life.tick(acc.alerts, acc.ctx, ts)); // timers due before this reading

  // A gap longer than the signal-loss time is a signal loss even if no timer saw it (the
  // partition was idle, or this is a replay): stamped at its due time, so ticks do not matter.
  if (st.lastTs > 0 && ts - st.lastTs >= tech.signalLossMs) {
    technicalOnset(acc, 'signalLoss', 'signal-loss', 'medium', st.lastTs + tech.signalLossMs, st.lastTs + tech.signalLossMs, `No signal for ${Math.round(tech.signalLossMs / 1000)} s`);
  }
  // The device is back.
  technicalClear(acc, 'signalLoss', ts, 'Signal restored');

  // Technical screening: decide which values are clinically usable.
  const accepted: Partial<Record<VitalName, number>> = {};
  const acceptedObs: Partial<Record<VitalName, Obs>> = {};
  const raw = copyObs(acc.st.raw);
  let artifacts = acc.st.artifacts;
  for (const name of VITAL_NAMES) {
    const v = r[name];
    if (v === null) continue;
    const before = raw[name];
    const seenObs: Obs = { v, ts };
    raw[name] = seenObs;
    if (name === 'spo2' && v <= 0) { // a living patient has no SpO2 of 0: the probe is off
      const since = acc.st.sensorOffSince ?? ts;
      if (acc.st.sensorOffSince === null) acc.st.sensorOffSince = ts;
      if (ts - since >= tech.sensorOffMs) technicalOnset(acc, 'sensorOff', 'sensor-off', 'low', since, ts, 'SpO2 probe off or no signal', 'spo2');
      continue;
    }
    if (name === 'spo2') {
      if (acc.st.sensorOffSince !== null) acc.st.sensorOffSince = null;
      technicalClear(acc, 'sensorOff', ts, 'SpO2 signal back');
    }
    const maxJump = tech.maxJump[name];
    if (maxJump !== undefined && before && ts - before.ts <= tech.jumpWindowMs && Math.abs(v - before.v) > maxJump) {
      artifacts = [...artifacts.slice(-9), ts]; // implausible jump: motion artifact, kept out of the rules
      continue;
    }
    accepted[name] = v;
    acceptedObs[name] = seenObs; // the same object in raw and obs: one allocation per value
  }
  let recentArtifacts = 0;
  for (const t of artifacts) if (ts - t <= ARTIFACT_WINDOW_MS) recentArtifacts++;
  acc.st.raw = raw;
  acc.st.artifacts = artifacts;
  if (recentArtifacts >= ARTIFACT_ALERT_COUNT) technicalOnset(acc, 'artifact', 'artifact', 'low', ts, ts, `Signal quality: ${recentArtifacts} artifacts within 60 s`);
  else if (recentArtifacts === 0) technicalClear(acc, 'artifact', ts, 'Signal quality restored');

  // Threshold rules.
  let episodes: Record<string, EpisodeState> | null = null;
  const metas = metasOf(rules);
  for (let i = 0; i < rules.thresholds.length; i++) {
    const rule = rules.thresholds[i]!;
    const v = accepted[rule.parameter];
    if (v === undefined) continue;
    const cur = acc.st.episodes[rule.id] ?? NORMAL;
    const next = runCondition(acc, rule, metas.thresholds[i]!, cur, v, ts, v);
    if (next !== cur) (episodes ??= { ...acc.st.episodes })[rule.id] = next;
  }

  // Trend rules: change against the extreme of the window (max for falls, min for rises),
  // kept as 10 buckets of min/max per window.
  let buckets: Record<string, readonly Bucket[]> | null = null;
  for (let i = 0; i < rules.trends.length; i++) {
    const rule = rules.trends[i]!;
    const v = accepted[rule.parameter];
    if (v === undefined) continue;
    const m = metas.trends[i]!;
    const bt = ts - (ts % m.width);
    const prevB = acc.st.buckets[rule.id] ?? [];
    let ref = v;
    let keep = 0;
    for (let i = prevB.length - 1; i >= 0; i--) {
      const b = prevB[i]!;
      if (b.t <= ts - rule.windowMs) break;
      keep++;
      if (rule.change < 0 ? b.max > ref : b.min < ref) ref = rule.change < 0 ? b.max : b.min;
    }
    const kept = keep === prevB.length ? prevB : prevB.slice(prevB.length - keep);
    const last = kept.at(-1);
    let nb: readonly Bucket[];
    if (last && last.t === bt) nb = v >= last.min && v <= last.max ? kept : [...kept.slice(0, -1), { t: bt, min: Math.min(last.min, v), max: Math.max(last.max, v) }];
    else nb = [...kept, { t: bt, min: v, max: v }];
    if (nb !== prevB) (buckets ??= { ...acc.st.buckets })[rule.id] = nb;
    const cur = acc.st.episodes[m.key] ?? NORMAL;
    const next = runCondition(acc, m.cond, m.meta, cur, v - ref, ts, v);
    if (next !== cur) (episodes ??= { ...acc.st.episodes })[m.key] = next;
  }
  if (episodes) for (const k in episodes) if (episodes[k]!.kind === 'normal') delete episodes[k];

  // Latest clinically usable observations, for NEWS2 and the status topic.
  const obs = copyObs(acc.st.obs);
  for (const k of VITAL_NAMES) { const o = acceptedObs[k]; if (o !== undefined) obs[k] = o; }
  if (episodes) acc.st.episodes = episodes;
  if (buckets) acc.st.buckets = buckets;
  acc.st.obs = obs;
  if (r.consciousness !== null) acc.st.consciousness = { v: r.consciousness, ts };
  if (r.onOxygen !== null) acc.st.onOxygen = { v: r.onOxygen, ts };

  if (rules.news2.enabled) runNews2(acc, rules, ts);

  return { state: acc.done(), events: acc.events, verdict: seen.verdict };
}

// Message and details are built only when an event carries them (most readings change no
// alert). Module-level functions rather than closures: a closure per reading costs an
// allocation (and, under tsx's keepNames, a defineProperty) on the hottest path.
const news2Message = (s: News2Score): string => `NEWS2 ${s.total}${s.complete ? '' : ' (incomplete)'}: ${NEWS2_WORDS[s.level]}`;
const news2Details = (s: News2Score): Record<string, number> => ({ total: s.total, ...s.subScores });
const news2Rank = (l: News2Level): number => PRIORITY_RANK[NEWS2_PRIORITY[l]!];

function runNews2(acc: Acc, rules: RuleSet, ts: number): void {
  const cfg = rules.news2;
  const o = acc.st.obs;
  const f = ts - cfg.freshnessMs;
  const s = news2({
    respRate: o.respRate && o.respRate.ts >= f ? o.respRate.v : null,
    spo2: o.spo2 && o.spo2.ts >= f ? o.spo2.v : null,
    onOxygen: acc.st.onOxygen && acc.st.onOxygen.ts >= f ? acc.st.onOxygen.v : null,
    systolicBp: o.systolicBp && o.systolicBp.ts >= f ? o.systolicBp.v : null,
    heartRate: o.heartRate && o.heartRate.ts >= f ? o.heartRate.v : null,
    consciousness: acc.st.consciousness && acc.st.consciousness.ts >= f ? acc.st.consciousness.v : null,
    temperature: o.temperature && o.temperature.ts >= f ? o.temperature.v : null,
  }, cfg.spo2Scale);
  const cur = acc.st.news2;
  const alerting = NEWS2_ALERTING(s.level);
  let next: News2Episode = cur;
  switch (cur.kind) {
    case 'normal':
      if (alerting) next = cfg.sustainMs <= 0 ? startNews2(acc, ts, ts, s.level, s.total, news2Message(s), news2Details(s)) : { kind: 'pending', since: ts };
      break;
    case 'pending':
      if (!alerting) next = { kind: 'normal' };
      else if (ts - cur.since >= cfg.sustainMs) next = startNews2(acc, cur.since, ts, s.level, s.total, news2Message(s), news2Details(s));
      break;
    case 'active':
    case 'clearing': {
      if (!alerting) {
        if (cur.kind === 'active') next = cfg.clearMs <= 0 ? endNews2(acc, cur.alertId, ts, news2Message(s)) : { ...cur, kind: 'clearing', since: ts };
        else if (ts - cur.since >= cfg.clearMs) next = endNews2(acc, cur.alertId, ts, news2Message(s));
        break;
      }
      if (news2Rank(s.level) > news2Rank(cur.level)) {
        // Up at once: a worse response level is news.
        acc.take(life.reprioritize(acc.alerts, acc.ctx, cur.alertId, NEWS2_PRIORITY[s.level]!, s.total, ts, news2Message(s), news2Details(s)));
        next = { kind: 'active', alertId: cur.alertId, level: s.level, total: s.total };
      } else if (news2Rank(s.level) < news2Rank(cur.level)) {
        // Down only after the lower level held for deescalateMs: a score that flaps between two
        // levels must not page people every time it crosses.
        const since = cur.kind === 'active' && cur.lowerSince !== undefined ? cur.lowerSince : ts;
        if (ts - since >= cfg.deescalateMs) {
          acc.take(life.reprioritize(acc.alerts, acc.ctx, cur.alertId, NEWS2_PRIORITY[s.level]!, s.total, ts, news2Message(s), news2Details(s)));
          next = { kind: 'active', alertId: cur.alertId, level: s.level, total: s.total };
        } else next = { kind: 'active', alertId: cur.alertId, level: cur.level, total: cur.total, lowerSince: since };
      } else {
        if (s.total > cur.total) acc.take(life.worse(acc.alerts, acc.ctx, cur.alertId, s.total, ts, news2Message(s), news2Details(s)));
        next = { kind: 'active', alertId: cur.alertId, level: cur.level, total: Math.max(cur.total, s.total) };
      }
      break;
    }
  }
  acc.st.news2 = next;
  // Unchanged scores keep the previous object: nothing new to retain in the patient's state.
  const last = acc.st.news2Last;
  if (!(last && last.total === s.total && last.level === s.level && sameScores(last.sub, s.subScores))) {
    acc.st.news2Last = { total: s.total, level: s.level, sub: s.subScores as Record<string, number> };
  }
}

function sameScores(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number | undefined>>): boolean {
  let n = 0;
  for (const k in b) { if (a[k] !== b[k]) return false; n++; }
  for (const _ in a) n--;
  return n === 0;
}

function startNews2(acc: Acc, onset: number, ts: number, level: News2Level, total: number, message: string, details: Record<string, number>): News2Episode {
  const alertId = alertIdOf(acc.ctx.patientId, 'news2', onset);
  acc.take(life.onset(acc.alerts, acc.ctx, { alertId, rule: 'news2', label: 'NEWS2', priority: NEWS2_PRIORITY[level]!, onsetTs: onset, parameter: 'news2', value: total, threshold: level === 'single-red' ? 3 : level === 'urgent' ? 5 : 7, message, details }, ts));
  return { kind: 'active', alertId, level, total };
}

function endNews2(acc: Acc, alertId: string, ts: number, message: string): News2Episode {
  acc.take(life.clear(acc.alerts, acc.ctx, alertId, null, ts, `NEWS2 back below alerting levels (${message})`));
  return { kind: 'normal' };
}

/**
 * Event time passed without a reading of this patient (the runner calls it when the
 * partition watermark advances): signal loss, escalation, silence expiry.
 */
export function tickPatient(st: PatientState, watermark: number, rules: RuleSet): TickResult {
  if (watermark <= st.lastTs) return { state: st, events: [] };
  // Fast path (runs for every patient of a partition each second): nothing open, nothing due.
  let open = false;
  for (const _ in st.alerts) { open = true; break; }
  if (!open && (st.lastTs === 0 || watermark - st.lastTs < rules.technical.signalLossMs)) return { state: st, events: [] };
  const acc = new Acc(st, ctxOf(st, rules, 'timer'));
  if (st.lastTs > 0 && watermark - st.lastTs >= rules.technical.signalLossMs) {
    const onsetTs = st.lastTs + rules.technical.signalLossMs;
    // Stamped at its due time, not at the watermark that noticed it: when the runner's timer
    // fires depends on batching, and the event (and its id) must not.
    technicalOnset(acc, 'signalLoss', 'signal-loss', 'medium', onsetTs, onsetTs, `No signal for ${Math.round(rules.technical.signalLossMs / 1000)} s`);
  }
  acc.take(life.tick(acc.alerts, acc.ctx, watermark));
  if (acc.events.length === 0 && acc.alerts === st.alerts) return { state: st, events: [] };
  return { state: acc.done(), events: acc.events };
}

export function applyAction(st: PatientState, a: AlertAction, rules: RuleSet): TickResult {
  if (st.actions.includes(a.actionId)) return { state: st, events: [] };
  const ctx = ctxOf(st, rules, `action:${a.actionId}`);
  const out = a.action === 'ack'
    ? life.acknowledge(st.alerts, ctx, a.alertId, a.user, a.role, Math.max(a.ts, st.lastTs))
    : life.silence(st.alerts, ctx, a.alertId, a.user, a.role, a.durationMs ?? rules.lifecycle.maxSilenceMs, Math.max(a.ts, st.lastTs));
  return { state: { ...st, alerts: out.alerts, actions: [...st.actions.slice(-63), a.actionId] }, events: out.events };
}
