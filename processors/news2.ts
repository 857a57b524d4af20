/**
 * NEWS2 (Royal College of Physicians, 2017, Chart 1), as pure functions.
 *
 * Values are scored as charted: respiration rate, SpO2, systolic BP and pulse are whole
 * numbers on the chart, so they are rounded to the nearest integer first; temperature to one
 * decimal. SpO2 Scale 2 is for patients with a prescribed target of 88–92 % (e.g. hypercapnic
 * respiratory failure), set per patient by a clinician (rule file); on Scale 2, SpO2 ≥ 93 %
 * scores 0 on air and 1/2/3 on oxygen.
 */
import type { Acvpu } from '../schemas/records.ts';

export type SpO2Scale = 1 | 2;
export const NEWS2_PARAMS = ['respRate', 'spo2', 'air', 'systolicBp', 'heartRate', 'consciousness', 'temperature'] as const;
export type News2Param = (typeof NEWS2_PARAMS)[number];

export function scoreRespRate(v: number): number {
  const x = Math.round(v);
  if (x <= 8) return 3;
  if (x <= 11) return 1;
  if (x <= 20) return 0;
  if (x <= 24) return 2;
  return 3;
}

export function scoreSpO2(v: number, scale: SpO2Scale, onOxygen: boolean): number {
  const x = Math.round(v);
  if (scale === 1) {
    if (x <= 91) return 3;
    if (x <= 93) return 2;
    if (x <= 95) return 1;
    return 0;
  }
  if (x <= 83) return 3;
  if (x <= 85) return 2;
  if (x <= 87) return 1;
  if (x <= 92) return 0;
  if (!onOxygen) return 0; // ≥ 93 on air
  if (x <= 94) return 1;
  if (x <= 96) return 2;
  return 3;
}

export function scoreAir(onOxygen: boolean): number {
  return onOxygen ? 2 : 0;
}

export function scoreSystolic(v: number): number {
  const x = Math.round(v);
  if (x <= 90) return 3;
  if (x <= 100) return 2;
  if (x <= 110) return 1;
  if (x <= 219) return 0;
  return 3;
}

export function scorePulse(v: number): number {
  const x = Math.round(v);
  if (x <= 40) return 3;
  if (x <= 50) return 1;
  if (x <= 90) return 0;
  if (x <= 110) return 1;
  if (x <= 130) return 2;
  return 3;
}

/** New confusion (C), voice (V), pain (P), unresponsive (U) all score 3. */
export function scoreConsciousness(v: Acvpu): number {
  return v === 'A' ? 0 : 3;
}

export function scoreTemperature(v: number): number {
  const x = Math.round(v * 10) / 10;
  if (x <= 35.0) return 3;
  if (x <= 36.0) return 1;
  if (x <= 38.0) return 0;
  if (x <= 39.0) return 1;
  return 2;
}

export interface News2Inputs {
  readonly respRate?: number | null;
  readonly spo2?: number | null;
  readonly onOxygen?: boolean | null;
  readonly systolicBp?: number | null;
  readonly heartRate?: number | null;
  readonly consciousness?: Acvpu | null;
  readonly temperature?: number | null;
}

export type News2Level = 'none' | 'low' | 'single-red' | 'urgent' | 'emergency';

export interface News2Score {
  readonly total: number;
  readonly subScores: Readonly<Partial<Record<News2Param, number>>>;
  /** All seven parameters were available. */
  readonly complete: boolean;
  readonly level: News2Level;
}

/**
 * Clinical response thresholds (RCP Chart 4): 0 routine; 1–4 low (ward-based response);
 * a 3 in any single parameter: urgent ward-based response ("single-red"); ≥ 5 urgent; ≥ 7 emergency.
 */
export function levelOf(total: number, anyThree: boolean): News2Level {
  if (total >= 7) return 'emergency';
  if (total >= 5) return 'urgent';
  if (anyThree) return 'single-red';
  if (total >= 1) return 'low';
  return 'none';
}

export function news2(i: News2Inputs, scale: SpO2Scale = 1): News2Score {
  const sub: Partial<Record<News2Param, number>> = {};
  const onO2 = i.onOxygen ?? false;
  if (i.respRate != null) sub.respRate = scoreRespRate(i.respRate);
  if (i.spo2 != null) sub.spo2 = scoreSpO2(i.spo2, scale, onO2);
  if (i.onOxygen != null) sub.air = scoreAir(i.onOxygen);
  if (i.systolicBp != null) sub.systolicBp = scoreSystolic(i.systolicBp);
  if (i.heartRate != null) sub.heartRate = scorePulse(i.heartRate);
  if (i.consciousness != null) sub.consciousness = scoreConsciousness(i.consciousness);
  if (i.temperature != null) sub.temperature = scoreTemperature(i.temperature);
  // Runs for every reading: a plain loop, no intermediate arrays.
  let total = 0,
    n = 0,
    anyThree = false;
  for (const k in sub) {
    const v = sub[k as News2Param]!;
    total += v;
    n++;
    if (v === 3) anyThree = true;
  }
  return { total, subScores: sub, complete: n === NEWS2_PARAMS.length, level: levelOf(total, anyThree) };
}
