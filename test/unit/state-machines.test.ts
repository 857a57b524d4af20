/**
 * The processors' three state machines as tables: the condition episode (engine/episode.ts), the
 * NEWS2 episode (engine/news2-episode.ts) and the alert lifecycle (lifecycle.ts). For each
 * table: every transition it allows happens, an impossible one does not compile (the
 * @ts-expect-error lines, checked by `tsc --noEmit`), and the engine, over random reading
 * sequences with actions and timers, never makes a transition the table does not list.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Condition, type EpisodeKind, type EpisodeState, type StepOut, stepEpisode, TRANSITIONS } from '../../processors/engine/episode.ts';
import { NEWS2_TRANSITIONS, type News2Episode, type News2Kind, type News2Next, type News2StepOut, stepNews2 } from '../../processors/engine/news2-episode.ts';
import { applyAction, type PatientState, step, tickPatient } from '../../processors/engine.ts';
import {
  acknowledge,
  type Ctx,
  clear,
  type Deciders,
  LIFECYCLE,
  type LifecycleTarget,
  type LifeEvent,
  nextState,
  type OpenAlert,
  onset,
  silence,
  worse,
} from '../../processors/lifecycle.ts';
import type { News2Level, News2Score } from '../../processors/news2.ts';
import { DEFAULT_RULE_FILE, loadRuleFile, type RuleSet } from '../../processors/rulebook.ts';
import { decodeState, encodeState } from '../../processors/state-codec.ts';
import type { AlertEvent, AlertState, VitalsReading } from '../../schemas/records.ts';

const pairs = <K extends string>(table: Readonly<Record<K, readonly string[]>>) =>
  Object.entries<readonly string[]>(table)
    .flatMap(([from, tos]) => tos.map((to) => `${from}→${to}`))
    .sort();

describe('condition episode table', () => {
  const rule: Condition = { id: 'hr-high', op: 'above', threshold: 130, hysteresis: 5, sustainMs: 10_000, clearMs: 10_000 };
  const at = (o: Partial<Condition>) => ({ ...rule, ...o });
  const pending: EpisodeState = { kind: 'pending', since: 0, worst: 140 };
  const active: EpisodeState = { kind: 'active', alertId: 'a', onset: 0, worst: 140 };
  const clearing: EpisodeState = { kind: 'clearing', alertId: 'a', onset: 0, worst: 140, since: 20_000 };
  const cases: [EpisodeState, number, number, Condition, EpisodeKind, string?][] = [
    [{ kind: 'normal' }, 80, 0, rule, 'normal'],
    [{ kind: 'normal' }, 140, 0, rule, 'pending'],
    [{ kind: 'normal' }, 140, 0, at({ sustainMs: 0 }), 'active', 'start'],
    [pending, 140, 5_000, rule, 'pending'],
    [pending, 80, 5_000, rule, 'normal'],
    [pending, 140, 10_000, rule, 'active', 'start'],
    [active, 135, 15_000, rule, 'active'],
    [active, 150, 15_000, rule, 'active', 'worse'],
    [active, 125, 15_000, rule, 'clearing'],
    [active, 125, 15_000, at({ clearMs: 0 }), 'normal', 'end'],
    [clearing, 120, 25_000, rule, 'clearing'],
    [clearing, 128, 25_000, rule, 'active'],
    [clearing, 120, 30_000, rule, 'normal', 'end'],
  ];

  it.each(cases)('%o with %d at %d → %s', (from, v, ts, cond, kind, phase) => {
    const out = stepEpisode(from, v, ts, cond, 'p1');
    expect([out.next.kind, out.phase]).toEqual([kind, phase]);
  });

  it('the cases cover every transition of TRANSITIONS', () => {
    expect([...new Set(cases.map(([from, , , , to]) => `${from.kind}→${to}`))].sort()).toEqual(pairs(TRANSITIONS));
  });

  it('an impossible transition does not compile', () => {
    // @ts-expect-error active → pending is not in TRANSITIONS
    const bad: StepOut<'active'> = { next: { kind: 'pending', since: 0, worst: 0 } };
    const good: StepOut<'active'> = { next: { kind: 'clearing', alertId: 'a', onset: 0, worst: 0, since: 0 } };
    expect([bad.next.kind, good.next.kind]).toEqual(['pending', 'clearing']);
  });
});

describe('NEWS2 episode table', () => {
  const cfg = { enabled: true, sustainMs: 30_000, freshnessMs: 900_000, clearMs: 60_000, deescalateMs: 900_000, spo2Scale: 1 as const };
  const score = (level: News2Level, total: number): News2Score => ({ total, subScores: {}, complete: false, level });
  const urgent = score('urgent', 5),
    low = score('low', 2),
    emergency = score('emergency', 8),
    redder = score('urgent', 6),
    singleRed = score('single-red', 3);
  const pending: News2Episode = { kind: 'pending', since: 0 };
  const active: News2Episode = { kind: 'active', alertId: 'a', level: 'urgent', total: 5 };
  const clearing: News2Episode = { kind: 'clearing', alertId: 'a', level: 'urgent', total: 5, since: 100_000 };
  const cases: [News2Episode, News2Score, number, Partial<typeof cfg>, News2Kind, string | null][] = [
    [{ kind: 'normal' }, low, 0, {}, 'normal', null],
    [{ kind: 'normal' }, urgent, 0, {}, 'pending', null],
    [{ kind: 'normal' }, urgent, 0, { sustainMs: 0 }, 'active', 'start'],
    [pending, urgent, 10_000, {}, 'pending', null],
    [pending, low, 10_000, {}, 'normal', null],
    [pending, urgent, 30_000, {}, 'active', 'start'],
    [active, urgent, 50_000, {}, 'active', null],
    [active, emergency, 50_000, {}, 'active', 'reprioritize'],
    [active, redder, 50_000, {}, 'active', 'worse'],
    [active, singleRed, 50_000, {}, 'active', null], // lower: held until deescalateMs
    [{ ...active, lowerSince: 0 }, singleRed, 900_000, {}, 'active', 'reprioritize'],
    [active, low, 50_000, {}, 'clearing', null],
    [active, low, 50_000, { clearMs: 0 }, 'normal', 'end'],
    [clearing, low, 120_000, {}, 'clearing', null],
    [clearing, urgent, 120_000, {}, 'active', null],
    [clearing, low, 160_000, {}, 'normal', 'end'],
  ];

  it.each(cases)('%o with %o at %d → %s', (from, s, ts, over, kind, signal) => {
    const out = stepNews2(from, s, ts, { ...cfg, ...over }, 'p1');
    expect([out.next.kind, out.signal]).toEqual([kind, signal]);
  });

  it('holds a lower level and then steps down, with the episode onset of a start', () => {
    const held = stepNews2(active, singleRed, 50_000, cfg, 'p1').next;
    expect(held).toEqual({ ...active, lowerSince: 50_000 });
    expect(stepNews2(held, singleRed, 950_000, cfg, 'p1').next).toMatchObject({ level: 'single-red', total: 3 });
    const start = stepNews2(pending, urgent, 40_000, cfg, 'p1');
    expect(start.onset).toBe(0);
  });

  it('the cases cover every transition of NEWS2_TRANSITIONS', () => {
    expect([...new Set(cases.map(([from, , , , to]) => `${from.kind}→${to}`))].sort()).toEqual(pairs(NEWS2_TRANSITIONS));
  });

  it('an impossible transition does not compile', () => {
    // @ts-expect-error pending → clearing is not in NEWS2_TRANSITIONS
    const bad: News2StepOut<News2Next<'pending'>> = { next: { kind: 'clearing', alertId: 'a', level: 'urgent', total: 5, since: 0 }, signal: null, onset: 0 };
    expect(bad.next.kind).toBe('clearing');
  });
});

describe('alert lifecycle table', () => {
  const cfg = { escalateAfterMs: 60_000, escalation: ['nurse', 'charge_nurse'] as const, latch: ['high'] as const, maxSilenceMs: 300_000, updateThrottleMs: 0 };
  const ctx: Ctx = {
    patientId: 'p1',
    wardId: 'w1',
    bed: null,
    ruleVersion: 'v',
    correlationId: 'c',
    cfg: { ...cfg, escalation: [...cfg.escalation], latch: [...cfg.latch] },
  };
  const open = (o: Partial<OpenAlert> = {}): OpenAlert => ({
    alertId: 'a1',
    rule: 'hr-high',
    label: 'Tachycardia',
    priority: 'high',
    state: 'active',
    acked: false,
    silencedUntil: null,
    onsetTs: 0,
    parameter: 'heartRate',
    threshold: 130,
    worst: 140,
    lastUpdateTs: 0,
    escalationLevel: 0,
    lastEscalationTs: 0,
    groupedWith: null,
    n: 1,
    ...o,
  });
  const cases: [OpenAlert, LifeEvent, AlertState][] = [
    [open(), 'worse', 'active'],
    [open(), 'reprioritize', 'active'],
    [open(), 'clear', 'latched'],
    [open({ acked: true }), 'clear', 'inactive'],
    [open({ priority: 'low' }), 'clear', 'inactive'],
    [open(), 'ack', 'active'],
    [open(), 'silence', 'active'],
    [open(), 'escalate', 'active'],
    [open({ state: 'latched' }), 'ack', 'inactive'],
    [open({ state: 'latched' }), 'silence', 'latched'],
  ];

  it.each(cases)('%o on %s → %s', (a, event, to) => {
    expect(nextState(a, event, ctx.cfg)).toBe(to);
  });

  it('the cases cover every transition of LIFECYCLE, and the table has none for a latched alert getting worse', () => {
    const all = Object.entries<Record<string, readonly string[]>>(LIFECYCLE).flatMap(([s, es]) =>
      Object.entries(es).flatMap(([e, ts]) => ts.map((t) => `${s}-${e}→${t}`)),
    );
    expect([...new Set(cases.map(([a, e, t]) => `${a.state}-${e}→${t}`))].sort()).toEqual(all.sort());
    expect(nextState(open({ state: 'latched' }), 'worse', ctx.cfg)).toBeNull();
    expect(nextState(open({ state: 'latched' }), 'clear', ctx.cfg)).toBeNull();
  });

  it('the signal functions apply what the table decides', () => {
    const start = onset(
      {},
      ctx,
      { alertId: 'a1', rule: 'hr-high', label: 'T', priority: 'high', onsetTs: 0, parameter: 'heartRate', value: 140, threshold: 130, message: 'm' },
      0,
    );
    expect(start.events.map((e) => [e.phase, e.state])).toEqual([['start', 'active']]);
    const latched = clear(start.alerts, ctx, 'a1', 120, 10_000, 'over');
    expect(latched.events.map((e) => [e.phase, e.state])).toEqual([['end', 'latched']]);
    expect(worse(latched.alerts, ctx, 'a1', 150, 20_000, 'w')).toEqual({ alerts: latched.alerts, events: [] });
    expect(silence(latched.alerts, ctx, 'a1', 'n', 'nurse', 60_000, 20_000).events.map((e) => e.state)).toEqual(['latched']);
    const closed = acknowledge(latched.alerts, ctx, 'a1', 'n', 'nurse', 30_000);
    expect([closed.events.map((e) => [e.phase, e.state]), closed.alerts]).toEqual([[['acknowledged', 'inactive']], {}]);
  });

  it('an impossible transition does not compile', () => {
    // @ts-expect-error a latched alert has no clear transition
    const bad: LifecycleTarget<'latched', 'clear'> = 'inactive';
    // @ts-expect-error acknowledging a latched alert closes it: latched is not a target
    const d: Deciders['latched'] = { ack: () => 'latched', silence: () => 'latched' };
    expect([bad, d.silence(open(), ctx.cfg)]).toEqual(['inactive', 'latched']);
  });
});

describe('the engine never makes a transition outside the tables (property)', () => {
  const DEFAULTS = loadRuleFile(DEFAULT_RULE_FILE).defaults;
  /** Shorter clocks than the defaults, so that random sequences of a few minutes go through every state. */
  const RULES: RuleSet = {
    ...DEFAULTS,
    news2: { ...DEFAULTS.news2, sustainMs: 5_000, clearMs: 10_000, deescalateMs: 20_000 },
    lifecycle: { ...DEFAULTS.lifecycle, escalateAfterMs: 15_000, updateThrottleMs: 5_000 },
  };
  const PHASE_EVENTS: Readonly<Record<AlertEvent['phase'], readonly LifeEvent[]>> = {
    start: [],
    update: ['worse'],
    escalate: ['escalate', 'reprioritize'],
    deescalate: ['reprioritize'],
    end: ['clear'],
    acknowledged: ['ack'],
    silenced: ['silence'],
  };
  const op = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({
        kind: fc.constant('reading' as const),
        dt: fc.constantFrom(1, 1, 2, 3, 70, -3),
        dev: fc.constantFrom(0, 0, 1),
        hr: fc.constantFrom(45, 80, 80, 135, 150, 190, 35),
        spo2: fc.constantFrom(97, 97, 89, 85, 0, null),
        rr: fc.constantFrom(16, 16, 26, 32, null),
        sbp: fc.constantFrom(120, 120, 95, 85, 210, null),
        acvpu: fc.constantFrom('A', 'A', 'V', null),
        o2: fc.constantFrom(false, true, null),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), dt: fc.integer({ min: 1, max: 120 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('action' as const), action: fc.constantFrom('ack' as const, 'silence' as const), pick: fc.nat() }) },
  );

  it('condition episodes, the NEWS2 episode and every alert follow their tables; states survive the changelog', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 400 }), (ops) => {
        let s: PatientState | undefined;
        let t = 1_700_000_000_000;
        const seq = [0, 0];
        const alertStates = new Map<string, AlertState>();
        const follow = (events: readonly AlertEvent[]) => {
          for (const e of events) {
            const from = alertStates.get(e.alertId);
            if (e.phase === 'start') expect([from, e.state]).toEqual([undefined, 'active']);
            else {
              expect(from).toBeDefined();
              const ok = PHASE_EVENTS[e.phase].some((ev) =>
                ((LIFECYCLE[from!] as Partial<Record<LifeEvent, readonly AlertState[]>>)[ev] ?? []).includes(e.state),
              );
              expect(ok, `${e.alertId}: ${from} -${e.phase}→ ${e.state}`).toBe(true);
            }
            if (e.state === 'inactive') alertStates.delete(e.alertId);
            else alertStates.set(e.alertId, e.state);
          }
        };
        const episodes = (x: PatientState | undefined, k: string): EpisodeKind => x?.episodes[k]?.kind ?? 'normal';
        for (const o of ops) {
          const prev = s;
          if (o.kind === 'reading') {
            t += o.dt * 1000;
            const r: VitalsReading = {
              patientId: 'p1',
              wardId: 'w1',
              bed: null,
              deviceId: `d${o.dev}`,
              seq: ++seq[o.dev]!,
              ts: t,
              receivedAt: t,
              heartRate: o.hr,
              spo2: o.spo2,
              respRate: o.rr,
              systolicBp: o.sbp,
              diastolicBp: 80,
              temperature: 37,
              consciousness: o.acvpu,
              onOxygen: o.o2,
              correlationId: 'c',
            };
            const out = step(s, r, RULES);
            s = out.state;
            follow(out.events);
          } else if (!s) continue;
          else if (o.kind === 'tick') {
            t += o.dt * 1000;
            const out = tickPatient(s, t, RULES);
            s = out.state;
            follow(out.events);
          } else {
            const ids = Object.keys(s.alerts);
            if (ids.length === 0) continue;
            const out = applyAction(
              s,
              {
                actionId: `x${t}-${o.pick}`,
                alertId: ids[o.pick % ids.length]!,
                patientId: 'p1',
                wardId: 'w1',
                action: o.action,
                durationMs: 20_000,
                user: 'u',
                role: 'nurse',
                ts: t,
              },
              RULES,
            );
            s = out.state;
            follow(out.events);
          }
          for (const k of new Set([...Object.keys(prev?.episodes ?? {}), ...Object.keys(s.episodes)])) {
            expect(TRANSITIONS[episodes(prev, k)] as readonly string[]).toContain(episodes(s, k));
          }
          expect(NEWS2_TRANSITIONS[prev?.news2.kind ?? 'normal'] as readonly string[]).toContain(s.news2.kind);
          expect(Object.fromEntries(Object.values(s.alerts).map((a) => [a.alertId, a.state]))).toEqual(Object.fromEntries(alertStates));
        }
        if (s) expect(decodeState(encodeState(s))).toEqual(s);
      }),
      { numRuns: 150 },
    );
  });
});
