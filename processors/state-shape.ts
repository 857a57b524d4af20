/**
 * A stored patient state, checked and rebuilt as the engine's own objects. Input: what a
 * decoder produced (an Avro record of schemas/processor-state.avsc, or a legacy JSON state put
 * in the same shape), where a field that may be null may also be absent.
 *
 * Checks what Avro cannot say (and, for JSON, the structure too): known kinds, levels,
 * priorities and states; finite numbers; whole, non-negative times and counters; 64-word
 * bitmaps of 16-bit words; alert ids matching their keys. Any failure throws
 * PROCESSOR_ERR_STATE_INVALID naming the field.
 *
 * Objects are built with the keys in the order the engine creates them, so restored states
 * share the hidden classes of live ones (the engine's hot path is tuned for those).
 */
import { WardstreamError } from '../common/errors.ts';
import { type Acvpu, type AlertPriority, VITAL_NAMES, type VitalName } from '../schemas/records.ts';
import { type SeqMemory, WINDOW } from './dedup.ts';
import type { EpisodeState } from './engine/episode.ts';
import type { News2Episode } from './engine/news2-episode.ts';
import type { Bucket, DeviceSeq, Obs, PatientState, TechnicalAlerts } from './engine/patient-state.ts';
import type { OpenAlert } from './lifecycle.ts';
import { NEWS2_PARAMS, type News2Level } from './news2.ts';

type Raw = Record<string, unknown>;

const KINDS = ['normal', 'pending', 'active', 'clearing'] as const;
const LEVELS: readonly News2Level[] = ['none', 'low', 'single-red', 'urgent', 'emergency'];
const PRIORITIES: readonly AlertPriority[] = ['high', 'medium', 'low'];
const OPEN_STATES = ['active', 'latched'] as const;
const ACVPU: readonly Acvpu[] = ['A', 'C', 'V', 'P', 'U'];
const WORDS = WINDOW / 16;

function fail(where: string, path: string, what: string): never {
  throw new WardstreamError('PROCESSOR_ERR_STATE_INVALID', `${where}: ${path} ${what}`);
}

/** Field readers over one stored state; `where` names the record in messages (e.g. "state of p1 (v1)"). */
class Reader {
  constructor(readonly where: string) {}
  obj(v: unknown, p: string): Raw {
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Raw) : fail(this.where, p, 'is not an object');
  }
  arr(v: unknown, p: string): readonly unknown[] {
    return Array.isArray(v) ? v : fail(this.where, p, 'is not an array');
  }
  str(v: unknown, p: string): string {
    return typeof v === 'string' ? v : fail(this.where, p, 'is not a string');
  }
  optStr(v: unknown, p: string): string | null {
    return v == null ? null : this.str(v, p);
  }
  bool(v: unknown, p: string): boolean {
    return typeof v === 'boolean' ? v : fail(this.where, p, 'is not a boolean');
  }
  num(v: unknown, p: string): number {
    return typeof v === 'number' && Number.isFinite(v) ? v : fail(this.where, p, 'is not a finite number');
  }
  optNum(v: unknown, p: string): number | null {
    return v == null ? null : this.num(v, p);
  }
  /** A whole number of at least `min` (times are epoch ms). */
  int(v: unknown, p: string, min = 0): number {
    return Number.isSafeInteger(v) && (v as number) >= min ? (v as number) : fail(this.where, p, `is not a whole number >= ${min}`);
  }
  optInt(v: unknown, p: string): number | null {
    return v == null ? null : this.int(v, p);
  }
  oneOf<T extends string>(v: unknown, symbols: readonly T[], p: string): T {
    return symbols.includes(v as T) ? (v as T) : fail(this.where, p, `is not one of ${symbols.join(', ')}`);
  }
  map<T>(v: unknown, p: string, item: (x: unknown, p: string, key: string) => T): Record<string, T> {
    const o = this.obj(v, p);
    const out: Record<string, T> = {};
    for (const k of Object.keys(o)) out[k] = item(o[k], `${p}.${k}`, k);
    return out;
  }
}

function memory(r: Reader, v: unknown, p: string): SeqMemory {
  const m = r.obj(v, p);
  const maxSeq = r.int(m.maxSeq, `${p}.maxSeq`, -1);
  const maxTs = r.int(m.maxTs, `${p}.maxTs`);
  let bits: number[] | null = null;
  if (m.bits != null) {
    const b = r.arr(m.bits, `${p}.bits`);
    if (b.length !== WORDS) fail(r.where, `${p}.bits`, `has ${b.length} words, not ${WORDS}`);
    const word = (w: unknown, i: number) =>
      Number.isInteger(w) && (w as number) >= 0 && (w as number) <= 0xffff ? (w as number) : fail(r.where, `${p}.bits.${i}`, 'is not a 16-bit word');
    bits = b.map(word);
  }
  return { maxSeq, maxTs, bits, minSeq: r.int(m.minSeq, `${p}.minSeq`) };
}

function episode(r: Reader, v: unknown, p: string): EpisodeState {
  const e = r.obj(v, p);
  const kind = r.oneOf(e.kind, KINDS, `${p}.kind`);
  switch (kind) {
    case 'normal':
      return { kind };
    case 'pending':
      return { kind, since: r.int(e.since, `${p}.since`), worst: r.num(e.worst, `${p}.worst`) };
    case 'active':
      return { kind, alertId: r.str(e.alertId, `${p}.alertId`), onset: r.int(e.onset, `${p}.onset`), worst: r.num(e.worst, `${p}.worst`) };
    case 'clearing': {
      const alertId = r.str(e.alertId, `${p}.alertId`);
      return { kind, alertId, onset: r.int(e.onset, `${p}.onset`), worst: r.num(e.worst, `${p}.worst`), since: r.int(e.since, `${p}.since`) };
    }
  }
}

function news2Episode(r: Reader, v: unknown, p: string): News2Episode {
  const e = r.obj(v, p);
  const kind = r.oneOf(e.kind, KINDS, `${p}.kind`);
  switch (kind) {
    case 'normal':
      return { kind };
    case 'pending':
      return { kind, since: r.int(e.since, `${p}.since`) };
    case 'active': {
      const alertId = r.str(e.alertId, `${p}.alertId`),
        level = r.oneOf(e.level, LEVELS, `${p}.level`),
        total = r.int(e.total, `${p}.total`);
      return e.lowerSince == null ? { kind, alertId, level, total } : { kind, alertId, level, total, lowerSince: r.int(e.lowerSince, `${p}.lowerSince`) };
    }
    case 'clearing': {
      const alertId = r.str(e.alertId, `${p}.alertId`),
        level = r.oneOf(e.level, LEVELS, `${p}.level`);
      return { kind, alertId, level, total: r.int(e.total, `${p}.total`), since: r.int(e.since, `${p}.since`) };
    }
  }
}

function vitals(r: Reader, v: unknown, p: string): Partial<Record<VitalName, Obs>> {
  const o = r.obj(v, p);
  const out: Partial<Record<VitalName, Obs>> = {};
  for (const k of Object.keys(o)) if (!(VITAL_NAMES as readonly string[]).includes(k)) fail(r.where, `${p}.${k}`, 'is not a vital');
  for (const k of VITAL_NAMES) {
    const x = o[k];
    if (x == null) continue;
    const ob = r.obj(x, `${p}.${k}`);
    out[k] = { v: r.num(ob.v, `${p}.${k}.v`), ts: r.int(ob.ts, `${p}.${k}.ts`) };
  }
  return out;
}

function technical(r: Reader, v: unknown, p: string): TechnicalAlerts {
  const t = r.obj(v, p);
  const out: { signalLoss?: string; sensorOff?: string; artifact?: string } = {};
  if (t.signalLoss != null) out.signalLoss = r.str(t.signalLoss, `${p}.signalLoss`);
  if (t.sensorOff != null) out.sensorOff = r.str(t.sensorOff, `${p}.sensorOff`);
  if (t.artifact != null) out.artifact = r.str(t.artifact, `${p}.artifact`);
  return out;
}

function openAlert(r: Reader, v: unknown, p: string, key: string): OpenAlert {
  const a = r.obj(v, p);
  const alertId = r.str(a.alertId, `${p}.alertId`);
  if (alertId !== key) fail(r.where, `${p}.alertId`, `is ${alertId}, not its key`);
  return {
    alertId,
    rule: r.str(a.rule, `${p}.rule`),
    label: r.str(a.label, `${p}.label`),
    priority: r.oneOf(a.priority, PRIORITIES, `${p}.priority`),
    state: r.oneOf(a.state, OPEN_STATES, `${p}.state`),
    acked: r.bool(a.acked, `${p}.acked`),
    silencedUntil: r.optInt(a.silencedUntil, `${p}.silencedUntil`),
    onsetTs: r.int(a.onsetTs, `${p}.onsetTs`),
    parameter: r.optStr(a.parameter, `${p}.parameter`),
    threshold: r.optNum(a.threshold, `${p}.threshold`),
    worst: r.optNum(a.worst, `${p}.worst`),
    lastUpdateTs: r.int(a.lastUpdateTs, `${p}.lastUpdateTs`),
    escalationLevel: r.int(a.escalationLevel, `${p}.escalationLevel`),
    lastEscalationTs: r.int(a.lastEscalationTs, `${p}.lastEscalationTs`),
    groupedWith: r.optStr(a.groupedWith, `${p}.groupedWith`),
    n: r.int(a.n, `${p}.n`),
  };
}

/** The PatientState a stored record describes; throws PROCESSOR_ERR_STATE_INVALID when it describes none. */
export function patientStateOf(v: unknown, where: string): PatientState {
  const r = new Reader(where);
  const s = r.obj(v, '(state)');
  const n2 = s.news2Last == null ? null : r.obj(s.news2Last, 'news2Last');
  const devices: DeviceSeq[] = r.arr(s.devices, 'devices').map((d, i) => {
    const o = r.obj(d, `devices.${i}`);
    return { deviceId: r.str(o.deviceId, `devices.${i}.deviceId`), memory: memory(r, o.memory, `devices.${i}.memory`) };
  });
  const consciousness = s.consciousness == null ? null : r.obj(s.consciousness, 'consciousness');
  const onOxygen = s.onOxygen == null ? null : r.obj(s.onOxygen, 'onOxygen');
  return {
    patientId: r.str(s.patientId, 'patientId'),
    wardId: r.str(s.wardId, 'wardId'),
    bed: r.optStr(s.bed, 'bed'),
    lastTs: r.int(s.lastTs, 'lastTs'),
    devices,
    episodes: r.map(s.episodes, 'episodes', (x, p) => episode(r, x, p)),
    buckets: r.map(s.buckets, 'buckets', (x, p): readonly Bucket[] =>
      r.arr(x, p).map((b, i) => {
        const o = r.obj(b, `${p}.${i}`);
        return { t: r.int(o.t, `${p}.${i}.t`), min: r.num(o.min, `${p}.${i}.min`), max: r.num(o.max, `${p}.${i}.max`) };
      }),
    ),
    obs: vitals(r, s.obs, 'obs'),
    raw: vitals(r, s.raw, 'raw'),
    consciousness: consciousness && { v: r.oneOf(consciousness.v, ACVPU, 'consciousness.v'), ts: r.int(consciousness.ts, 'consciousness.ts') },
    onOxygen: onOxygen && { v: r.bool(onOxygen.v, 'onOxygen.v'), ts: r.int(onOxygen.ts, 'onOxygen.ts') },
    news2: news2Episode(r, s.news2, 'news2'),
    news2Last: n2 && {
      total: r.int(n2.total, 'news2Last.total'),
      level: r.oneOf(n2.level, LEVELS, 'news2Last.level'),
      sub: r.map(n2.sub, 'news2Last.sub', (x, p, k) => {
        r.oneOf(k, NEWS2_PARAMS, p);
        return r.int(x, p);
      }),
    },
    artifacts: r.arr(s.artifacts, 'artifacts').map((t, i) => r.int(t, `artifacts.${i}`)),
    sensorOffSince: r.optInt(s.sensorOffSince, 'sensorOffSince'),
    tech: technical(r, s.tech, 'tech'),
    alerts: r.map(s.alerts, 'alerts', (x, p, k) => openAlert(r, x, p, k)),
    actions: r.arr(s.actions, 'actions').map((a, i) => r.str(a, `actions.${i}`)),
  };
}
