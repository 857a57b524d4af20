import { describe, expect, it } from 'vitest';
import { bitmapOf, deserializeMemory, emptyMemory, observe, serializeMemory, WINDOW } from '../../processors/dedup.ts';
import { alertIdOf, applyAction, MAX_DEVICES, type PatientState, step, tickPatient } from '../../processors/engine.ts';
import { DEFAULT_RULE_FILE, loadRuleFile, type RuleSet } from '../../processors/rulebook.ts';
import { decodeState, encodeState } from '../../processors/state-codec.ts';
import type { AlertEvent, VitalsReading } from '../../schemas/records.ts';

const DEFAULTS = loadRuleFile(DEFAULT_RULE_FILE).defaults;
/** Thresholds only: no trends, NEWS2, artifact screening or escalation, to test one mechanism at a time. */
const THRESHOLDS: RuleSet = {
  ...DEFAULTS,
  trends: [],
  news2: { ...DEFAULTS.news2, enabled: false },
  technical: { ...DEFAULTS.technical, maxJump: {}, signalLossMs: 3_600_000 },
  lifecycle: { ...DEFAULTS.lifecycle, latch: [], escalateAfterMs: 3_600_000 },
};

const T0 = 1_700_000_000_000;
let seqCounter = 0;
function r(sec: number, v: Partial<VitalsReading>, o: Partial<VitalsReading> = {}): VitalsReading {
  return {
    patientId: 'p1',
    wardId: 'icu-1',
    bed: null,
    deviceId: 'mon-1',
    seq: ++seqCounter,
    ts: T0 + sec * 1000,
    receivedAt: T0 + sec * 1000,
    heartRate: null,
    spo2: null,
    respRate: null,
    systolicBp: null,
    diastolicBp: null,
    temperature: null,
    consciousness: null,
    onOxygen: null,
    correlationId: `c${seqCounter}`,
    ...v,
    ...o,
  };
}
function run(readings: readonly VitalsReading[], rules: RuleSet = THRESHOLDS, init?: PatientState) {
  let s = init;
  const events: AlertEvent[] = [];
  for (const x of readings) {
    const out = step(s, x, rules);
    s = out.state;
    events.push(...out.events);
  }
  return { state: s!, events };
}
const hrSeries = (secs: number, f: (t: number) => number) => Array.from({ length: secs }, (_, t) => r(t, { heartRate: f(t) }));
const phases = (evs: readonly AlertEvent[], rule?: string) => evs.filter((e) => !rule || e.rule === rule).map((e) => [e.rule, e.phase]);

describe('threshold rule with sustain and hysteresis (event time)', () => {
  it('raises once after the sustain duration and clears once after the clear duration', () => {
    const { events } = run(hrSeries(120, (t) => (t >= 10 && t < 60 ? 145 : 80)));
    expect(phases(events)).toEqual([
      ['hr-high', 'start'],
      ['hr-high', 'end'],
    ]);
    const [start, end] = events;
    expect(start!.eventTs).toBe(T0 + 20_000); // onset 10 s + sustain 10 s
    expect(start!.onsetTs).toBe(T0 + 10_000);
    expect(start).toMatchObject({ priority: 'high', state: 'active', notify: ['nurse'], ruleVersion: DEFAULTS.version });
    expect(end!.eventTs).toBe(T0 + 70_000); // recovered at 60 s + clear 10 s
    expect(end!.state).toBe('inactive');
    expect(end!.alertId).toBe(start!.alertId);
  });

  it('does not alarm on a spike shorter than the sustain duration (motion artifact)', () => {
    expect(run(hrSeries(60, (t) => (t >= 10 && t < 19 ? 180 : 80))).events).toEqual([]);
  });

  it('needs the condition on every reading: a dip below the threshold restarts the sustain clock', () => {
    expect(run(hrSeries(60, (t) => (t >= 10 && t < 30 ? (t % 8 === 0 ? 120 : 140) : 80))).events).toEqual([]);
  });

  it('does not flap while the value hovers inside the hysteresis band', () => {
    const { events, state } = run(hrSeries(100, (t) => (t < 20 ? 145 : 127 + (t % 3))));
    expect(phases(events)).toEqual([['hr-high', 'start']]);
    expect(state.episodes['hr-high']?.kind).toBe('active');
  });

  it('a relapse during the clearing time keeps the same alert', () => {
    const { events } = run(hrSeries(100, (t) => (t < 20 ? 145 : t < 25 ? 100 : t < 30 ? 150 : 100)));
    expect(phases(events)).toEqual([
      ['hr-high', 'start'],
      ['hr-high', 'end'],
    ]);
    expect(new Set(events.map((e) => e.alertId)).size).toBe(1);
  });

  it.each([
    ['hr-low', { heartRate: 35 }, { heartRate: 70 }, 10],
    ['spo2-low', { spo2: 86 }, { spo2: 97 }, 15],
    ['sbp-low', { systolicBp: 80 }, { systolicBp: 120 }, 30],
    ['rr-high', { respRate: 34 }, { respRate: 16 }, 30],
    ['dbp-high', { diastolicBp: 125 }, { diastolicBp: 80 }, 60],
    ['temp-high', { temperature: 40.1 }, { temperature: 37 }, 120],
  ] as const)('%s raises after its sustain time', (rule, bad, good, sustain) => {
    const readings = Array.from({ length: 700 }, (_, t) => r(t, t >= 5 && t < 300 ? bad : good));
    const { events } = run(readings);
    expect(phases(events)).toEqual([
      [rule, 'start'],
      [rule, 'end'],
    ]);
    expect(events[0]!.eventTs - events[0]!.onsetTs).toBe(sustain * 1000);
  });

  it('sends at most one update per throttle period while the value worsens', () => {
    const rules: RuleSet = { ...THRESHOLDS, lifecycle: { ...THRESHOLDS.lifecycle, updateThrottleMs: 30_000 } };
    const { events } = run(
      hrSeries(100, (t) => (t < 10 ? 80 : 131 + t)),
      rules,
    ); // worse every second
    const updates = events.filter((e) => e.phase === 'update');
    expect(updates.length).toBeGreaterThanOrEqual(2);
    expect(updates.length).toBeLessThanOrEqual(3);
    for (let i = 1; i < updates.length; i++) expect(updates[i]!.eventTs - updates[i - 1]!.eventTs).toBeGreaterThanOrEqual(30_000);
  });
});

describe('alert lifecycle: latching, acknowledgement, silencing, escalation', () => {
  const LIFE: RuleSet = { ...THRESHOLDS, lifecycle: { ...DEFAULTS.lifecycle, escalateAfterMs: 60_000, latch: ['high'] } };
  const episode = hrSeries(200, (t) => (t >= 10 && t < 40 ? 145 : 80));

  it('latches a high-priority alert that ended unacknowledged until someone acknowledges it', () => {
    const { events, state } = run(episode, LIFE);
    const id = events[0]!.alertId;
    expect(events.map((e) => [e.phase, e.state])).toEqual([
      ['start', 'active'],
      ['end', 'latched'],
    ]);
    expect(state.alerts[id]?.state).toBe('latched');
    const ack = applyAction(
      state,
      { actionId: 'a1', alertId: id, patientId: 'p1', wardId: 'icu-1', action: 'ack', durationMs: null, user: 'n1', role: 'nurse', ts: T0 + 300_000 },
      LIFE,
    );
    expect(ack.events.map((e) => [e.phase, e.state, e.actor, e.actorRole])).toEqual([['acknowledged', 'inactive', 'n1', 'nurse']]);
    expect(ack.state.alerts[id]).toBeUndefined();
    // The same action delivered again changes nothing.
    expect(
      applyAction(
        ack.state,
        { actionId: 'a1', alertId: id, patientId: 'p1', wardId: 'icu-1', action: 'ack', durationMs: null, user: 'n1', role: 'nurse', ts: T0 + 301_000 },
        LIFE,
      ).events,
    ).toEqual([]);
  });

  it('escalates an unacknowledged high-priority alert to the next role, stamped at its due time', () => {
    const long = hrSeries(200, (t) => (t >= 10 ? 145 : 80));
    const { events } = run(long, LIFE);
    const esc = events.filter((e) => e.phase === 'escalate');
    expect(esc.map((e) => e.notify)).toEqual([['charge_nurse'], ['physician']]);
    expect(esc.map((e) => e.eventTs - events[0]!.eventTs)).toEqual([60_000, 120_000]);
  });

  it('does not escalate an acknowledged alert, and silencing is time-boxed', () => {
    const first = run(
      hrSeries(30, (t) => (t >= 10 ? 145 : 80)),
      LIFE,
    );
    const id = first.events[0]!.alertId;
    const acked = applyAction(
      first.state,
      { actionId: 'x', alertId: id, patientId: 'p1', wardId: 'icu-1', action: 'ack', durationMs: null, user: 'n', role: 'nurse', ts: T0 + 30_000 },
      LIFE,
    );
    const later = run(
      hrSeries(200, () => 145).map((x) => ({ ...x, ts: x.ts + 31_000 })),
      LIFE,
      acked.state,
    );
    expect(later.events.filter((e) => e.phase === 'escalate')).toEqual([]);

    const silenced = applyAction(
      first.state,
      { actionId: 'y', alertId: id, patientId: 'p1', wardId: 'icu-1', action: 'silence', durationMs: 3_600_000, user: 'n', role: 'nurse', ts: T0 + 30_000 },
      LIFE,
    );
    expect(silenced.events[0]).toMatchObject({ phase: 'silenced', silencedUntil: T0 + 30_000 + DEFAULTS.lifecycle.maxSilenceMs });
  });

  it('escalation does not depend on how often timers run', () => {
    const base = run(
      hrSeries(30, (t) => (t >= 10 ? 145 : 80)),
      LIFE,
    ).state;
    const once = tickPatient(base, T0 + 200_000, LIFE).events.map((e) => [e.phase, e.eventTs]);
    let s = base;
    const many: [string, number][] = [];
    for (let w = T0 + 31_000; w <= T0 + 200_000; w += 7_000) {
      const t = tickPatient(s, w, LIFE);
      s = t.state;
      many.push(...t.events.map((e) => [e.phase, e.eventTs] as [string, number]));
    }
    const t = tickPatient(s, T0 + 200_000, LIFE);
    many.push(...t.events.map((e) => [e.phase, e.eventTs] as [string, number]));
    expect(many.filter(([p]) => p === 'escalate')).toEqual(once.filter(([p]) => p === 'escalate'));
  });
});

describe('NEWS2 alerting', () => {
  const N2: RuleSet = { ...THRESHOLDS, news2: { ...DEFAULTS.news2, enabled: true, sustainMs: 30_000, clearMs: 60_000 } };
  const obs = (t: number, o: Partial<VitalsReading>) =>
    r(t, { respRate: 16, spo2: 97, systolicBp: 125, heartRate: 75, temperature: 36.8, consciousness: 'A', onOxygen: false, ...o });

  it('raises at the sustained level with sub-scores, escalates when the level rises, and ends when it falls back', () => {
    const readings = Array.from({ length: 400 }, (_, t) => {
      if (t < 20) return obs(t, {});
      if (t < 120) return obs(t, { respRate: 25 }); // a single 3, total 3: urgent ward-based response
      if (t < 200) return obs(t, { respRate: 26, spo2: 91, heartRate: 115, systolicBp: 98 }); // 3 + 3 + 2 + 2 = 10 → emergency
      return obs(t, {});
    });
    const { events } = run(readings, N2);
    const n = events.filter((e) => e.rule === 'news2');
    expect(n.map((e) => [e.phase, e.priority])).toEqual([
      ['start', 'low'],
      ['escalate', 'high'],
      ['end', 'high'],
    ]);
    expect(n[0]!.details).toMatchObject({ total: 3, respRate: 3, spo2: 0, heartRate: 0 });
    expect(n[1]!.details).toMatchObject({ total: 10, respRate: 3, spo2: 3, heartRate: 2, systolicBp: 2 });
    expect(n[0]!.eventTs).toBe(T0 + 50_000); // level held from 20 s for 30 s
  });

  it('is not raised by a short spike', () => {
    const readings = Array.from({ length: 120 }, (_, t) => obs(t, t >= 30 && t < 40 ? { heartRate: 140, respRate: 26 } : {}));
    expect(run(readings, N2).events.filter((e) => e.rule === 'news2')).toEqual([]);
  });

  it('uses SpO2 scale 2 from a patient override', () => {
    const scale2: RuleSet = { ...N2, news2: { ...N2.news2, spo2Scale: 2 } };
    const readings = Array.from({ length: 120 }, (_, t) => obs(t, { spo2: 89 }));
    expect(run(readings, N2).events.filter((e) => e.rule === 'news2').length).toBe(1);
    expect(run(readings, scale2).events.filter((e) => e.rule === 'news2')).toEqual([]);
  });
});

describe('trend rules', () => {
  const TR: RuleSet = { ...THRESHOLDS, thresholds: [], trends: DEFAULTS.trends };
  it('raises when systolic BP falls by 40 mmHg within 10 minutes, even above any threshold', () => {
    const readings = Array.from({ length: 900 }, (_, t) => r(t, { systolicBp: t < 200 ? 150 : Math.max(105, 150 - (t - 200) / 8) }));
    const { events } = run(readings, TR);
    expect(phases(events, 'sbp-fall')).toEqual([['sbp-fall', 'start']]);
    const start = events.find((e) => e.rule === 'sbp-fall')!;
    expect(start.value).toBeLessThanOrEqual(-40);
    expect(start.eventTs).toBe(T0 + 580_000); // 150 - (320/8) = 110 at 520 s: a 40 mmHg fall, held for the rule's 60 s
  });
  it('ignores a slow drift over a longer window', () => {
    const readings = Array.from({ length: 3000 }, (_, t) => r(t, { systolicBp: 150 - t / 60 })); // 50 mmHg in 50 min
    expect(run(readings, TR).events).toEqual([]);
  });
});

describe('technical alarms', () => {
  const TECH: RuleSet = { ...THRESHOLDS, technical: { ...DEFAULTS.technical } };
  it('signal loss: on the watermark timer, and from a gap seen at the next reading; cleared when the signal is back', () => {
    const first = run(
      hrSeries(10, () => 80),
      TECH,
    );
    // The timer fires late (a batch later): the event is stamped at the due time all the same.
    const t = tickPatient(first.state, T0 + 9_000 + DEFAULTS.technical.signalLossMs + 4_321, TECH);
    expect(t.events.map((e) => [e.rule, e.phase, e.eventTs])).toEqual([['signal-loss', 'start', T0 + 9_000 + DEFAULTS.technical.signalLossMs]]);
    const back = run([r(200, { heartRate: 80 })], TECH, t.state);
    expect(phases(back.events)).toEqual([['signal-loss', 'end']]);
    // Without a timer (idle partition or replay): the gap itself yields the same onset.
    const gap = run([r(200, { heartRate: 80 })], TECH, first.state);
    expect(gap.events.map((e) => [e.rule, e.phase])).toEqual([
      ['signal-loss', 'start'],
      ['signal-loss', 'end'],
    ]);
    // Same event and id whichever noticed it (only the correlation id says which): replay equals live.
    expect({ ...gap.events[0], correlationId: '' }).toEqual({ ...t.events[0], correlationId: '' });
  });
  it('probe off (SpO2 0) is a technical alarm after its delay, never a desaturation', () => {
    const { events } = run(
      Array.from({ length: 90 }, (_, t) => r(t, { spo2: t >= 10 && t < 60 ? 0 : 97, heartRate: 80 })),
      TECH,
    );
    expect(phases(events)).toEqual([
      ['sensor-off', 'start'],
      ['sensor-off', 'end'],
    ]);
    expect(events[0]!.eventTs - events[0]!.onsetTs).toBe(DEFAULTS.technical.sensorOffMs);
    // A probe that is off for less than the delay is not worth a notification.
    expect(
      run(
        Array.from({ length: 90 }, (_, t) => r(t, { spo2: t >= 10 && t < 30 ? 0 : 97 })),
        TECH,
      ).events,
    ).toEqual([]);
  });

  it('NEWS2 steps down only after the lower level held for the de-escalation time', () => {
    const N2: RuleSet = { ...THRESHOLDS, news2: { ...DEFAULTS.news2, enabled: true } };
    const obs = (t: number, hi: boolean) =>
      r(t, { respRate: hi ? 26 : 25, spo2: hi ? 91 : 97, systolicBp: 125, heartRate: hi ? 115 : 75, temperature: 36.8, consciousness: 'A', onOxygen: false });
    // Emergency for 2 min, then flapping every 30 s between emergency and single-red for 20 min.
    const readings = Array.from({ length: 1500 }, (_, t) => obs(t, t < 120 || Math.floor(t / 30) % 2 === 0));
    const n = run(readings, N2).events.filter((e) => e.rule === 'news2');
    expect(n.filter((e) => e.phase === 'deescalate' || e.phase === 'escalate')).toEqual([]);
  });
  it('implausible jumps are kept out of the rules and repeated ones raise a signal-quality alarm', () => {
    const spikes = Array.from({ length: 90 }, (_, t) => r(t, { heartRate: t % 10 === 5 ? 190 : 80 }));
    const { events } = run(spikes, { ...TECH, thresholds: THRESHOLDS.thresholds.map((x) => (x.id === 'hr-high' ? { ...x, sustainMs: 0 } : x)) });
    expect(events.filter((e) => e.rule === 'hr-high')).toEqual([]); // every spike was screened out
    expect(phases(events, 'artifact')).toEqual([['artifact', 'start']]);
  });
});

describe('determinism, de-duplication and restore', () => {
  const episode = hrSeries(120, (t) => (t >= 10 && t < 60 ? 145 : 80));

  it('gives the same events with the same ids on every run, with the default rules', () => {
    const a = run(episode, DEFAULTS).events;
    expect(run(episode, DEFAULTS).events).toEqual(a);
    const start = a.find((e) => e.rule === 'hr-high' && e.phase === 'start')!;
    expect(start.alertId).toBe(alertIdOf('p1', 'hr-high', start.onsetTs));
    expect(new Set(a.map((e) => e.eventId)).size).toBe(a.length);
  });

  it('duplicated readings (same deviceId and seq) do not change the alert output', () => {
    const dup = episode.flatMap((x, i) => (i % 3 === 0 ? [x, x] : [x]));
    expect(run(dup, DEFAULTS).events).toEqual(run(episode, DEFAULTS).events);
    expect(run([...episode, ...episode.slice(30, 90)], DEFAULTS).events).toEqual(run(episode, DEFAULTS).events);
  });

  it('state survives the changelog encoding: reprocessing after restore emits nothing new', () => {
    const first = run(episode.slice(0, 70), DEFAULTS);
    const restored = decodeState(encodeState(first.state));
    expect(restored).toEqual(first.state);
    expect(run(episode.slice(50, 70), DEFAULTS, restored).events).toEqual([]);
    expect(run(episode.slice(70), DEFAULTS, restored).events).toEqual(run(episode, DEFAULTS).events.filter((e) => e.eventTs >= T0 + 70_000));
  });

  it('reports late readings without moving the rules backwards', () => {
    const s = run(hrSeries(30, () => 80)).state;
    const out = step(s, r(5, { heartRate: 200 }), THRESHOLDS);
    expect(out.verdict).toBe('late');
    expect(out.events).toEqual([]);
    expect(out.state.lastTs).toBe(s.lastTs);
  });
});

describe('sequence memory', () => {
  it('remembers at most MAX_DEVICES devices per patient, forgetting the least recently heard-from', () => {
    let s: PatientState | undefined;
    const send = (dev: string, seq: number, sec: number) => {
      const o = step(s, r(sec, { heartRate: 80 }, { deviceId: dev, seq }), THRESHOLDS);
      s = o.state;
      return o.verdict;
    };
    for (let d = 0; d <= MAX_DEVICES; d++) expect(send(`dev-${d}`, 1, d)).toBe('new');
    expect(s!.devices.map((x) => x.deviceId)).toEqual(Array.from({ length: MAX_DEVICES }, (_, i) => `dev-${i + 1}`));
    expect(send('dev-1', 1, 100)).toBe('duplicate'); // still remembered
    expect(send('dev-0', 1, 101)).toBe('new'); // forgotten: its old seq counts as new
    expect(decodeState(encodeState(s!))).toEqual(s);
  });

  it('classifies new, duplicate, stale and restarted counters, with bounded size', () => {
    let m = emptyMemory();
    const see = (seq: number, ts: number) => {
      const o = observe(m, seq, ts);
      m = o.memory;
      return o.verdict;
    };
    expect(see(1, 1)).toBe('new');
    expect(see(1, 1)).toBe('duplicate');
    expect(see(3, 3)).toBe('new');
    expect(see(2, 2)).toBe('new');
    expect(see(2, 2)).toBe('duplicate');
    expect(see(5000, 5000)).toBe('new');
    expect(see(3, 3)).toBe('stale');
    expect(see(4999, 4999)).toBe('new');
    expect(see(5000 - WINDOW + 1, 10)).toBe('new');
    expect(see(1, 9000)).toBe('restart');
    expect(see(1, 9000)).toBe('duplicate');
    expect(bitmapOf(m).length * 16).toBe(WINDOW);
  });
  it('an in-order device needs no bitmap; a gap materializes it; both survive the changelog form', () => {
    let m = emptyMemory();
    for (let s = 1; s <= 2000; s++) m = observe(m, s, s).memory;
    expect(m.bits).toBeNull();
    expect(observe(m, 1500, 1500).verdict).toBe('duplicate');
    expect(observe(m, 900, 900).verdict).toBe('stale');
    expect(deserializeMemory(serializeMemory(m))).toEqual(m);
    const gap = observe(m, 2003, 2003).memory; // 2001 and 2002 missing
    expect(gap.bits).not.toBeNull();
    expect(observe(gap, 2001, 2001).verdict).toBe('new'); // arrives late: not a duplicate
    expect(observe(gap, 2003, 2003).verdict).toBe('duplicate');
    expect(deserializeMemory(serializeMemory(gap))).toEqual(gap);
  });
});
