/**
 * The resume buffer: recent events per (stream, partition), for gap-free resume. Pure: no
 * Kafka, no sockets, no clock.
 *
 * Per partition it holds a *contiguous* run of offsets from `floor` on — every event of the
 * partition, whatever its ward, each as the JSON the clients get — so it can tell whether a
 * client's position can be served without a gap:
 *  - the floor is where the gateway started reading (offsets-for-time of the resume window, set
 *    before the first event); a partition with no floor can serve nobody;
 *  - the first event sets the floor up to itself when it lies above it (what came before it
 *    was never read, so the run is contiguous only from there);
 *  - an offset at or below the last one held is a re-read after a seek, already held, ignored;
 *  - past `max` events the oldest go, and the floor moves to the first one still held.
 * A position at or after `floor - 1` is served exactly (`since`); an older one is a gap, and
 * the caller sends a snapshot flagged `resynced` instead.
 */

export type Stream = 'vitals' | 'alerts';

interface Held {
  readonly offset: bigint;
  readonly ward: string;
  readonly json: string;
}

export class ResumeBuffer {
  private readonly runs = new Map<string, Held[]>();
  private readonly floors = new Map<string, bigint>();

  /** @param max events held per partition (config `resumeBufferPerPartition`). */
  constructor(private readonly max: number) {}

  /** Events of `partition` are held from `offset` on (the start of the resume window). */
  setFloor(stream: Stream, partition: number, offset: bigint): void {
    this.floors.set(`${stream}:${partition}`, offset);
  }

  add(stream: Stream, partition: number, offset: bigint, ward: string, json: string): void {
    const k = `${stream}:${partition}`;
    let run = this.runs.get(k);
    if (!run) this.runs.set(k, (run = []));
    const last = run.at(-1);
    if (last && offset <= last.offset) return; // re-read after a seek: already held
    if (!last && offset > (this.floors.get(k) ?? 0n)) this.floors.set(k, offset); // contiguous only from here
    run.push({ offset, ward, json });
    if (run.length > this.max) {
      const gone = run.splice(0, run.length - this.max);
      this.floors.set(k, gone.at(-1)!.offset + 1n);
    }
  }

  /** The offset a client is at when it has seen everything held: the last one, or the one before the floor. */
  head(stream: Stream, partition: number): string {
    const k = `${stream}:${partition}`;
    const last = this.runs.get(k)?.at(-1);
    return (last ? last.offset : (this.floors.get(k) ?? 0n) - 1n).toString();
  }

  /** Events of `ward` after offset `after`, in offset order; null when events after it are no longer held (a gap). */
  since(stream: Stream, partition: number, ward: string, after: string | null): string[] | null {
    const k = `${stream}:${partition}`;
    const from = after === null ? null : BigInt(after) + 1n;
    const floor = this.floors.get(k);
    if (from === null || floor === undefined || from < floor) return null;
    return (this.runs.get(k) ?? []).filter((e) => e.offset >= from && e.ward === ward).map((e) => e.json);
  }
}
