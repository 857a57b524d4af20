/**
 * An in-memory `Feed` for unit tests: what a test pushes is delivered to the
 * gateway's sink at once, with offsets counted per stream and partition from 0; actions are
 * kept in `actions`. No Kafka, no codec: records are passed as decoded objects.
 */

import type { Feed, FeedSink, Stream } from '../../../gateway/feed.ts';
import type { AlertAction, AlertEvent, PatientStatus, VitalsReading } from '../../../schemas/records.ts';

export class MemoryFeed implements Feed {
  readonly actions: AlertAction[] = [];
  /** When set, writeAction rejects with it (a Kafka that does not acknowledge). */
  failWrites: Error | null = null;
  private sink: FeedSink | null = null;
  private readonly next = new Map<string, bigint>();

  /** @param floors partitions read from offset 0 of both streams (unset partitions serve no resume). */
  constructor(private readonly floors: readonly number[] = []) {}

  async start(sink: FeedSink): Promise<void> {
    this.sink = sink;
    for (const p of this.floors) {
      sink.floor('vitals', p, 0n);
      sink.floor('alerts', p, 0n);
    }
  }

  joined(): boolean {
    return this.sink !== null;
  }

  async writeAction(action: AlertAction): Promise<void> {
    if (this.failWrites) throw this.failWrites;
    this.actions.push(action);
  }

  async close(): Promise<void> {
    this.sink = null;
  }

  /** Delivers a reading at the next offset of `partition`; returns that offset. */
  vitals(partition: number, reading: VitalsReading, now = Date.now()): string {
    const offset = this.take('vitals', partition);
    this.started().vitals(partition, offset, reading, now);
    return offset;
  }

  /** Delivers an alert event at the next offset of `partition` (or at `offset`, to imitate a re-read). */
  alert(partition: number, alert: AlertEvent, o: { offset?: string; now?: number } = {}): string {
    const offset = o.offset ?? this.take('alerts', partition);
    this.started().alert(partition, offset, alert, o.now ?? Date.now());
    return offset;
  }

  status(st: PatientStatus): void {
    this.started().status(st);
  }

  private take(stream: Stream, partition: number): string {
    const k = `${stream}:${partition}`;
    const n = this.next.get(k) ?? 0n;
    this.next.set(k, n + 1n);
    return n.toString();
  }

  private started(): FeedSink {
    if (!this.sink) throw new Error('MemoryFeed: start() first');
    return this.sink;
  }
}
