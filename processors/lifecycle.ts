/**
 * Alert lifecycle after IHE PCD Alert Communication Management, as a pure state machine.
 *
 * Condition sources (threshold, trend, NEWS2 and technical rules) emit *signals*: onset,
 * worse, reprioritize, clear. Clinicians' actions (from the alert-actions topic) are signals
 * too: ack, silence. Event time drives timers: escalation of unacknowledged high-priority
 * alerts, and silence expiry. Each accepted signal yields at most one AlertEvent.
 *
 *   state      active: condition present · latched: condition ended, held until acknowledged
 *              (for priorities listed in lifecycle.latch) · inactive: closed
 *   phases     start, update (worsened; throttled), escalate / deescalate (priority change, or
 *              escalation to the next role: `notify` names it), end, acknowledged, silenced
 *
 * LIFECYCLE below is the transition table: the states each (state, event) may move to. NEXT
 * decides which of them, one function per allowed (state, event), typed so that it can only
 * return a state LIFECYCLE lists: an impossible transition does not compile. The signal
 * functions ask `nextState` and apply its answer; a signal the table has no transition for is
 * ignored (a `worse` for a latched alert, anything for a closed one).
 */
import type { AlertEvent, AlertPhase, AlertPriority, AlertState, ProcessorState } from '../schemas/records.ts';
import type { LifecycleConfig } from './rulebook.ts';

export type LifeEvent = 'worse' | 'reprioritize' | 'clear' | 'ack' | 'silence' | 'escalate';
type OpenState = Exclude<AlertState, 'inactive'>;

export const LIFECYCLE = {
  active: { worse: ['active'], reprioritize: ['active'], clear: ['latched', 'inactive'], ack: ['active'], silence: ['active'], escalate: ['active'] },
  latched: { ack: ['inactive'], silence: ['latched'] },
  inactive: {},
} as const satisfies { readonly [S in AlertState]: { readonly [E in LifeEvent]?: readonly AlertState[] } };

/** The states LIFECYCLE allows from (any of) `S` on `E`; never when it has no such transition. */
export type LifecycleTarget<S extends AlertState, E extends LifeEvent> = S extends AlertState
  ? E extends keyof (typeof LIFECYCLE)[S]
    ? (typeof LIFECYCLE)[S][E] extends readonly (infer T)[]
      ? T
      : never
    : never
  : never;
type Decide<S extends AlertState, E extends LifeEvent> = (a: OpenAlert, cfg: LifecycleConfig) => LifecycleTarget<S, E>;
/** One decision per transition LIFECYCLE has, and none it has not. */
export type Deciders = { readonly [S in AlertState]: { readonly [E in keyof (typeof LIFECYCLE)[S] & LifeEvent]: Decide<S, E> } };

const NEXT: Deciders = {
  active: {
    worse: () => 'active',
    reprioritize: () => 'active',
    // A latching priority is held until acknowledged; an acknowledged alert closes with its condition.
    clear: (a, cfg) => (cfg.latch.includes(a.priority) && !a.acked ? 'latched' : 'inactive'),
    ack: () => 'active',
    silence: () => 'active',
    escalate: () => 'active',
  },
  latched: { ack: () => 'inactive', silence: () => 'latched' },
  inactive: {},
};

/** The state `a` moves to on `event`, as the table decides; null when the table has no such transition. */
export function nextState<E extends LifeEvent>(a: OpenAlert, event: E, cfg: LifecycleConfig): LifecycleTarget<OpenState, E> | null {
  const decide = (NEXT[a.state] as { readonly [K in LifeEvent]?: (a: OpenAlert, cfg: LifecycleConfig) => AlertState })[event];
  return decide ? (decide(a, cfg) as LifecycleTarget<OpenState, E>) : null;
}

export const PRIORITY_RANK: Readonly<Record<AlertPriority, number>> = { high: 3, medium: 2, low: 1 };

/** An open alert as the patient state keeps it (and the changelog stores it: schemas/processor-state.avsc). */
export type OpenAlert = ProcessorState['alerts'][string];

export interface Ctx {
  readonly patientId: string;
  readonly wardId: string;
  readonly bed: string | null;
  readonly ruleVersion: string;
  readonly correlationId: string;
  readonly cfg: LifecycleConfig;
}

export interface Onset {
  readonly alertId: string;
  readonly rule: string;
  readonly label: string;
  readonly priority: AlertPriority;
  readonly onsetTs: number;
  readonly parameter: string | null;
  readonly value: number | null;
  readonly threshold: number | null;
  readonly message: string;
  readonly details?: Readonly<Record<string, number>> | null;
}

function event(
  a: OpenAlert,
  ctx: Ctx,
  phase: AlertPhase,
  state: AlertState,
  ts: number,
  message: string,
  o: {
    value?: number | null;
    details?: Readonly<Record<string, number>> | null;
    notify?: readonly string[];
    actor?: string | null;
    actorRole?: string | null;
    priority?: AlertPriority;
  } = {},
): AlertEvent {
  return {
    eventId: `${a.alertId}:${a.n}:${phase}`,
    alertId: a.alertId,
    patientId: ctx.patientId,
    wardId: ctx.wardId,
    bed: ctx.bed,
    rule: a.rule,
    priority: o.priority ?? a.priority,
    phase,
    state,
    parameter: a.parameter,
    value: o.value ?? null,
    threshold: a.threshold,
    onsetTs: a.onsetTs,
    eventTs: ts,
    message,
    ruleVersion: ctx.ruleVersion,
    correlationId: ctx.correlationId,
    details: o.details ?? null,
    notify: [...(o.notify ?? [])],
    actor: o.actor ?? null,
    actorRole: o.actorRole ?? null,
    groupedWith: a.groupedWith,
    silencedUntil: a.silencedUntil,
  };
}

export type Alerts = Readonly<Record<string, OpenAlert>>;
const NO_EVENTS: readonly AlertEvent[] = Object.freeze([]);
export interface Out {
  readonly alerts: Alerts;
  readonly events: readonly AlertEvent[];
}

const put = (alerts: Alerts, a: OpenAlert): Alerts => ({ ...alerts, [a.alertId]: a });
const drop = (alerts: Alerts, id: string): Alerts => {
  const { [id]: _x, ...rest } = alerts;
  return rest;
};

export function onset(alerts: Alerts, ctx: Ctx, o: Onset, ts: number): Out {
  if (alerts[o.alertId]) return { alerts, events: [] }; // replayed onset: already open
  // Grouping: an onset while the patient already has an open, unacknowledged alert of the same
  // or higher priority joins that alert's group (shown together, no separate sound).
  const lead = Object.values(alerts)
    .filter((x) => !x.acked && PRIORITY_RANK[x.priority] >= PRIORITY_RANK[o.priority])
    .sort((x, y) => PRIORITY_RANK[y.priority] - PRIORITY_RANK[x.priority] || x.onsetTs - y.onsetTs)[0];
  const a: OpenAlert = {
    alertId: o.alertId,
    rule: o.rule,
    label: o.label,
    priority: o.priority,
    state: 'active',
    acked: false,
    silencedUntil: null,
    onsetTs: o.onsetTs,
    parameter: o.parameter,
    threshold: o.threshold,
    worst: o.value,
    lastUpdateTs: ts,
    escalationLevel: 0,
    lastEscalationTs: ts,
    groupedWith: lead ? lead.alertId : null,
    n: 0,
  };
  const ev = event(a, ctx, 'start', 'active', ts, o.message, { value: o.value, details: o.details, notify: [ctx.cfg.escalation[0] ?? 'nurse'] });
  return { alerts: put(alerts, { ...a, n: 1 }), events: [ev] };
}

export function worse(
  alerts: Alerts,
  ctx: Ctx,
  alertId: string,
  value: number,
  ts: number,
  message: string,
  details?: Readonly<Record<string, number>> | null,
): Out {
  const a = alerts[alertId];
  const to = a ? nextState(a, 'worse', ctx.cfg) : null;
  if (!a || to === null) return { alerts, events: NO_EVENTS };
  // Throttling: track the worst value always, tell people at most once per updateThrottle.
  if (ts - a.lastUpdateTs < ctx.cfg.updateThrottleMs) return { alerts: put(alerts, { ...a, worst: value }), events: NO_EVENTS };
  const next: OpenAlert = { ...a, state: to, worst: value, lastUpdateTs: ts, n: a.n + 1 };
  return { alerts: put(alerts, next), events: [event(a, ctx, 'update', to, ts, message, { value, details })] };
}

export function reprioritize(
  alerts: Alerts,
  ctx: Ctx,
  alertId: string,
  priority: AlertPriority,
  value: number | null,
  ts: number,
  message: string,
  details?: Readonly<Record<string, number>> | null,
): Out {
  const a = alerts[alertId];
  const to = a && a.priority !== priority ? nextState(a, 'reprioritize', ctx.cfg) : null;
  if (!a || to === null) return { alerts, events: NO_EVENTS };
  const up = PRIORITY_RANK[priority] > PRIORITY_RANK[a.priority];
  // A rise in priority is news even to someone who acknowledged the lower one.
  const next: OpenAlert = { ...a, state: to, priority, acked: up ? false : a.acked, lastUpdateTs: ts, lastEscalationTs: ts, n: a.n + 1 };
  return {
    alerts: put(alerts, next),
    events: [
      event(a, ctx, up ? 'escalate' : 'deescalate', to, ts, message, { value, details, priority, notify: up ? [ctx.cfg.escalation[0] ?? 'nurse'] : [] }),
    ],
  };
}

export function clear(alerts: Alerts, ctx: Ctx, alertId: string, value: number | null, ts: number, message: string): Out {
  const a = alerts[alertId];
  const to = a ? nextState(a, 'clear', ctx.cfg) : null;
  if (!a || to === null) return { alerts, events: NO_EVENTS };
  if (to === 'latched') {
    const next: OpenAlert = { ...a, state: to, n: a.n + 1 };
    return { alerts: put(alerts, next), events: [event(a, ctx, 'end', to, ts, `${message} (latched until acknowledged)`, { value })] };
  }
  return { alerts: drop(alerts, alertId), events: [event(a, ctx, 'end', to, ts, message, { value })] };
}

export function acknowledge(alerts: Alerts, ctx: Ctx, alertId: string, actor: string, actorRole: string, ts: number): Out {
  const a = alerts[alertId];
  const to = a && !a.acked ? nextState(a, 'ack', ctx.cfg) : null;
  if (!a || to === null) return { alerts, events: NO_EVENTS };
  const message = `${a.label} acknowledged by ${actorRole}`;
  if (to === 'inactive') return { alerts: drop(alerts, alertId), events: [event(a, ctx, 'acknowledged', to, ts, message, { actor, actorRole })] };
  const next: OpenAlert = { ...a, state: to, acked: true, n: a.n + 1 };
  return { alerts: put(alerts, next), events: [event(next, ctx, 'acknowledged', to, ts, message, { actor, actorRole })] };
}

export function silence(alerts: Alerts, ctx: Ctx, alertId: string, actor: string, actorRole: string, durationMs: number, ts: number): Out {
  const a = alerts[alertId];
  const to = a ? nextState(a, 'silence', ctx.cfg) : null;
  if (!a || to === null) return { alerts, events: NO_EVENTS };
  // Silencing is time-boxed: never longer than lifecycle.maxSilence.
  const until = ts + Math.min(Math.max(0, durationMs), ctx.cfg.maxSilenceMs);
  const next: OpenAlert = { ...a, state: to, silencedUntil: until, n: a.n + 1 };
  return {
    alerts: put(alerts, next),
    events: [event(next, ctx, 'silenced', to, ts, `${a.label} silenced by ${actorRole} for ${Math.round((until - ts) / 1000)} s`, { actor, actorRole })],
  };
}

/**
 * Event-time timers up to `ts`: silence expiry and escalation of unacknowledged high-priority
 * alerts. Events are stamped with their due time, not with `ts`, so the result does not depend
 * on how often timers are checked (determinism under replay and reprocessing).
 */
export function tick(alerts: Alerts, ctx: Ctx, ts: number): Out {
  let out = alerts;
  let events: AlertEvent[] | null = null;
  const roles = ctx.cfg.escalation;
  // Runs before every reading: no allocation unless something is due (most patients have no
  // open alert, most open alerts nothing due). This filter only skips alerts with nothing due;
  // whether one escalates is the table's (nextState) to decide.
  for (const id in alerts) {
    const a = alerts[id]!;
    if (
      a.silencedUntil === null &&
      !(a.state === 'active' && a.priority === 'high' && !a.acked && a.escalationLevel < roles.length - 1 && a.lastEscalationTs + ctx.cfg.escalateAfterMs <= ts)
    )
      continue;
    events ??= [];
    let cur = a;
    for (;;) {
      if (cur.silencedUntil !== null && ts >= cur.silencedUntil)
        cur = { ...cur, silencedUntil: null, lastEscalationTs: Math.max(cur.lastEscalationTs, cur.silencedUntil) };
      const due = cur.lastEscalationTs + ctx.cfg.escalateAfterMs;
      const to =
        cur.priority === 'high' && !cur.acked && cur.silencedUntil === null && cur.escalationLevel < roles.length - 1 && due <= ts
          ? nextState(cur, 'escalate', ctx.cfg)
          : null;
      if (to === null) break;
      const level = cur.escalationLevel + 1;
      const role = roles[level]!;
      events.push(
        event(cur, ctx, 'escalate', to, due, `${cur.label} unacknowledged for ${Math.round((due - cur.onsetTs) / 1000)} s: notify ${role}`, { notify: [role] }),
      );
      cur = { ...cur, state: to, escalationLevel: level, lastEscalationTs: due, n: cur.n + 1 };
    }
    if (cur !== a) out = put(out, cur);
  }
  return events === null ? { alerts, events: NO_EVENTS } : { alerts: out, events };
}
