/**
 * Topic names and the ward partitioner.
 *
 * Every record is keyed by patientId but *partitioned by ward*: partition = murmur2(wardId)
 * mod partitionCount, the same function Kafka's Java client applies to keys. All wardstream
 * topics that carry ward data have the same partition count, so one ward's readings, alerts
 * and status sit in the same partition number of each topic. A gateway that serves a ward
 * reads one partition; a processor that owns partition p owns every patient of those wards.
 */
import { WardstreamError } from '../common/errors.ts';

export const TOPIC_NAMES = {
  vitals: 'vitals',
  vitalsDlq: 'vitals.dlq',
  alerts: 'alerts',
  assignments: 'patient-assignments',
  processorState: 'processor-state',
  lateReadings: 'vitals.late',
  alertActions: 'alert-actions',
  patientStatus: 'patient-status',
  historyDlq: 'history.dlq',
} as const;
export type TopicRole = keyof typeof TOPIC_NAMES;
export type Topics = { readonly [K in TopicRole]: string };

export function topicNames(prefix = ''): Topics {
  const out = {} as { [K in TopicRole]: string };
  for (const [role, name] of Object.entries(TOPIC_NAMES) as [TopicRole, string][]) out[role] = `${prefix}${name}`;
  return out;
}

/**
 * Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), seed 0x9747b28c.
 * Returns a signed 32-bit integer, as Java does.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const seed = 0x9747b28c;
  const m = 0x5bd1e995;
  const r = 24;
  let h = (seed ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4]! & 0xff) + ((data[i4 + 1]! & 0xff) << 8) + ((data[i4 + 2]! & 0xff) << 16) + ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const rest = length & 3;
  const base = length & ~3;
  if (rest === 3) h ^= (data[base + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[base + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[base]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

const encoder = new TextEncoder();
const cache = new Map<string, number>();

/** The partition of a ward: Kafka's toPositive(murmur2(utf8(wardId))) % partitions. */
export function partitionForWard(wardId: string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new WardstreamError('CONFIG_ERR_INVALID', `partition count must be a positive integer, got ${partitions}`);
  }
  const k = `${partitions}\u0000${wardId}`;
  let p = cache.get(k);
  if (p === undefined) {
    p = (murmur2(encoder.encode(wardId)) & 0x7fffffff) % partitions;
    if (cache.size > 100_000) cache.clear();
    cache.set(k, p);
  }
  return p;
}
