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
 * LIFECYCLE below is the transition table; `move` only accepts a target state the table allows
 * for that source state and event, so an impossible transition does not compile.
 */
import type { AlertEvent, AlertPhase, AlertPriority, AlertState } from '../schemas/records.ts';
import type { LifecycleConfig } from './rulebook.ts';

export type LifeEvent = 'worse' | 'reprioritize' | 'clear' | 'ack' | 'silence' | 'escalate';
type OpenState = Exclude<AlertState, 'inactive'>;

export const LIFECYCLE = {
  active: { worse: ['active'], reprioritize: ['active'], clear: ['latched', 'inactive'], ack: ['active'], silence: ['active'], escalate: ['active'] },
  latched: { ack: ['inactive'], silence: ['latched'] },
  inactive: {},
} as const satisfies { readonly [S in AlertState]: { readonly [E in LifeEvent]?: readonly AlertState[] } };

type Allowed<S extends AlertState, E extends LifeEvent> = E extends keyof (typeof LIFECYCLE)[S]
  ? (typeof LIFECYCLE)[S][E] extends readonly (infer T)[] ? T : never : never;

/** A typed transition: `to` must be listed in LIFECYCLE[from][event]. */
function move<S extends AlertState, E extends LifeEvent, T extends Allowed<S, E>>(_from: S, _event: E, to: T): T {
  return to;
}

export const PRIORITY_RANK: Readonly<Record<AlertPriority, number>> = { high: 3, medium: 2, low: 1 };

export interface OpenAlert {
  readonly alertId: string;
  readonly rule: string;
  readonly label: string;
  readonly priority: AlertPriority;
  readonly state: OpenState;
  readonly acked: boolean;
  readonly silencedUntil: number | null;
  readonly onsetTs: number;
  readonly parameter: string | null;
  readonly threshold: number | null;
  readonly worst: number | null;
  readonly lastUpdateTs: number;
  readonly escalationLevel: number;
  readonly lastEscalationTs: number;
  readonly groupedWith: string | null;
  /** Events emitted for this alert so far; part of every event id. */
  readonly n: number;
}

export interface Ctx {
  readonly patientId: string;
  readonly wardId: string;
  readonly bed: string | null;
  readonly ruleVersion: string;
  readonly correlationId: string;
  readonly cfg: LifecycleConfig;
}

export interface Onset {
  readonly alertId: string; readonly rule: string; readonly label: string; readonly priority: AlertPriority; readonly onsetTs: number;
  readonly parameter: string | null; readonly value: number | null; readonly threshold: number | null; readonly message: string;
  readonly details?: Readonly<Record<string, number>> | null;
}

function event(a: OpenAlert, ctx: Ctx, phase: AlertPhase, state: AlertState, ts: number, message: string, o: {
  value?: number | null; details?: Readonly<Record<string, number>> | null; notify?: readonly string[]; actor?: string | null; actorRole?: string | null; priority?: AlertPriority;
} = {}): AlertEvent {
  return {
    eventId: `${a.alertId}:${a.n}:${phase}`, alertId: a.alertId, patientId: ctx.patientId, wardId: ctx.wardId, bed: ctx.bed, rule: a.rule,
    priority: o.priority ?? a.priority, phase, state, parameter: a.parameter, value: o.value ?? null, threshold: a.threshold,
    onsetTs: a.onsetTs, eventTs: ts, message, ruleVersion: ctx.ruleVersion, correlationId: ctx.correlationId,
    details: o.details ?? null, notify: [...(o.notify ?? [])], actor: o.actor ?? null, actorRole: o.actorRole ?? null,
    groupedWith: a.groupedWith, silencedUntil: a.silencedUntil,
  };
}

export type Alerts = Readonly<Record<string, OpenAlert>>;
export interface Out { readonly alerts: Alerts; readonly events: readonly AlertEvent[] }

const put = (alerts: Alerts, a: OpenAlert): Alerts => ({ ...alerts, [a.alertId]: a });
const drop = (alerts: Alerts, id: string): Alerts => { const { [id]: _x, ...rest } = alerts; return rest; };

export function onset(alerts: Alerts, ctx: Ctx, o: Onset, ts: number): Out {
  if (alerts[o.alertId]) return { alerts, events: [] }; // replayed onset: already open
  // Grouping: an onset while the patient already has an open, unacknowledged alert of the same
  // or higher priority joins that alert's group (shown together, no separate sound).
  const lead = Object.values(alerts)
    .filter((x) => !x.acked && PRIORITY_RANK[x.priority] >= PRIORITY_RANK[o.priority])
    .sort((x, y) => PRIORITY_RANK[y.priority] - PRIORITY_RANK[x.priority] || x.onsetTs - y.onsetTs)[0];
  const a: OpenAlert = {
    alertId: o.alertId, rule: o.rule, label: o.label, priority: o.priority, state: 'active', acked: false, silencedUntil: null, onsetTs: o.onsetTs,
    parameter: o.parameter, threshold: o.threshold, worst: o.value, lastUpdateTs: ts, escalationLevel: 0, lastEscalationTs: ts,
    groupedWith: lead ? lead.alertId : null, n: 0,
  };
  const ev = event(a, ctx, 'start', 'active', ts, o.message, { value: o.value, details: o.details, notify: [ctx.cfg.escalation[0] ?? 'nurse'] });
  return { alerts: put(alerts, { ...a, n: 1 }), events: [ev] };
}

export function worse(alerts: Alerts, ctx: Ctx, alertId: string, value: number, ts: number, message: string, details?: Readonly<Record<string, number>> | null): Out {
  const a = alerts[alertId];
  if (!a || a.state !== 'active') return { alerts, events: [] };
  // Throttling: track the worst value always, tell people at most once per updateThrottle.
  if (ts - a.lastUpdateTs < ctx.cfg.updateThrottleMs) return { alerts: put(alerts, { ...a, worst: value }), events: [] };
  const next: OpenAlert = { ...a, state: move(a.state, 'worse', 'active'), worst: value, lastUpdateTs: ts, n: a.n + 1 };
  return { alerts: put(alerts, next), events: [event(a, ctx, 'update', 'active', ts, message, { value, details })] };
}

export function reprioritize(alerts: Alerts, ctx: Ctx, alertId: string, priority: AlertPriority, value: number | null, ts: number, message: string, details?: Readonly<Record<string, number>> | null): Out {
  const a = alerts[alertId];
  if (!a || a.state !== 'active' || a.priority === priority) return { alerts, events: [] };
  const up = PRIORITY_RANK[priority] > PRIORITY_RANK[a.priority];
  // A rise in priority is news even to someone who acknowledged the lower one.
  const next: OpenAlert = { ...a, state: move(a.state, 'reprioritize', 'active'), priority, acked: up ? false : a.acked, lastUpdateTs: ts, lastEscalationTs: ts, n: a.n + 1 };
  return { alerts: put(alerts, next), events: [event(a, ctx, up ? 'escalate' : 'deescalate', 'active', ts, message, { value, details, priority, notify: up ? [ctx.cfg.escalation[0] ?? 'nurse'] : [] })] };
}

export function clear(alerts: Alerts, ctx: Ctx, alertId: string, value: number | null, ts: number, message: string): Out {
  const a = alerts[alertId];
  if (!a || a.state !== 'active') return { alerts, events: [] };
  if (ctx.cfg.latch.includes(a.priority) && !a.acked) {
    const next: OpenAlert = { ...a, state: move(a.state, 'clear', 'latched'), n: a.n + 1 };
    return { alerts: put(alerts, next), events: [event(a, ctx, 'end', 'latched', ts, `${message} (latched until acknowledged)`, { value })] };
  }
  move(a.state, 'clear', 'inactive');
  return { alerts: drop(alerts, alertId), events: [event(a, ctx, 'end', 'inactive', ts, message, { value })] };
}

export function acknowledge(alerts: Alerts, ctx: Ctx, alertId: string, actor: string, actorRole: string, ts: number): Out {
  const a = alerts[alertId];
  if (!a || a.acked) return { alerts, events: [] };
  if (a.state === 'latched') {
    move(a.state, 'ack', 'inactive');
    return { alerts: drop(alerts, alertId), events: [event(a, ctx, 'acknowledged', 'inactive', ts, `${a.label} acknowledged by ${actorRole}`, { actor, actorRole })] };
  }
  const next: OpenAlert = { ...a, state: move(a.state, 'ack', 'active'), acked: true, n: a.n + 1 };
  return { alerts: put(alerts, next), events: [event(next, ctx, 'acknowledged', 'active', ts, `${a.label} acknowledged by ${actorRole}`, { actor, actorRole })] };
}

export function silence(alerts: Alerts, ctx: Ctx, alertId: string, actor: string, actorRole: string, durationMs: number, ts: number): Out {
  const a = alerts[alertId];
  if (!a) return { alerts, events: [] };
  // Silencing is time-boxed: never longer than lifecycle.maxSilence.
  const until = ts + Math.min(Math.max(0, durationMs), ctx.cfg.maxSilenceMs);
  const next: OpenAlert = a.state === 'active'
    ? { ...a, state: move(a.state, 'silence', 'active'), silencedUntil: until, n: a.n + 1 }
    : { ...a, state: move(a.state, 'silence', 'latched'), silencedUntil: until, n: a.n + 1 };
  return { alerts: put(alerts, next), events: [event(next, ctx, 'silenced', next.state, ts, `${a.label} silenced by ${actorRole} for ${Math.round((until - ts) / 1000)} s`, { actor, actorRole })] };
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
  // open alert, most open alerts nothing due).
  for (const id in alerts) {
    const a = alerts[id]!;
    if (a.silencedUntil === null && !(a.state === 'active' && a.priority === 'high' && !a.acked && a.escalationLevel < roles.length - 1 && a.lastEscalationTs + ctx.cfg.escalateAfterMs <= ts)) continue;
    events ??= [];
    let cur = a;
    for (;;) {
      if (cur.silencedUntil !== null && ts >= cur.silencedUntil) cur = { ...cur, silencedUntil: null, lastEscalationTs: Math.max(cur.lastEscalationTs, cur.silencedUntil) };
      const due = cur.lastEscalationTs + ctx.cfg.escalateAfterMs;
      if (!(cur.state === 'active' && cur.priority === 'high' && !cur.acked && cur.silencedUntil === null && cur.escalationLevel < roles.length - 1 && due <= ts)) break;
      const level = cur.escalationLevel + 1;
      const role = roles[level]!;
      events.push(event(cur, ctx, 'escalate', 'active', due, `${cur.label} unacknowledged for ${Math.round((due - cur.onsetTs) / 1000)} s: notify ${role}`, { notify: [role] }));
      cur = { ...cur, state: move(cur.state, 'escalate', 'active'), escalationLevel: level, lastEscalationTs: due, n: cur.n + 1 };
    }
    if (cur !== a) out = put(out, cur);
  }
  return events === null ? { alerts, events: NO_EVENTS } : { alerts: out, events };
}
const NO_EVENTS: readonly AlertEvent[] = Object.freeze([]);
