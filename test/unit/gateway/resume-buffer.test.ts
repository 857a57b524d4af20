import { describe, expect, it } from 'vitest';
import { ResumeBuffer } from '../../../gateway/resume-buffer.ts';

const fill = (b: ResumeBuffer, from: number, to: number, ward = 'w1', partition = 0) => {
  for (let o = from; o <= to; o++) b.add('vitals', partition, BigInt(o), ward, `e${o}`);
};

describe('ResumeBuffer', () => {
  it('serves nobody on a partition it has no floor for', () => {
    const b = new ResumeBuffer(10);
    expect(b.since('vitals', 0, 'w1', '5')).toBeNull();
    expect(b.head('vitals', 0)).toBe('-1');
  });

  it('replays exactly the events after a position, from the floor on', () => {
    const b = new ResumeBuffer(10);
    b.setFloor('vitals', 0, 100n);
    expect(b.head('vitals', 0)).toBe('99'); // nothing read yet: the client is "at" the offset before the floor
    expect(b.since('vitals', 0, 'w1', '99')).toEqual([]);
    fill(b, 100, 104);
    expect(b.head('vitals', 0)).toBe('104');
    expect(b.since('vitals', 0, 'w1', '99')).toEqual(['e100', 'e101', 'e102', 'e103', 'e104']);
    expect(b.since('vitals', 0, 'w1', '102')).toEqual(['e103', 'e104']);
    expect(b.since('vitals', 0, 'w1', '104')).toEqual([]);
  });

  it('detects a gap at the floor: a position before it cannot be served', () => {
    const b = new ResumeBuffer(10);
    b.setFloor('vitals', 0, 100n);
    fill(b, 100, 102);
    expect(b.since('vitals', 0, 'w1', '98')).toBeNull(); // offset 99 was never held
    expect(b.since('vitals', 0, 'w1', null)).toBeNull(); // no position at all: snapshot
  });

  it('moves the floor up to the first event read when that lies above it (nothing before it was read)', () => {
    const b = new ResumeBuffer(10);
    b.setFloor('vitals', 0, 100n);
    fill(b, 103, 105);
    expect(b.since('vitals', 0, 'w1', '99')).toBeNull();
    expect(b.since('vitals', 0, 'w1', '102')).toEqual(['e103', 'e104', 'e105']);
  });

  it('ignores events re-read after a seek (already held), keeping one copy in order', () => {
    const b = new ResumeBuffer(10);
    b.setFloor('vitals', 0, 0n);
    fill(b, 0, 3);
    b.add('vitals', 0, 1n, 'w1', 'again');
    b.add('vitals', 0, 3n, 'w1', 'again');
    fill(b, 4, 4);
    expect(b.since('vitals', 0, 'w1', '-1')).toEqual(['e0', 'e1', 'e2', 'e3', 'e4']);
  });

  it('holds at most `max` events per partition; the floor follows the oldest held', () => {
    const b = new ResumeBuffer(3);
    b.setFloor('vitals', 0, 0n);
    b.setFloor('vitals', 1, 0n);
    fill(b, 0, 6);
    fill(b, 0, 1, 'w1', 1);
    expect(b.since('vitals', 0, 'w1', '3')).toEqual(['e4', 'e5', 'e6']);
    expect(b.since('vitals', 0, 'w1', '2')).toBeNull();
    expect(b.head('vitals', 0)).toBe('6');
    expect(b.since('vitals', 1, 'w1', '-1')).toEqual(['e0', 'e1']); // another partition has its own bound
  });

  it('returns only the events of the ward asked for, and keeps streams apart', () => {
    const b = new ResumeBuffer(10);
    b.setFloor('vitals', 0, 0n);
    b.setFloor('alerts', 0, 0n);
    b.add('vitals', 0, 0n, 'w1', 'v0');
    b.add('vitals', 0, 1n, 'w4', 'v1');
    b.add('vitals', 0, 2n, 'w1', 'v2');
    b.add('alerts', 0, 0n, 'w4', 'a0');
    expect(b.since('vitals', 0, 'w1', '-1')).toEqual(['v0', 'v2']);
    expect(b.since('vitals', 0, 'w4', '-1')).toEqual(['v1']);
    expect(b.since('alerts', 0, 'w1', '-1')).toEqual([]);
    expect(b.head('alerts', 0)).toBe('0');
  });
});
