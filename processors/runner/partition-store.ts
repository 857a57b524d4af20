/**
 * What a processor holds for one assigned partition: the patients' states, the reorder buffer,
 * the patients changed since the last commit and the offsets to commit with them. Pure: no
 * Kafka; the runner (runner.ts) does the I/O and tells the store when it succeeded.
 *
 * Guarantee (with the runner): a commit writes the changed states first and then the offsets
 * they correspond to, and forgets either only after it succeeded; so the committed offset never
 * runs ahead of the stored state, and after a crash the restored state matches the offset the
 * processor resumes from. The vitals offset to commit never passes a buffered reading.
 */
import type { PatientState } from '../engine.ts';
import { type Buffered, type ReleasePolicy, ReorderBuffer } from './reorder-buffer.ts';

/** Timers (signal loss, escalation) run when the watermark moved at least this much since they last ran. */
export const TICK_EVERY_MS = 1000;

export class PartitionStore implements ReleasePolicy {
  readonly patients = new Map<string, PatientState>();
  readonly buffer = new ReorderBuffer();
  /** Patients changed since the last commit. */
  private readonly dirty = new Set<string>();
  /** Offsets to commit next, by topic. */
  private readonly pending = new Map<string, string>();
  private lastCommit: number;
  private lastTick = 0;
  /** Highest vitals offset consumed (read into the buffer or applied), -1 before any. */
  consumed = -1n;

  /**
   * `now`: wall time of the assignment, from which the first commit interval runs;
   * `latenessOf`: the allowed lateness of a patient's rules (they may be reloaded meanwhile).
   */
  constructor(
    now: number,
    private readonly latenessOf: (wardId: string, patientId: string) => number,
  ) {
    this.lastCommit = now;
  }

  knownDevices(patientId: string): readonly { readonly deviceId: string }[] | undefined {
    return this.patients.get(patientId)?.devices;
  }

  allowedLatenessMs(wardId: string, patientId: string): number {
    return this.latenessOf(wardId, patientId);
  }

  /** Buffered readings that may reach the engine now (of `patients`, default all); see ReorderBuffer.release. */
  release(now: number, force: boolean, patients?: Iterable<string>): Buffered[] {
    return this.buffer.release(this, now, force, patients);
  }

  /** Records what a batch changed: patients whose state is new, and the offset up to which it is done. */
  changed(patients: Iterable<string>, commit: { readonly topic: string; readonly offset: string } | null): void {
    for (const pid of patients) this.dirty.add(pid);
    if (commit) this.pending.set(commit.topic, commit.offset);
  }

  /** The vitals offset a commit may cover now: the next unconsumed one, or the oldest buffered reading. */
  vitalsCommitOffset(): string {
    return this.buffer.commitOffset(this.consumed + 1n).toString();
  }

  hasUncommitted(): boolean {
    return this.dirty.size > 0 || this.pending.size > 0;
  }

  /** A commit is due every `intervalMs` of wall time. */
  commitDue(now: number, intervalMs: number): boolean {
    return now - this.lastCommit >= intervalMs;
  }

  /**
   * Starts a commit: the interval runs again from `now` whether or not it succeeds (what it did
   * not write stays to be written). Returns the changed states to write.
   */
  beginCommit(now: number): PatientState[] {
    this.lastCommit = now;
    const states: PatientState[] = [];
    for (const pid of this.dirty) {
      const s = this.patients.get(pid);
      if (s) states.push(s);
    }
    return states;
  }

  /** The changed states are written: they need not be again. */
  statesWritten(): void {
    this.dirty.clear();
  }

  /** The offsets to commit, by topic, after the states are written. */
  offsets(): [topic: string, offset: string][] {
    return [...this.pending];
  }

  offsetsCommitted(): void {
    this.pending.clear();
  }

  /** True (once per TICK_EVERY_MS of watermark time) when timers should run at the current watermark. */
  tickDue(): boolean {
    const w = this.buffer.watermark;
    if (w - this.lastTick < TICK_EVERY_MS) return false;
    this.lastTick = w;
    return true;
  }
}
