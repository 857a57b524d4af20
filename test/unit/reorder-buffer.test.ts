import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PartitionStore } from '../../processors/runner/partition-store.ts';
import { type ReleasePolicy, ReorderBuffer } from '../../processors/runner/reorder-buffer.ts';
import type { VitalsReading } from '../../schemas/records.ts';

const T0 = 1_700_000_000_000;
const LATENESS = 2000;
function r(patientId: string, deviceId: string, seq: number, sec: number): VitalsReading {
  return {
    patientId,
    wardId: 'w1',
    bed: null,
    deviceId,
    seq,
    ts: T0 + sec * 1000,
    receivedAt: 0,
    heartRate: 80,
    spo2: null,
    respRate: null,
    systolicBp: null,
    diastolicBp: null,
    temperature: null,
    consciousness: null,
    onOxygen: null,
    correlationId: `${patientId}-${deviceId}-${seq}`,
  };
}
/** A policy with the devices each patient's state knows. */
const policy = (known: Record<string, string[]> = {}): ReleasePolicy => ({
  knownDevices: (pid) => known[pid]?.map((deviceId) => ({ deviceId })),
  allowedLatenessMs: () => LATENESS,
});
const ids = (bs: readonly { r: VitalsReading }[]) => bs.map((b) => `${b.r.deviceId}/${b.r.seq}`);

describe('reorder buffer', () => {
  it("releases a patient's readings in (ts, seq) order once they are behind its newest reading by the lateness", () => {
    const b = new ReorderBuffer();
    let off = 0;
    const add = (x: VitalsReading) => b.add(x, Buffer.alloc(0), off++, 0);
    add(r('p', 'mon', 1, 10));
    add(r('p', 'wear', 1, 9));
    add(r('p', 'mon', 2, 11));
    add(r('p', 'wear', 2, 10.5));
    expect(ids(b.release(policy(), 0, false))).toEqual(['wear/1']); // 9 <= 11 - 2; 10 is not yet
    add(r('p', 'mon', 3, 13));
    expect(ids(b.release(policy(), 0, false))).toEqual(['mon/1', 'wear/2', 'mon/2']);
    expect(ids(b.release(policy(), 0, true))).toEqual(['mon/3']);
    expect(b.size).toBe(0);
  });

  it('orders equal event times by seq', () => {
    const b = new ReorderBuffer();
    b.add(r('p', 'a', 2, 5), Buffer.alloc(0), 0, 0);
    b.add(r('p', 'b', 1, 5), Buffer.alloc(0), 1, 0);
    expect(ids(b.release(policy(), 0, true))).toEqual(['b/1', 'a/2']);
  });

  it('releases a known single device at once, but holds a patient not seen before and one with a second device', () => {
    const b = new ReorderBuffer();
    b.add(r('solo', 'd1', 1, 10), Buffer.alloc(0), 0, 0);
    b.add(r('new', 'd2', 1, 10), Buffer.alloc(0), 1, 0);
    b.add(r('two', 'd3', 1, 10), Buffer.alloc(0), 2, 0);
    b.add(r('two', 'd4', 1, 10), Buffer.alloc(0), 3, 0);
    const p = policy({ solo: ['d1'], two: ['d3'] });
    expect(ids(b.release(p, 0, false))).toEqual(['d1/1']);
    expect(b.size).toBe(2);
  });

  it('releases by the partition watermark, which never goes back', () => {
    const b = new ReorderBuffer();
    b.add(r('quiet', 'd1', 1, 10), Buffer.alloc(0), 0, 0);
    b.add(r('busy', 'd2', 1, 30), Buffer.alloc(0), 1, 0);
    expect(b.release(policy(), 0, false, ['quiet'])).toEqual([]); // its own newest is 10: nothing is behind it
    b.advanceWatermark(['busy'], LATENESS);
    expect(b.watermark).toBe(T0 + 28_000);
    expect(ids(b.release(policy(), 0, false, ['quiet']))).toEqual(['d1/1']);
    b.advanceWatermark(['quiet'], LATENESS);
    expect(b.watermark).toBe(T0 + 28_000);
  });

  it('releases by wall time what waited the allowed lateness (an idle ward)', () => {
    const b = new ReorderBuffer();
    b.add(r('p', 'd', 1, 10), Buffer.alloc(0), 0, 1000);
    expect(b.release(policy(), 1000 + LATENESS - 1, false)).toEqual([]);
    expect(ids(b.release(policy(), 1000 + LATENESS, false))).toEqual(['d/1']);
  });

  it('never lets the commit offset pass a buffered reading', () => {
    const b = new ReorderBuffer();
    expect(b.commitOffset(7n)).toBe(7n);
    b.add(r('held', 'x', 1, 10), Buffer.alloc(0), 7, 0);
    b.add(r('solo', 'd', 1, 10), Buffer.alloc(0), 8, 0);
    b.release(policy({ solo: ['d'] }), 0, false);
    expect(b.commitOffset(9n)).toBe(7n);
    b.release(policy(), 0, true);
    expect(b.commitOffset(9n)).toBe(9n);
  });

  it("property: whatever the arrival order, a release is a (ts, seq)-ordered prefix of each patient's buffered readings, each reading comes out once, and the commit offset never passes a buffered one", () => {
    const reading = fc.record({
      p: fc.constantFrom('a', 'b', 'c'),
      dev: fc.constantFrom('m', 'w'),
      sec: fc.integer({ min: 0, max: 60 }),
      wall: fc.integer({ min: 0, max: 3000 }),
    });
    const bySeq = (x: VitalsReading, y: VitalsReading) => x.ts - y.ts || x.seq - y.seq;
    fc.assert(
      fc.property(fc.array(fc.tuple(reading, fc.boolean()), { maxLength: 80 }), (xs) => {
        const b = new ReorderBuffer();
        const model = new Map<string, VitalsReading[]>(); // what is buffered, per patient
        const out: number[] = [];
        const check = (released: readonly { r: VitalsReading; offset: number }[]) => {
          const got = new Map<string, VitalsReading[]>();
          for (const y of released) {
            got.set(y.r.patientId, [...(got.get(y.r.patientId) ?? []), y.r]);
            out.push(y.offset);
          }
          for (const [pid, list] of got) {
            const sorted = [...model.get(pid)!].sort(bySeq);
            expect(list).toEqual(sorted.slice(0, list.length));
            model.set(pid, sorted.slice(list.length));
          }
        };
        let now = 0;
        xs.forEach(([x, release], i) => {
          now += x.wall;
          const reading = r(x.p, x.dev, i, x.sec);
          b.add(reading, Buffer.alloc(0), i, now);
          model.set(x.p, [...(model.get(x.p) ?? []), reading]);
          b.advanceWatermark([x.p], LATENESS);
          if (release) check(b.release(policy({ a: ['m'] }), now, false));
          const commit = b.commitOffset(BigInt(i + 1));
          for (const list of model.values()) for (const y of list) expect(commit <= BigInt(y.seq)).toBe(true); // seq = offset here
        });
        check(b.release(policy(), now, true));
        expect(out.sort((p, q) => p - q)).toEqual(xs.map((_, i) => i));
        expect(b.commitOffset(BigInt(xs.length))).toBe(BigInt(xs.length));
      }),
    );
  });
});

describe('partition store', () => {
  const state = (patientId: string) => ({ patientId }) as never;

  it('commits changed states, then the offsets; forgets each only once written', () => {
    const s = new PartitionStore(0, () => LATENESS);
    s.patients.set('p1', state('p1'));
    s.patients.set('p2', state('p2'));
    expect(s.hasUncommitted()).toBe(false);
    s.changed(['p1'], { topic: 'vitals', offset: '5' });
    s.changed(['p1', 'p2'], { topic: 'vitals', offset: '9' });
    expect(s.hasUncommitted()).toBe(true);
    expect(s.commitDue(999, 1000)).toBe(false);
    expect(s.commitDue(1000, 1000)).toBe(true);
    // A commit whose writes fail leaves everything to be written by the next one.
    expect(s.beginCommit(1000).map((x) => x.patientId)).toEqual(['p1', 'p2']);
    expect(s.commitDue(1500, 1000)).toBe(false);
    expect(s.beginCommit(2000).map((x) => x.patientId)).toEqual(['p1', 'p2']);
    s.statesWritten();
    expect(s.offsets()).toEqual([['vitals', '9']]);
    expect(s.hasUncommitted()).toBe(true);
    s.offsetsCommitted();
    expect(s.hasUncommitted()).toBe(false);
    expect(s.beginCommit(3000)).toEqual([]);
  });

  it('keeps one pending offset per topic, the latest', () => {
    const s = new PartitionStore(0, () => LATENESS);
    s.changed([], { topic: 'vitals', offset: '3' });
    s.changed([], { topic: 'alert-actions', offset: '1' });
    s.changed([], { topic: 'vitals', offset: '4' });
    s.changed([], null);
    expect(s.offsets()).toEqual([
      ['vitals', '4'],
      ['alert-actions', '1'],
    ]);
  });

  it('commits vitals up to the oldest buffered reading, else past the last consumed', () => {
    const s = new PartitionStore(0, () => LATENESS);
    expect(s.vitalsCommitOffset()).toBe('0');
    s.buffer.add(r('p', 'd', 1, 1), Buffer.alloc(0), 41, 0);
    s.consumed = 42n;
    expect(s.vitalsCommitOffset()).toBe('41');
    s.release(0, true);
    expect(s.vitalsCommitOffset()).toBe('43');
  });

  it("uses its patients' devices for the single-device fast path and the rules' lateness", () => {
    const s = new PartitionStore(0, () => 10_000);
    s.patients.set('p', { devices: [{ deviceId: 'd', memory: null }] } as never);
    s.buffer.add(r('p', 'd', 1, 1), Buffer.alloc(0), 0, 0);
    s.buffer.add(r('q', 'd', 1, 1), Buffer.alloc(0), 1, 0);
    expect(s.release(5000, false).map((b) => b.r.patientId)).toEqual(['p']); // q waits the 10 s lateness
    expect(s.release(10_000, false).map((b) => b.r.patientId)).toEqual(['q']);
  });

  it('runs timers once per second of watermark time', () => {
    const s = new PartitionStore(0, () => LATENESS);
    s.buffer.add(r('p', 'd', 1, 0), Buffer.alloc(0), 0, 0);
    s.buffer.advanceWatermark(['p'], LATENESS);
    expect(s.tickDue()).toBe(true);
    expect(s.tickDue()).toBe(false);
    s.buffer.add(r('p', 'd', 2, 0.5), Buffer.alloc(0), 1, 0);
    s.buffer.advanceWatermark(['p'], LATENESS);
    expect(s.tickDue()).toBe(false);
    s.buffer.add(r('p', 'd', 3, 1), Buffer.alloc(0), 2, 0);
    s.buffer.advanceWatermark(['p'], LATENESS);
    expect(s.tickDue()).toBe(true);
  });
});
