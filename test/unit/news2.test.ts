import { describe, expect, it } from 'vitest';
import { levelOf, news2, scoreAir, scoreConsciousness, scorePulse, scoreRespRate, scoreSpO2, scoreSystolic, scoreTemperature } from '../../processors/news2.ts';

// Every band boundary of RCP NEWS2 Chart 1: [value, score] on both sides of each edge.
describe('NEWS2 Chart 1 band boundaries', () => {
  it.each([
    [0, 3],
    [8, 3],
    [9, 1],
    [11, 1],
    [12, 0],
    [20, 0],
    [21, 2],
    [24, 2],
    [25, 3],
    [60, 3],
  ])('respiration rate %d → %d', (v, s) => expect(scoreRespRate(v)).toBe(s));
  it.each([
    [70, 3],
    [91, 3],
    [92, 2],
    [93, 2],
    [94, 1],
    [95, 1],
    [96, 0],
    [100, 0],
  ])('SpO2 scale 1: %d → %d', (v, s) => {
    expect(scoreSpO2(v, 1, false)).toBe(s);
    expect(scoreSpO2(v, 1, true)).toBe(s); // oxygen is scored separately on scale 1
  });
  it.each([
    [70, 3],
    [83, 3],
    [84, 2],
    [85, 2],
    [86, 1],
    [87, 1],
    [88, 0],
    [92, 0],
  ])('SpO2 scale 2: %d → %d on air or oxygen', (v, s) => {
    expect(scoreSpO2(v, 2, false)).toBe(s);
    expect(scoreSpO2(v, 2, true)).toBe(s);
  });
  it.each([
    [93, 0, 1],
    [94, 0, 1],
    [95, 0, 2],
    [96, 0, 2],
    [97, 0, 3],
    [100, 0, 3],
  ])('SpO2 scale 2: %d → %d on air, %d on oxygen', (v, air, o2) => {
    expect(scoreSpO2(v, 2, false)).toBe(air);
    expect(scoreSpO2(v, 2, true)).toBe(o2);
  });
  it('air 0, oxygen 2', () => {
    expect(scoreAir(false)).toBe(0);
    expect(scoreAir(true)).toBe(2);
  });
  it.each([
    [60, 3],
    [90, 3],
    [91, 2],
    [100, 2],
    [101, 1],
    [110, 1],
    [111, 0],
    [219, 0],
    [220, 3],
    [260, 3],
  ])('systolic %d → %d', (v, s) => expect(scoreSystolic(v)).toBe(s));
  it.each([
    [20, 3],
    [40, 3],
    [41, 1],
    [50, 1],
    [51, 0],
    [90, 0],
    [91, 1],
    [110, 1],
    [111, 2],
    [130, 2],
    [131, 3],
    [200, 3],
  ])('pulse %d → %d', (v, s) => expect(scorePulse(v)).toBe(s));
  it.each([
    ['A', 0],
    ['C', 3],
    ['V', 3],
    ['P', 3],
    ['U', 3],
  ] as const)('consciousness %s → %d', (v, s) => expect(scoreConsciousness(v)).toBe(s));
  it.each([
    [34, 3],
    [35.0, 3],
    [35.1, 1],
    [36.0, 1],
    [36.1, 0],
    [38.0, 0],
    [38.1, 1],
    [39.0, 1],
    [39.1, 2],
    [41, 2],
  ])('temperature %d → %d', (v, s) => expect(scoreTemperature(v)).toBe(s));
  it('rounds charted whole numbers before scoring', () => {
    expect(scorePulse(130.4)).toBe(2);
    expect(scorePulse(130.6)).toBe(3);
    expect(scoreTemperature(38.04)).toBe(0);
    expect(scoreTemperature(38.06)).toBe(1);
  });
});

describe('NEWS2 aggregate and clinical response level', () => {
  it('scores a well patient 0', () => {
    const s = news2({ respRate: 16, spo2: 97, onOxygen: false, systolicBp: 125, heartRate: 72, consciousness: 'A', temperature: 36.8 });
    expect(s).toEqual({
      total: 0,
      complete: true,
      level: 'none',
      subScores: { respRate: 0, spo2: 0, air: 0, systolicBp: 0, heartRate: 0, consciousness: 0, temperature: 0 },
    });
  });
  it('adds sub-scores and reports each one', () => {
    const s = news2({ respRate: 22, spo2: 93, onOxygen: true, systolicBp: 105, heartRate: 115, consciousness: 'A', temperature: 38.5 });
    expect(s.subScores).toEqual({ respRate: 2, spo2: 2, air: 2, systolicBp: 1, heartRate: 2, consciousness: 0, temperature: 1 });
    expect(s.total).toBe(10);
    expect(s.level).toBe('emergency');
  });
  it('uses scale 2 when the patient is set to it', () => {
    expect(news2({ spo2: 89 }, 1).subScores.spo2).toBe(3);
    expect(news2({ spo2: 89 }, 2).subScores.spo2).toBe(0);
  });
  it('marks incomplete scores', () => {
    const s = news2({ heartRate: 135 });
    expect(s).toMatchObject({ total: 3, complete: false, level: 'single-red' });
  });
  it.each([
    [0, false, 'none'],
    [1, false, 'low'],
    [4, false, 'low'],
    [3, true, 'single-red'],
    [4, true, 'single-red'],
    [5, false, 'urgent'],
    [6, true, 'urgent'],
    [7, false, 'emergency'],
    [12, true, 'emergency'],
  ] as const)('total %d, a single 3: %s → %s', (t, three, level) => {
    expect(levelOf(t, three)).toBe(level);
  });
});
