/**
 * How a replay's work is shared out over worker threads (pure; unit-tested). Patients are
 * independent in the engine, so any split that gives every patient to exactly one worker gives
 * the same events; the parent sorts the merged events, so the result does not depend on the
 * number of workers.
 *   PostgreSQL  patients by hash: worker i of n reads hashtext(patient_id) mod n = i
 *   Kafka       partitions round-robin: worker i of n reads the partitions at positions i, i + n, …
 *               (a ward, hence a patient, lives in one partition)
 */
import type { AlertEvent } from '../../schemas/records.ts';

/** Worker threads for a replay: `requested`, or min(4, cores − 1), leaving one core to the data source; at least 1. */
export function workerCount(requested: number | undefined, cores: number): number {
  return Math.max(1, Math.floor(requested ?? Math.min(4, cores - 1)));
}

/** The items of worker `i` of `n`, round-robin (every item in exactly one share). */
export function shareOf<T>(items: readonly T[], n: number, i: number): T[] {
  return items.filter((_, k) => k % n === i);
}

/** SQL selecting the patients of worker `i` of `n` (hashtext is PostgreSQL's; masked to non-negative). */
export function patientShardSql(n: number, i: number): string {
  return `(hashtext(patient_id) & 2147483647) % ${n} = ${i}`;
}

/** What a worker thread reports when its share is done. */
export interface ShardResult {
  readonly events: readonly AlertEvent[];
  readonly readings: number;
  readonly patients: number;
  readonly wardsSeen: readonly string[];
}

/** The workers' results as one (events unsorted: the caller sorts them once). */
export function mergeShards(results: readonly ShardResult[]): { events: AlertEvent[]; readings: number; patients: number; wardsSeen: Set<string> } {
  return {
    events: results.flatMap((r) => r.events),
    readings: results.reduce((a, r) => a + r.readings, 0),
    patients: results.reduce((a, r) => a + r.patients, 0),
    wardsSeen: new Set(results.flatMap((r) => r.wardsSeen)),
  };
}
