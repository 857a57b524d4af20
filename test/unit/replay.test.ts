/**
 * The replay's pure parts, without PostgreSQL or Kafka: how Kafka records become per-patient
 * histories, the filters, how work is shared out over workers and merged back, and which
 * patients get a timeline.
 */
import { describe, expect, it } from 'vitest';
import { parseReplayArgs } from '../../history/replay/args.ts';
import { type Span, timelineOf, timelinePatients } from '../../history/replay/report.ts';
import { mergeShards, patientShardSql, shareOf, workerCount } from '../../history/replay/shards.ts';
import { checkWards, scopeOf } from '../../history/replay/source.ts';
import { PatientReadings } from '../../history/replay/sources/kafka.ts';
import { filterSql, whereOf } from '../../history/replay/sources/postgres.ts';
import type { AlertEvent, VitalsReading } from '../../schemas/records.ts';

const T = Date.UTC(2026, 10, 26, 12);
const r = (patientId: string, ts: number, o: Partial<VitalsReading> = {}): VitalsReading => ({
  patientId,
  wardId: 'w1',
  bed: null,
  deviceId: 'd1',
  seq: 1,
  ts,
  receivedAt: ts,
  heartRate: 70,
  spo2: null,
  respRate: null,
  systolicBp: null,
  diastolicBp: null,
  temperature: null,
  consciousness: null,
  onOxygen: null,
  correlationId: 'c',
  ...o,
});
const args = (o: Record<string, unknown> = {}) => parseReplayArgs({ from: String(T), to: String(T + 3_600_000), warmup: '10', ...o } as never, T + 7_200_000);

describe('Kafka readings grouped per patient', () => {
  it('hands out patients in id order, each in (ts, seq, device) order, whatever the arrival order and partition', () => {
    const v = new PatientReadings(args());
    const arrivals = [
      r('p2', T + 2000),
      r('p1', T + 1000, { seq: 2 }),
      r('p1', T + 1000, { seq: 1, deviceId: 'd2' }),
      r('p1', T + 1000, { seq: 1, deviceId: 'd1' }),
      r('p2', T + 500),
      r('p1', T),
    ];
    arrivals.forEach((x, i) => {
      v.add(i % 2, x);
    });
    const out = [...v.patients()];
    expect(out.map((rs) => rs[0]!.patientId)).toEqual(['p1', 'p2']);
    expect(out[0]!.map((x) => [x.ts - T, x.seq, x.deviceId])).toEqual([
      [0, 1, 'd1'],
      [1000, 1, 'd1'],
      [1000, 1, 'd2'],
      [1000, 2, 'd1'],
    ]);
    expect(out[1]!.map((x) => x.ts - T)).toEqual([500, 2000]);
    expect(v.total).toBe(6);
  });

  it('keeps [from − warmup, to) only; the filters drop patients but every ward in range counts for the watermarks and the ward check', () => {
    const v = new PatientReadings(args({ ward: ['w1'] }));
    v.add(0, r('p1', T - 600_000)); // first instant of the warm-up: kept
    v.add(0, r('p1', T - 600_001)); // before it
    v.add(0, r('p1', T + 3_600_000)); // `to` is exclusive
    v.add(0, r('p9', T + 5000, { wardId: 'w2' })); // filtered out, yet seen
    v.add(3, r('p8', T + 9000, { wardId: 'w3' }));
    expect([...v.byPatient.keys()]).toEqual(['p1']);
    expect(v.total).toBe(1);
    expect([...v.wardsSeen].sort()).toEqual(['w1', 'w2', 'w3']);
    expect([...v.partitionMaxTs]).toEqual([
      [0, T + 5000],
      [3, T + 9000],
    ]);
  });
});

describe('replay filters', () => {
  it('one predicate for wards and patients, none when nothing is filtered', () => {
    expect(scopeOf(args())).toBeNull();
    const both = scopeOf(args({ ward: ['w1'], patients: ['p1,p2'] }))!;
    expect([both('w1', 'p1'), both('w1', 'p3'), both('w2', 'p1')]).toEqual([true, false, false]);
  });

  it('SQL with literals only (COPY takes no parameters), quoted, the same range for every query', () => {
    const f = filterSql(args({ ward: ["w'1"], patients: ['p1'] }), { patients: ['x'] });
    expect(f.range).toBe(`ts >= to_timestamp(${T - 600_000} / 1000.0) AND ts < to_timestamp(${T + 3_600_000} / 1000.0)`);
    expect(f.scope).toEqual(["ward_id = ANY(ARRAY['w''1']::text[])", "patient_id = ANY(ARRAY['p1']::text[])", "patient_id = ANY(ARRAY['x']::text[])"]);
    expect(whereOf(filterSql(args(), { column: 'event_ts', from: T }))).toBe(
      `event_ts >= to_timestamp(${T} / 1000.0) AND event_ts < to_timestamp(${T + 3_600_000} / 1000.0)`,
    );
  });

  it('an unknown ward names the wards that do have readings', () => {
    expect(() => checkWards(args({ ward: ['icu-9'] }), new Set(['w2', 'w1']))).toThrow(
      /unknown ward icu-9: no readings between .* \(wards with readings: w1, w2\)/,
    );
    expect(() => checkWards(args({ ward: ['a', 'b'] }), new Set())).toThrow(/unknown wards a, b: .*no readings at all/);
    expect(() => checkWards(args({ ward: ['w1'] }), new Set(['w1']))).not.toThrow();
  });
});

describe('replay workers', () => {
  it('default to one core less than the machine has, at most 4, at least 1', () => {
    expect([
      workerCount(undefined, 2),
      workerCount(undefined, 8),
      workerCount(undefined, 1),
      workerCount(3, 2),
      workerCount(0, 8),
      workerCount(2.7, 8),
    ]).toEqual([1, 4, 1, 3, 1, 2]);
  });

  it('share partitions so that each is read by exactly one worker', () => {
    const parts = [5, 0, 3, 1, 7, 2, 6];
    for (const n of [1, 2, 3, 7, 9]) {
      const shares = Array.from({ length: n }, (_, i) => shareOf(parts, n, i));
      expect(shares.flat().sort()).toEqual([...parts].sort());
      expect(Math.max(...shares.map((s) => s.length)) - Math.min(...shares.map((s) => s.length))).toBeLessThanOrEqual(1);
    }
  });

  it('split patients by hash, one predicate per shard', () => {
    expect([0, 1, 2].map((i) => patientShardSql(3, i))).toEqual([
      '(hashtext(patient_id) & 2147483647) % 3 = 0',
      '(hashtext(patient_id) & 2147483647) % 3 = 1',
      '(hashtext(patient_id) & 2147483647) % 3 = 2',
    ]);
  });

  it('merge into the same totals whatever the split', () => {
    const e = (id: string) => ({ eventId: id }) as AlertEvent;
    const one = mergeShards([{ events: [e('a'), e('b'), e('c')], readings: 30, patients: 3, wardsSeen: ['w1', 'w2'] }]);
    const three = mergeShards([
      { events: [e('c')], readings: 5, patients: 1, wardsSeen: ['w2'] },
      { events: [], readings: 0, patients: 0, wardsSeen: [] },
      { events: [e('a'), e('b')], readings: 25, patients: 2, wardsSeen: ['w1', 'w2'] },
    ]);
    for (const m of [one, three]) m.events.sort((x, y) => (x.eventId < y.eventId ? -1 : 1));
    expect(three).toEqual(one);
  });
});

describe('report timelines', () => {
  const span = (patientId: string, start: number): Span => ({
    alertId: `${patientId}-${start}`,
    patientId,
    wardId: 'w1',
    rule: 'hr-high',
    priority: 'high',
    start,
    end: null,
    onset: start,
  });
  it('go to the patients with the most differences, then the most episodes, ties by id', () => {
    const diff = {
      added: 1,
      removed: 1,
      earlier: 0,
      later: 0,
      same: 0,
      items: [
        { kind: 'added' as const, patientId: 'p3', rule: 'r', currentStart: null, proposedStart: T, deltaSec: null },
        { kind: 'removed' as const, patientId: 'p4', rule: 'r', currentStart: T, proposedStart: null, deltaSec: null },
      ],
    };
    const current = [span('p1', T), span('p1', T + 1), span('p2', T), span('p4', T)];
    expect(timelinePatients(diff, current, [span('p2', T + 5), span('p5', T)], 4)).toEqual(['p4', 'p3', 'p1', 'p2']);
    expect(timelinePatients(diff, current, [], 0)).toEqual([]);
  });

  it('show the patient from `from` on, one point per minute, and only its own spans', () => {
    const t = timelineOf(
      'p1',
      [r('p1', T - 60_000), r('p1', T + 1000, { heartRate: 80 }), r('p1', T + 2000, { heartRate: 90 }), r('p1', T + 61_000)],
      T,
      [span('p1', T), span('p2', T)],
      [],
    );
    expect(t.series).toEqual({
      heartRate: [
        [T, 90],
        [T + 60_000, 70],
      ],
    });
    expect(t.current.map((s) => s.patientId)).toEqual(['p1']);
    expect(t.proposed).toEqual([]);
  });
});
