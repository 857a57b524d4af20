/**
 * Alarm fatigue: a deterministic simulated cohort replayed through (a) naive per-reading
 * thresholds, as a bedside monitor without delays would alarm, and (b) wardstream's rules
 * (the same engine code the processors run, default rule file). Reports notifications per
 * patient-day, and sensitivity with time-to-alert for the scripted true deteriorations.
 *
 *   npx tsx benchmarks/alarm-fatigue.ts [--patients 100] [--hours 24] [--interval 5] [--seed 1] [--quick]
 *
 * The cohort (all from the seed):
 *  - every patient: baseline vitals with noise;
 *  - artifacts on everyone: motion spikes (heart rate +50..90, one reading), SpO2 probe-off
 *    (SpO2 0, or a dip to ~70 % for 10–30 s), talking/emotional heart-rate bursts (110–128/min
 *    for 20–90 s, now and then a 5 s peak to ~135);
 *  - true deteriorations on a fifth of the patients, one each: sepsis (NEWS2 rising over 2 h),
 *    respiratory failure (SpO2 drifting to 85 %, RR 28 over 1 h), haemorrhage (systolic falling
 *    130 → 82 over 20 min, heart rate rising), arrhythmia (heart rate 150 for 10 min).
 * A notification is what makes a sound or a page: naive = every crossing into an alarm range;
 * wardstream = every `start` not grouped with a louder open alert, and every `escalate`.
 * Nurses acknowledge each wardstream notification after 45 s (deterministic).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { TECHNICAL_RULE_IDS } from '../processors/builtin-rules.ts';
import { applyAction, type PatientState, step } from '../processors/engine.ts';
import { DEFAULT_RULE_FILE, loadRuleFile } from '../processors/rulebook.ts';
import type { AlertEvent, VitalsReading } from '../schemas/records.ts';
import { prng } from '../tools/simulator.ts';
import { barChart } from './chart.ts';
import { arg, flag, percentile, progress } from './util.ts';

type Det = 'sepsis' | 'respiratory' | 'haemorrhage' | 'arrhythmia';
interface Script {
  det: Det | null;
  detStart: number;
  detEnd: number;
  detectFrom: number;
}

const quick = flag('--quick');
const PATIENTS = Number(arg('--patients', quick ? '20' : '100'));
const HOURS = Number(arg('--hours', quick ? '6' : '24'));
const INTERVAL = Number(arg('--interval', '5')) * 1000;
const SEED = Number(arg('--seed', '1'));
const T0 = Date.UTC(2026, 0, 1);
const DUR = HOURS * 3600_000;

/** Naive monitor limits: the same clinical limits as the default rule file, no delay, no hysteresis. */
const NAIVE: { param: keyof VitalsReading; above?: number; below?: number }[] = [
  { param: 'heartRate', above: 130 },
  { param: 'heartRate', below: 40 },
  { param: 'spo2', below: 90 },
  { param: 'systolicBp', below: 90 },
  { param: 'systolicBp', above: 200 },
  { param: 'diastolicBp', above: 120 },
  { param: 'respRate', above: 30 },
  { param: 'respRate', below: 8 },
  { param: 'temperature', above: 39.5 },
  { param: 'temperature', below: 35 },
];

function scriptFor(i: number, rnd: () => number): Script {
  if (i % 5 !== 0) return { det: null, detStart: 0, detEnd: 0, detectFrom: 0 };
  const det = (['sepsis', 'respiratory', 'haemorrhage', 'arrhythmia'] as const)[(i / 5) % 4]!;
  const len = { sepsis: 3 * 3600_000, respiratory: 90 * 60_000, haemorrhage: 40 * 60_000, arrhythmia: 10 * 60_000 }[det];
  const detStart = T0 + Math.floor(rnd() * Math.max(1, DUR - len - 3600_000)) + 1800_000;
  // When the deterioration is clinically recognizable (the clock for time-to-alert starts):
  // sepsis/respiratory after half their ramp, haemorrhage when the fall reaches 30 mmHg, arrhythmia at once.
  const detectFrom = detStart + { sepsis: 3600_000, respiratory: 1800_000, haemorrhage: 12 * 60_000, arrhythmia: 0 }[det];
  return { det, detStart, detEnd: detStart + len, detectFrom };
}

function generate(i: number, rnd: () => number, s: Script): VitalsReading[] {
  const base = { hr: 68 + rnd() * 20, spo2: 95.5 + rnd() * 3, rr: 13 + rnd() * 4, sbp: 115 + rnd() * 20, dbp: 70 + rnd() * 10, temp: 36.5 + rnd() * 0.6 };
  const out: VitalsReading[] = [];
  let burstUntil = 0,
    burstHr = 0,
    probeUntil = 0,
    probeKind = 0;
  let seq = 0;
  for (let ts = T0; ts < T0 + DUR; ts += INTERVAL) {
    const n = () => (rnd() - 0.5) * 2;
    let hr = base.hr + n() * 3,
      spo2 = base.spo2 + n() * 0.8,
      rr = base.rr + n(),
      sbp = base.sbp + n() * 4,
      dbp = base.dbp + n() * 3,
      temp = base.temp + n() * 0.05;
    if (s.det && ts >= s.detStart && ts < s.detEnd) {
      const f = Math.min(1, (ts - s.detStart) / ((s.detEnd - s.detStart) * 0.6));
      switch (s.det) {
        case 'sepsis':
          hr += f * (128 - base.hr);
          rr += f * (25 - base.rr);
          sbp += f * (96 - base.sbp);
          temp += f * (39.2 - base.temp);
          break;
        case 'respiratory':
          spo2 += f * (85 - base.spo2);
          rr += f * (28 - base.rr);
          hr += f * 15;
          break;
        case 'haemorrhage': {
          const g = Math.min(1, (ts - s.detStart) / (20 * 60_000));
          sbp += g * (82 - base.sbp);
          hr += g * 35;
          break;
        }
        case 'arrhythmia':
          hr = 148 + n() * 4;
          break;
      }
    }
    // Artifacts and benign events.
    if (ts >= burstUntil && rnd() < INTERVAL / (45 * 60_000)) {
      burstUntil = ts + 20_000 + rnd() * 70_000;
      burstHr = 110 + rnd() * 18;
    }
    if (ts < burstUntil) {
      hr = Math.max(hr, burstHr + n() * 2);
      if (rnd() < 0.05) hr = 133 + rnd() * 4;
    }
    if (ts >= probeUntil && rnd() < INTERVAL / (90 * 60_000)) {
      probeUntil = ts + 10_000 + rnd() * 20_000;
      probeKind = rnd() < 0.5 ? 0 : 1;
    }
    if (ts < probeUntil) spo2 = probeKind === 0 ? 0 : 68 + rnd() * 6;
    if (rnd() < INTERVAL / (30 * 60_000)) hr += 50 + rnd() * 40; // motion spike
    out.push({
      patientId: `af${i}`,
      wardId: `ward-${i % 4}`,
      bed: null,
      deviceId: `afd${i}`,
      seq: ++seq,
      ts,
      receivedAt: ts,
      heartRate: Math.round(hr),
      spo2: Math.max(0, Math.min(100, Math.round(spo2))),
      respRate: Math.round(rr),
      systolicBp: Math.round(sbp),
      diastolicBp: Math.round(dbp),
      temperature: Math.round(temp * 10) / 10,
      consciousness: 'A',
      onOxygen: false,
      correlationId: 'af',
    });
  }
  return out;
}

interface Result {
  notifications: number;
  byClass: Record<string, number>;
  detected: number;
  ttas: number[];
}

function naive(readings: readonly VitalsReading[], s: Script): Result {
  const inAlarm = new Array<boolean>(NAIVE.length).fill(false);
  let notifications = 0;
  let first = Infinity;
  for (const r of readings) {
    NAIVE.forEach((l, k) => {
      const v = r[l.param] as number | null;
      const bad = v !== null && ((l.above !== undefined && v > l.above) || (l.below !== undefined && v < l.below));
      if (bad && !inAlarm[k]) {
        notifications++;
        if (s.det && r.ts >= s.detectFrom - 600_000 && r.ts <= s.detEnd + 600_000 && r.ts < first && r.ts >= s.detStart) first = r.ts;
      }
      inAlarm[k] = bad;
    });
  }
  const hit = s.det !== null && first < Infinity;
  return { notifications, byClass: { physiological: notifications }, detected: hit ? 1 : 0, ttas: hit ? [Math.max(0, first - s.detectFrom)] : [] };
}

const TECHNICAL = new Set<string>(TECHNICAL_RULE_IDS);
export const byRule = new Map<string, number>();

function wardstream(readings: readonly VitalsReading[], s: Script, book: ReturnType<typeof loadRuleFile>): Result & { events: AlertEvent[] } {
  const rules = book.forPatient(readings[0]!.wardId, readings[0]!.patientId);
  let st: PatientState | undefined;
  const acks: { ts: number; alertId: string }[] = [];
  const events: AlertEvent[] = [];
  let notifications = 0;
  const byClass: Record<string, number> = { physiological: 0, technical: 0, escalation: 0 };
  let first = Infinity;
  let ackN = 0;
  for (const r of readings) {
    while (acks.length && acks[0]!.ts <= r.ts && st) {
      const a = acks.shift()!;
      const res = applyAction(
        st,
        {
          actionId: `ack${ackN++}`,
          alertId: a.alertId,
          patientId: r.patientId,
          wardId: r.wardId,
          action: 'ack',
          durationMs: null,
          user: 'nurse',
          role: 'nurse',
          ts: a.ts,
        },
        rules,
      );
      st = res.state;
      events.push(...res.events);
    }
    const res = step(st, r, rules);
    st = res.state;
    for (const e of res.events) {
      events.push(e);
      const loud = (e.phase === 'start' && e.groupedWith === null) || e.phase === 'escalate';
      if (!loud) continue;
      notifications++;
      byClass[e.phase === 'escalate' ? 'escalation' : TECHNICAL.has(e.rule) ? 'technical' : 'physiological']!++;
      byRule.set(`${e.rule}:${e.phase}`, (byRule.get(`${e.rule}:${e.phase}`) ?? 0) + 1);
      acks.push({ ts: e.eventTs + 45_000, alertId: e.alertId });
      if (s.det && !TECHNICAL.has(e.rule) && e.phase === 'start' && e.eventTs >= s.detStart && e.eventTs <= s.detEnd + 600_000 && e.eventTs < first)
        first = e.eventTs;
    }
  }
  const hit = s.det !== null && first < Infinity;
  return { notifications, byClass, detected: hit ? 1 : 0, ttas: hit ? [Math.max(0, first - s.detectFrom)] : [], events };
}

const book = loadRuleFile(DEFAULT_RULE_FILE);
const rnd = prng(SEED);
const totals = {
  naive: { n: 0, det: 0, tta: [] as number[], cls: {} as Record<string, number> },
  ws: { n: 0, det: 0, tta: [] as number[], cls: {} as Record<string, number> },
};
const perDet: { patient: string; det: Det; naiveTtaS: number | null; wardstreamTtaS: number | null }[] = [];
let deteriorations = 0;
let readingsTotal = 0;
const p = progress('patients', PATIENTS);
const t0 = performance.now();
for (let i = 0; i < PATIENTS; i++) {
  const s = scriptFor(i, rnd);
  const readings = generate(i, rnd, s);
  readingsTotal += readings.length;
  if (s.det) deteriorations++;
  const a = naive(readings, s);
  const b = wardstream(readings, s, book);
  totals.naive.n += a.notifications;
  totals.naive.det += a.detected;
  totals.naive.tta.push(...a.ttas);
  totals.ws.n += b.notifications;
  totals.ws.det += b.detected;
  totals.ws.tta.push(...b.ttas);
  for (const [k, v] of Object.entries(a.byClass)) totals.naive.cls[k] = (totals.naive.cls[k] ?? 0) + v;
  for (const [k, v] of Object.entries(b.byClass)) totals.ws.cls[k] = (totals.ws.cls[k] ?? 0) + v;
  if (s.det)
    perDet.push({
      patient: `af${i}`,
      det: s.det,
      naiveTtaS: a.ttas[0] !== undefined ? Math.round(a.ttas[0] / 1000) : null,
      wardstreamTtaS: b.ttas[0] !== undefined ? Math.round(b.ttas[0] / 1000) : null,
    });
  p.tick(1);
}
p.done();
const secs = (performance.now() - t0) / 1000;
const patientDays = (PATIENTS * HOURS) / 24;
const perDay = (n: number) => n / patientDays;
const s = (xs: number[]) => [...xs].sort((x, y) => x - y);
const reduction = 1 - totals.ws.n / totals.naive.n;
const row = (name: string, t: typeof totals.naive) =>
  `| ${name} | ${t.n} | ${perDay(t.n).toFixed(1)} | ${Object.entries(t.cls)
    .map(([k, v]) => `${k} ${v}`)
    .join(
      ', ',
    )} | ${t.det}/${deteriorations} | ${t.tta.length ? Math.round(percentile(s(t.tta), 50) / 1000) : '–'} s | ${t.tta.length ? Math.round(Math.max(...t.tta) / 1000) : '–'} s |`;
const md = [
  `Cohort: ${PATIENTS} patients × ${HOURS} h, one reading every ${INTERVAL / 1000} s (${readingsTotal.toLocaleString('en')} readings), seed ${SEED}, ${deteriorations} scripted deteriorations; rule file ${book.version}. ${Math.round(readingsTotal / secs).toLocaleString('en')} readings/s through both.`,
  '',
  '| alarming | notifications | per patient-day | by class | deteriorations alerted | median time-to-alert | max time-to-alert |',
  '|---|---:|---:|---|---:|---:|---:|',
  row('naive per-reading thresholds', totals.naive),
  row('wardstream rules', totals.ws),
  '',
  `Notifications: ${(reduction * 100).toFixed(1)} % fewer than naive (target ≥ 60 %). Sensitivity: ${totals.ws.det}/${deteriorations} (target: all).`,
  '',
  '| patient | deterioration | naive time-to-alert | wardstream time-to-alert |',
  '|---|---|---:|---:|',
  ...perDet.map((d) => `| ${d.patient} | ${d.det} | ${d.naiveTtaS ?? 'missed'} s | ${d.wardstreamTtaS ?? 'missed'} s |`),
].join('\n');
console.log(md);
if (flag('--by-rule'))
  console.log(
    [...byRule]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join('\n'),
  );
const out = arg('--out', 'benchmarks/results');
mkdirSync(out, { recursive: true });
writeFileSync(`${out}/alarm-fatigue.md`, `${md}\n`);
writeFileSync(
  `${out}/alarm-fatigue.svg`,
  barChart(`Notifications per patient-day (${PATIENTS} patients × ${HOURS} h)`, '/patient-day', [
    { label: 'naive per-reading thresholds', value: perDay(totals.naive.n), group: 'naive' },
    { label: 'wardstream rules', value: perDay(totals.ws.n), group: 'wardstream' },
  ]),
);
