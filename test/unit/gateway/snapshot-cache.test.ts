import { describe, expect, it } from 'vitest';
import { RecentIds } from '../../../gateway/dedup.ts';
import { SnapshotCache } from '../../../gateway/snapshot-cache.ts';
import { alert, status } from './harness.ts';

describe('SnapshotCache', () => {
  it('keeps the latest status per patient and moves a patient between wards', () => {
    const c = new SnapshotCache();
    c.applyStatus(status({ patientId: 'p1', wardId: 'w1' }));
    c.applyStatus(status({ patientId: 'p2', wardId: 'w1' }));
    expect(c.snapshot('w1', true).map((p) => p.patientId)).toEqual(['p1', 'p2']);
    c.applyStatus(status({ patientId: 'p1', wardId: 'w2' }));
    expect(c.snapshot('w1', true).map((p) => p.patientId)).toEqual(['p2']);
    expect(c.snapshot('w2', true).map((p) => p.patientId)).toEqual(['p1']);
    expect(c.snapshot('w3', true)).toEqual([]);
  });

  it('gives roles without vitals a snapshot without vitals and NEWS2', () => {
    const c = new SnapshotCache();
    const active = [{ alertId: 'a1', rule: 'hr-high', priority: 'high' as const, state: 'active' as const, acked: false, onsetTs: 1 }];
    c.applyStatus(status({ patientId: 'p1', wardId: 'w1', alerts: active }));
    const [admin] = c.snapshot('w1', false);
    expect(Object.keys(admin!).sort()).toEqual(['activeAlerts', 'bed', 'patientId', 'updatedTs']);
    expect(admin!.activeAlerts).toEqual(active);
    const [nurse] = c.snapshot('w1', true);
    expect(nurse).toMatchObject({ patientId: 'p1', vitals: { heartRate: { value: 72 } }, news2Total: 1, news2Level: 'low', news2SubScores: { heartRate: 0 } });
  });

  it('finds open alerts from the alerts stream, closes them on inactive, and falls back to patient-status', () => {
    const c = new SnapshotCache();
    c.applyAlert(alert({ alertId: 'a1', patientId: 'p1', wardId: 'w1' }));
    expect(c.findAlert('a1')).toEqual({ alertId: 'a1', patientId: 'p1', wardId: 'w1', state: 'active' });
    c.applyAlert(alert({ alertId: 'a1', patientId: 'p1', wardId: 'w1', state: 'inactive' }));
    expect(c.findAlert('a1')).toBeUndefined();
    const alerts = [{ alertId: 'old', rule: 'spo2-low', priority: 'high', state: 'latched', acked: false, onsetTs: 1 }] as const;
    c.applyStatus(status({ patientId: 'p9', wardId: 'w2', alerts }));
    expect(c.findAlert('old')).toEqual({ alertId: 'old', patientId: 'p9', wardId: 'w2', state: 'latched' });
  });

  it('bounds the open alerts it remembers, oldest first', () => {
    const c = new SnapshotCache(2);
    for (const id of ['a1', 'a2', 'a3']) c.applyAlert(alert({ alertId: id, patientId: 'p1', wardId: 'w1' }));
    expect(c.findAlert('a1')).toBeUndefined();
    expect(c.findAlert('a2')).toBeDefined();
    expect(c.findAlert('a3')).toBeDefined();
  });

  it('remembers the latest vitals event of each patient, by ward', () => {
    const c = new SnapshotCache();
    c.noteVitals('w1', 'p1', 'r1');
    c.noteVitals('w1', 'p2', 'r2');
    c.noteVitals('w1', 'p1', 'r3');
    expect([...c.latestVitalsOf('w1')]).toEqual(['r3', 'r2']);
    expect([...c.latestVitalsOf('w9')]).toEqual([]);
  });
});

describe('RecentIds (alert eventId de-duplication)', () => {
  it('accepts an id once', () => {
    const s = new RecentIds(10);
    expect(s.addIfNew('e1')).toBe(true);
    expect(s.addIfNew('e1')).toBe(false);
    expect(s.addIfNew('e2')).toBe(true);
  });

  it('is bounded and forgets the first-seen ids first, even when they were seen again meanwhile', () => {
    const s = new RecentIds(2);
    s.addIfNew('e1');
    s.addIfNew('e2');
    expect(s.addIfNew('e1')).toBe(false); // a repeat does not make e1 younger
    s.addIfNew('e3');
    expect(s.addIfNew('e2')).toBe(false);
    expect(s.addIfNew('e1')).toBe(true); // forgotten
  });
});
