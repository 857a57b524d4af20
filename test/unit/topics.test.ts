import { describe, expect, it } from 'vitest';
import { murmur2, partitionForWard, topicNames } from '../../schemas/topics.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('murmur2 (Kafka Java client compatible)', () => {
  // Vectors from Apache Kafka's UtilsTest.testMurmur2.
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('murmur2(%s) = %d', (s, want) => {
    expect(murmur2(bytes(s))).toBe(want);
  });
});

describe('partitionForWard', () => {
  it('is the Java client default partition of the ward id', () => {
    // toPositive(murmur2("foobar")) % 8, computed from the vector above.
    expect(partitionForWard('foobar', 8)).toBe((-790332482 & 0x7fffffff) % 8);
  });
  it('is stable and in range for many wards', () => {
    for (let i = 0; i < 500; i++) {
      const p = partitionForWard(`ward-${i}`, 7);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(7);
      expect(partitionForWard(`ward-${i}`, 7)).toBe(p);
    }
  });
  it('spreads wards over partitions', () => {
    const used = new Set(Array.from({ length: 64 }, (_, i) => partitionForWard(`ward-${i}`, 8)));
    expect(used.size).toBe(8);
  });
  it('rejects a bad partition count', () => {
    expect(() => partitionForWard('w', 0)).toThrow(/positive integer/);
  });
});

describe('topicNames', () => {
  it('applies the prefix to every topic', () => {
    const t = topicNames('site1.');
    expect(t.vitals).toBe('site1.vitals');
    expect(t.vitalsDlq).toBe('site1.vitals.dlq');
    expect(t.assignments).toBe('site1.patient-assignments');
    expect(Object.values(t).every((n) => n.startsWith('site1.'))).toBe(true);
  });
});
