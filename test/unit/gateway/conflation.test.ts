import { describe, expect, it } from 'vitest';
import {
  CONFLATE_ABOVE_BYTES,
  catchUp,
  mayConflate,
  RESUME_BELOW_BYTES,
  shouldCatchUp,
  shouldConflate,
  sweepSlowSockets,
} from '../../../gateway/conflation.ts';
import { harness, reading } from './harness.ts';

describe('conflation decisions', () => {
  it('switches above CONFLATE_ABOVE_BYTES and back at or below RESUME_BELOW_BYTES (hysteresis)', () => {
    expect(shouldConflate(CONFLATE_ABOVE_BYTES)).toBe(false);
    expect(shouldConflate(CONFLATE_ABOVE_BYTES + 1)).toBe(true);
    expect(shouldCatchUp(RESUME_BELOW_BYTES)).toBe(true);
    expect(shouldCatchUp(RESUME_BELOW_BYTES + 1)).toBe(false);
    expect(RESUME_BELOW_BYTES).toBeLessThan(CONFLATE_ABOVE_BYTES);
  });

  it('only open sockets that receive live vitals are candidates', async () => {
    const h = await harness();
    const nurse = h.connect();
    await h.send(nurse, { type: 'subscribe', ward: 'w1' });
    const admin = h.connect({ role: 'admin' });
    await h.send(admin, { type: 'subscribe', ward: 'w1' });
    expect(mayConflate(nurse.getUserData())).toBe(true);
    expect(mayConflate(admin.getUserData())).toBe(false); // no vitals: nothing to conflate, alerts are never withheld
    nurse.getUserData().conflating = true;
    expect(mayConflate(nurse.getUserData())).toBe(false);
  });
});

describe('conflation over a fake socket', () => {
  it('withholds vitals from a slow socket, keeps its alerts, and catches it up with the latest reading per patient', async () => {
    const h = await harness();
    const slow = h.connect({ wards: ['w1', 'w2'] });
    const fast = h.connect({ wards: ['w1'] });
    await h.send(slow, { type: 'subscribe', ward: 'w1' });
    await h.send(slow, { type: 'subscribe', ward: 'w2' });
    await h.send(fast, { type: 'subscribe', ward: 'w1' });
    slow.buffered = CONFLATE_ABOVE_BYTES + 1;
    expect(sweepSlowSockets(h.hub.sockets)).toBe(1);
    expect(slow.getUserData().conflating).toBe(true);
    expect([...slow.topics].sort()).toEqual(['a/w1', 'a/w2']);
    expect(sweepSlowSockets(h.hub.sockets)).toBe(0); // already conflating
    slow.clear();
    fast.clear();

    h.feed.vitals(3, reading({ patientId: 'p1', wardId: 'w1', heartRate: 80 }));
    h.feed.vitals(3, reading({ patientId: 'p1', wardId: 'w1', heartRate: 81 }));
    h.feed.vitals(3, reading({ patientId: 'p2', wardId: 'w1', heartRate: 90 }));
    h.feed.vitals(2, reading({ patientId: 'p3', wardId: 'w2', heartRate: 60 }));
    expect(slow.sent).toEqual([]);
    expect(fast.ofType('vitals')).toHaveLength(3);
    // A subscription made while conflating does not rejoin the vitals topic either.
    await h.send(slow, { type: 'subscribe', ward: 'w1' });
    expect(slow.topics.has('v/w1')).toBe(false);
    slow.clear();

    slow.buffered = RESUME_BELOW_BYTES + 1;
    expect(catchUp(slow, h.core.cache)).toBe(false);
    slow.buffered = 0;
    expect(catchUp(slow, h.core.cache)).toBe(true);
    const hr = slow.ofType('vitals').map((m) => m.reading as { patientId: string; heartRate: number });
    expect(hr.map((r) => [r.patientId, r.heartRate])).toEqual([
      ['p1', 81],
      ['p2', 90],
      ['p3', 60],
    ]);
    expect([...slow.topics].sort()).toEqual(['a/w1', 'a/w2', 'v/w1', 'v/w2']);
    expect(catchUp(slow, h.core.cache)).toBe(false); // live again: nothing to catch up
  });
});
