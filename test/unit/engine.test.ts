import { describe, expect, it } from 'vitest';
import { emptyMemory, observe, WINDOW } from '../../processors/dedup.ts';
import { alertIdOf, step, type PatientState } from '../../processors/engine.ts';
import { DEFAULT_RULES, type RuleSet } from '../../processors/rules.ts';
import type { AlertEvent, VitalsReading } from '../../schemas/records.ts';

const T0 = 1_700_000_000_000;
let seqCounter = 0;
function r(sec: number, v: Partial<VitalsReading>, o: Partial<VitalsReading> = {}): VitalsReading {
  return {
    patientId: 'p1', wardId: 'icu-1', bed: null, deviceId: 'mon-1', seq: ++seqCounter, ts: T0 + sec * 1000, receivedAt: T0 + sec * 1000,
    heartRate: null, spo2: null, respRate: null, systolicBp: null, diastolicBp: null, temperature: null, consciousness: null, onOxygen: null,
    correlationId: `c${seqCounter}`, ...v, ...o,
  };
}
function run(readings: readonly VitalsReading[], rules: RuleSet = DEFAULT_RULES, init?: PatientState) {
  let s = init;
  const events: AlertEvent[] = [];
  for (const x of readings) { const out = step(s, x, rules); s = out.state; events.push(...out.events); }
  return { state: s!, events };
}
/** Heart rate once per second from a function of time. */
const hrSeries = (secs: number, f: (t: number) => number) => Array.from({ length: secs }, (_, t) => r(t, { heartRate: f(t) }));

describe('threshold rule with sustain and hysteresis (event time)', () => {
  it('raises once after the sustain duration and clears once after the clear duration', () => {
    const { events } = run(hrSeries(120, (t) => (t >= 10 && t < 60 ? 145 : 80)));
    expect(events.map((e) => [e.rule, e.phase])).toEqual([['hr-high', 'start'], ['hr-high', 'end']]);
    const [start, end] = events;
    expect(start!.eventTs).toBe(T0 + 20_000); // onset 10 s + sustain 10 s
    expect(start!.onsetTs).toBe(T0 + 10_000);
    expect(start!.priority).toBe('high');
    expect(start!.state).toBe('active');
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
    // 145 for 20 s raises; then 127..129 (below 130 but above 125 = 130 - hysteresis) for a minute: still one alert.
    const { events, state } = run(hrSeries(100, (t) => (t < 20 ? 145 : 127 + (t % 3))));
    expect(events.map((e) => e.phase)).toEqual(['start']);
    expect(state.episodes['hr-high']?.kind).toBe('active');
  });

  it('a relapse during the clearing time keeps the same alert', () => {
    const { events } = run(hrSeries(100, (t) => (t < 20 ? 145 : t < 25 ? 100 : t < 30 ? 150 : 100)));
    expect(events.map((e) => e.phase)).toEqual(['start', 'end']);
    expect(new Set(events.map((e) => e.alertId)).size).toBe(1);
  });

  it.each([
    ['hr-low', { heartRate: 35 }, { heartRate: 70 }, 10],
    ['spo2-low', { spo2: 86 }, { spo2: 97 }, 15],
    ['sbp-low', { systolicBp: 80 }, { systolicBp: 120 }, 30],
  ] as const)('%s raises after its sustain time', (rule, bad, good, sustain) => {
    const readings = Array.from({ length: 120 }, (_, t) => r(t, t >= 5 && t < 70 ? bad : good));
    const { events } = run(readings);
    expect(events.map((e) => [e.rule, e.phase])).toEqual([[rule, 'start'], [rule, 'end']]);
    expect(events[0]!.eventTs - events[0]!.onsetTs).toBe(sustain * 1000);
  });

  it('ignores readings that lack the rule parameter', () => {
    const readings = hrSeries(40, () => 145).flatMap((x, i) => [x, r(i + 0.5, { spo2: 97 })]);
    expect(run(readings).events.map((e) => e.phase)).toEqual(['start']);
  });
});

describe('determinism and de-duplication', () => {
  const episode = hrSeries(120, (t) => (t >= 10 && t < 60 ? 145 : 80));

  it('gives the same events with the same ids on every run', () => {
    const a = run(episode).events;
    const b = run(episode).events;
    expect(b).toEqual(a);
    expect(a[0]!.alertId).toBe(alertIdOf('p1', 'hr-high', T0 + 10_000));
    expect(a[0]!.eventId).toBe(`${a[0]!.alertId}:start`);
  });

  it('duplicated readings (same deviceId and seq) do not change the alert output', () => {
    const dup = episode.flatMap((x, i) => (i % 3 === 0 ? [x, x] : [x]));
    const replayedTail = [...episode, ...episode.slice(30, 90)];
    expect(run(dup).events).toEqual(run(episode).events);
    expect(run(replayedTail).events).toEqual(run(episode).events);
  });

  it('reprocessing after a crash from restored state emits nothing new', () => {
    const first = run(episode.slice(0, 70));
    const restored = JSON.parse(JSON.stringify({ ...first.state, devices: {} })) as PatientState; // episodes survive
    const again = run(episode.slice(50, 70), DEFAULT_RULES, { ...restored, devices: first.state.devices });
    expect(again.events).toEqual([]);
  });

  it('reports late readings without moving the rules backwards', () => {
    const s = run(hrSeries(30, () => 80)).state;
    const out = step(s, r(5, { heartRate: 200 }), DEFAULT_RULES);
    expect(out.verdict).toBe('late');
    expect(out.events).toEqual([]);
    expect(out.state.lastTs).toBe(s.lastTs);
  });

  it('keeps episodes of different patients apart', () => {
    const a = hrSeries(40, () => 145);
    const b = a.map((x) => ({ ...x, patientId: 'p2', deviceId: 'mon-2' }));
    const ea = run(a).events;
    const eb = run(b).events;
    expect(ea[0]!.alertId).not.toBe(eb[0]!.alertId);
  });
});

describe('sequence memory', () => {
  it('classifies new, duplicate, stale and restarted counters, with bounded size', () => {
    let m = emptyMemory();
    const see = (seq: number, ts: number) => { const o = observe(m, seq, ts); m = o.memory; return o.verdict; };
    expect(see(1, 1)).toBe('new');
    expect(see(1, 1)).toBe('duplicate');
    expect(see(3, 3)).toBe('new');
    expect(see(2, 2)).toBe('new'); // out of order but unseen
    expect(see(2, 2)).toBe('duplicate');
    expect(see(5000, 5000)).toBe('new');
    expect(see(3, 3)).toBe('stale'); // older than the window, old event time
    expect(see(4999, 4999)).toBe('new');
    expect(see(5000 - WINDOW + 1, 10)).toBe('new');
    expect(see(1, 9000)).toBe('restart'); // counter reset: newer event time
    expect(see(1, 9000)).toBe('duplicate');
    expect(m.bits.length).toBe(WINDOW / 8);
  });
});
