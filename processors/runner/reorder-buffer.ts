/**
 * The reorder buffer of one partition: puts each patient's readings back in event-time order
 * before they reach the engine, and says how far the consumer offset may be committed. Pure: no
 * Kafka, no timers; the wall clock is passed in.
 *
 * Release rule, per patient:
 *   - a patient whose readings all come from the one device its state knows gets them at once:
 *     one device arrives in order (one MQTT connection, one partition), so there is nothing to
 *     wait for, and holding them for the allowed lateness made every alert that much later.
 *     A patient not seen before waits once: a second device may be about to show up;
 *   - otherwise (a monitor and a wearable may interleave out of order) readings are released in
 *     (ts, seq) order once they are older than the patient's newest reading minus the allowed
 *     lateness (the horizon), or once the partition watermark passes them, or once they waited
 *     the allowed lateness in wall time (an idle ward must not hold its last readings back).
 *
 * Watermark: the newest event time seen in the partition minus the default allowed lateness;
 * it never goes back. The runner's timers run on it.
 *
 * Guarantee: `commitOffset` never passes a reading still buffered. Buffered readings are not in
 * the changelog yet, so after a crash they must be read again; offsets of buffered readings are
 * kept in arrival (= offset) order and released ones are skipped lazily (amortized O(1)).
 */
import type { VitalsReading } from '../../schemas/records.ts';

export interface Buffered {
  readonly r: VitalsReading;
  readonly raw: Buffer;
  readonly offset: number;
  readonly arrived: number;
}

/** What the buffer needs to know about a patient to release its readings. */
export interface ReleasePolicy {
  /** Devices the patient's state knows; undefined for a patient not seen before. */
  knownDevices(patientId: string): readonly { readonly deviceId: string }[] | undefined;
  allowedLatenessMs(wardId: string, patientId: string): number;
}

/** Released offsets are compacted out of the queue once this many lead it (and they are over half of it). */
const COMPACT_AFTER = 4096;

export class ReorderBuffer {
  /** Per patient, sorted by (ts, seq). */
  private readonly byPatient = new Map<string, Buffered[]>();
  private readonly newest = new Map<string, number>();
  private readonly queue: number[] = [];
  private head = 0;
  private readonly released = new Set<number>();
  private mark = 0;

  /** Newest event time of the partition minus the allowed lateness (0 before any reading). */
  get watermark(): number {
    return this.mark;
  }
  /** Patients with buffered readings. */
  get size(): number {
    return this.byPatient.size;
  }

  /** Buffers one reading, in (ts, seq) order among its patient's. */
  add(r: VitalsReading, raw: Buffer, offset: number, now: number): void {
    const list = this.byPatient.get(r.patientId) ?? [];
    let i = list.length;
    while (i > 0 && (list[i - 1]!.r.ts > r.ts || (list[i - 1]!.r.ts === r.ts && list[i - 1]!.r.seq > r.seq))) i--;
    list.splice(i, 0, { r, raw, offset, arrived: now });
    this.queue.push(offset);
    this.byPatient.set(r.patientId, list);
    this.newest.set(r.patientId, Math.max(this.newest.get(r.patientId) ?? 0, r.ts));
  }

  /** Moves the watermark to the newest reading of `patients` minus `latenessMs`, if that is later. */
  advanceWatermark(patients: Iterable<string>, latenessMs: number): void {
    let maxTs = this.mark;
    for (const pid of patients) maxTs = Math.max(maxTs, this.newest.get(pid) ?? 0);
    this.mark = Math.max(this.mark, maxTs - latenessMs);
  }

  /**
   * The readings of `patients` (default: every buffered patient) that may reach the engine now,
   * each patient's in (ts, seq) order; `force` releases everything.
   */
  release(policy: ReleasePolicy, now: number, force: boolean, patients?: Iterable<string>): Buffered[] {
    const out: Buffered[] = [];
    for (const pid of patients ?? [...this.byPatient.keys()]) {
      const list = this.byPatient.get(pid);
      if (!list) continue;
      const dev = list[0]!.r.deviceId;
      const known = policy.knownDevices(pid);
      const single = known !== undefined && known.length === 1 && known[0]!.deviceId === dev && list.every((b) => b.r.deviceId === dev);
      const lateness = single ? 0 : policy.allowedLatenessMs(list[0]!.r.wardId, pid);
      const horizon = single ? Infinity : Math.max((this.newest.get(pid) ?? 0) - lateness, this.mark);
      let n = 0;
      while (n < list.length && (force || list[n]!.r.ts <= horizon || now - list[n]!.arrived >= lateness)) n++;
      if (n === 0) continue;
      for (const b of n === list.length ? list : list.slice(0, n)) {
        this.released.add(b.offset);
        out.push(b);
      }
      if (n === list.length) this.byPatient.delete(pid);
      else list.splice(0, n);
    }
    return out;
  }

  /** Oldest offset still buffered, or null. */
  oldest(): number | null {
    while (this.head < this.queue.length && this.released.delete(this.queue[this.head]!)) this.head++;
    if (this.head > COMPACT_AFTER && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return this.head < this.queue.length ? this.queue[this.head]! : null;
  }

  /** The offset to commit when everything before `next` was consumed: never past a buffered reading. */
  commitOffset(next: bigint): bigint {
    const oldest = this.oldest();
    return oldest === null ? next : BigInt(oldest);
  }
}
