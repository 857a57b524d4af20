/**
 * A deterministic cohort of simulated patients and their bedside monitors.
 *
 * `Cohort.tick(ts)` returns the next reading of every patient whose turn it is, as MQTT topic
 * + JSON payload exactly as a device would publish it, with per-device sequence numbers.
 * Everything derives from the seed: the same seed, patients and timestamps give the same
 * bytes. Scenarios script clinical events on some patients:
 *   tachycardia   heart rate climbs to ~150/min for 60 s, then settles
 *   desaturation  SpO2 falls to ~85% for 60 s
 *   hypotension   systolic BP falls to ~80 mmHg for 90 s
 *   artifact      3 s motion spikes (heart rate 180, SpO2 70) that must NOT alarm
 */
import mqtt from 'mqtt';

export const SCENARIOS = ['tachycardia', 'desaturation', 'hypotension', 'artifact'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** mulberry32: small, fast, deterministic PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface SimPatient {
  readonly id: string;
  readonly ward: string;
  readonly device: string;
  readonly base: { hr: number; spo2: number; rr: number; sbp: number; dbp: number; temp: number };
  readonly scenario: Scenario | null;
  /** Offset of the scripted event from the cohort start, ms. */
  readonly eventAt: number;
  seq: number;
}

export interface CohortOptions {
  readonly patients: number;
  readonly wards: number;
  readonly seed?: number;
  /** Readings per patient per second. */
  readonly rate?: number;
  /** Scenario applied to a share of patients; null = all stable. */
  readonly scenario?: Scenario | 'mixed' | null;
  /** Share of patients that get the scenario (0..1). */
  readonly affected?: number;
  readonly start: number;
  /** When scripted events begin after start, ms. */
  readonly eventDelayMs?: number;
  readonly wardPrefix?: string;
  readonly patientPrefix?: string;
}

export interface DeviceMessage {
  readonly topic: string;
  readonly payload: string;
  readonly patientId: string;
  readonly seq: number;
  readonly ts: number;
}

const r1 = (x: number) => Math.round(x * 10) / 10;

export class Cohort {
  readonly patients: SimPatient[] = [];
  private readonly rnd: () => number;
  private readonly intervalMs: number;
  private nextTs: number;

  constructor(private readonly o: CohortOptions) {
    this.rnd = prng(o.seed ?? 1);
    this.intervalMs = 1000 / (o.rate ?? 1);
    this.nextTs = o.start;
    const wp = o.wardPrefix ?? 'ward-';
    const pp = o.patientPrefix ?? 'p';
    for (let i = 0; i < o.patients; i++) {
      const scen: Scenario | null =
        o.scenario === 'mixed'
          ? this.rnd() < (o.affected ?? 0.25)
            ? SCENARIOS[i % SCENARIOS.length]!
            : null
          : o.scenario
            ? this.rnd() < (o.affected ?? 1)
              ? o.scenario
              : null
            : null;
      this.patients.push({
        id: `${pp}${String(i + 1).padStart(4, '0')}`,
        ward: `${wp}${(i % o.wards) + 1}`,
        device: `mon-${String(i + 1).padStart(4, '0')}`,
        base: {
          hr: 65 + this.rnd() * 25,
          spo2: 95 + this.rnd() * 4,
          rr: 13 + this.rnd() * 5,
          sbp: 112 + this.rnd() * 25,
          dbp: 68 + this.rnd() * 12,
          temp: 36.4 + this.rnd() * 0.8,
        },
        scenario: scen,
        eventAt: (o.eventDelayMs ?? 20_000) + Math.floor(this.rnd() * 20_000),
        seq: 0,
      });
    }
  }

  /** Vitals of one patient at time ts (pure in the cohort's seeded noise). */
  private vitals(p: SimPatient, ts: number) {
    const n = () => (this.rnd() - 0.5) * 2;
    const t = ts - this.o.start - p.eventAt;
    let { hr, spo2, rr, sbp, dbp, temp } = p.base;
    hr += n() * 2;
    spo2 += n() * 0.6;
    rr += n() * 0.8;
    sbp += n() * 3;
    dbp += n() * 2;
    temp += n() * 0.05;
    const ramp = (dur: number, hold: number) => (t < 0 ? 0 : t < dur ? t / dur : t < dur + hold ? 1 : t < 2 * dur + hold ? 1 - (t - dur - hold) / dur : 0);
    switch (p.scenario) {
      case 'tachycardia':
        hr += ramp(10_000, 60_000) * (152 - hr);
        rr += ramp(10_000, 60_000) * 6;
        break;
      case 'desaturation':
        spo2 += ramp(10_000, 60_000) * (85 - spo2);
        rr += ramp(10_000, 60_000) * 8;
        break;
      case 'hypotension':
        sbp += ramp(10_000, 90_000) * (78 - sbp);
        hr += ramp(10_000, 90_000) * 20;
        break;
      case 'artifact':
        if (t >= 0 && t % 30_000 < 3000) {
          hr = 180;
          spo2 = 70;
        }
        break;
      default:
        break;
    }
    return {
      heartRate: Math.round(hr),
      spo2: Math.min(100, Math.round(spo2)),
      respRate: Math.round(rr),
      systolicBp: Math.round(sbp),
      diastolicBp: Math.round(dbp),
      temperature: r1(temp),
    };
  }

  message(p: SimPatient, ts: number): DeviceMessage {
    const seq = ++p.seq;
    const payload = JSON.stringify({ deviceId: p.device, seq, ts, vitals: this.vitals(p, ts), consciousness: 'A', onOxygen: false });
    return { topic: `wards/${p.ward}/patients/${p.id}/vitals`, payload, patientId: p.id, seq, ts };
  }

  /** One reading per patient at the next tick time; returns the tick's timestamp and messages. */
  next(): { ts: number; messages: DeviceMessage[] } {
    const ts = Math.round(this.nextTs);
    this.nextTs += this.intervalMs;
    return { ts, messages: this.patients.map((p) => this.message(p, ts)) };
  }
}

/** Publishes a cohort in real time over MQTT (QoS 1) until stopped. */
export async function runSimulator(
  o: CohortOptions & { url: string; log?: (s: string) => void; durationSec?: number },
): Promise<{ stop: () => Promise<void>; published: () => number }> {
  const client = await mqtt.connectAsync(o.url, {
    clientId: `wardstream-sim-${o.seed ?? 1}-${process.pid}`,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 500,
  });
  const cohort = new Cohort(o);
  let published = 0;
  let stopped = false;
  const endAt = o.durationSec ? Date.now() + o.durationSec * 1000 : Infinity;
  const loop = async () => {
    while (!stopped && Date.now() < endAt) {
      const { ts, messages } = cohort.next();
      const wait = ts - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (stopped) break;
      await Promise.all(
        messages.map((m) =>
          client.publishAsync(m.topic, m.payload, { qos: 1 }).then(() => {
            published++;
          }),
        ),
      );
    }
  };
  const done = loop().catch((e) => o.log?.(`simulator stopped: ${(e as Error).message}`));
  return {
    published: () => published,
    async stop() {
      stopped = true;
      await done;
      await client.endAsync();
    },
  };
}
