/**
 * Fan-out: the records a `Feed` reads, to the ward topics clients subscribe to. This is the
 * gateway's hot path (one call per Kafka record, 19,900 connections in benchmarks/connections.ts):
 * each event is encoded to JSON exactly once, and that one string is held by the resume buffer,
 * remembered as the patient's latest vitals, and published to every subscriber by uWS.
 *
 * Topics per ward and kind: `v/{ward}` (vitals), `a/{ward}` (alerts). Delivery: alert events are
 * de-duplicated on eventId (the processors are at-least-once); each event carries its
 * position (stream, partition, offset), which is what a client resumes from.
 */
import type { Logger } from '../common/log.ts';
import type { AlertEvent, VitalsReading } from '../schemas/records.ts';
import type { RecentIds } from './dedup.ts';
import type { FeedSink } from './feed.ts';
import type { GatewayMetrics } from './metrics.ts';
import { alertsTopic, type ServerMessage, vitalsTopic } from './protocol.ts';
import type { ResumeBuffer } from './resume-buffer.ts';
import type { SnapshotCache } from './snapshot-cache.ts';

export interface FanoutDeps {
  readonly resume: ResumeBuffer;
  readonly cache: SnapshotCache;
  readonly seen: RecentIds;
  readonly metrics: Pick<GatewayMetrics, 'sent' | 'deviceToGateway'>;
  readonly log: Logger;
  /** Sends one message to every socket subscribed to a topic (uWS `app.publish`). */
  readonly publish: (topic: string, json: string) => void;
}

export function createFanout(d: FanoutDeps): FeedSink {
  const { resume, cache, seen, metrics: m, log, publish } = d;
  return {
    floor: (stream, partition, offset) => resume.setFloor(stream, partition, offset),

    status: (st) => cache.applyStatus(st),

    alert(partition: number, offset: string, alert: AlertEvent, now: number) {
      if (!seen.addIfNew(alert.eventId)) return;
      cache.applyAlert(alert);
      const json = JSON.stringify({
        type: 'alert',
        position: { topic: 'alerts', partition, offset },
        alert: { id: alert.alertId, ...alert },
      } satisfies ServerMessage);
      resume.add('alerts', partition, BigInt(offset), alert.wardId, json);
      publish(alertsTopic(alert.wardId), json);
      log.debug('alert sent to ward subscribers', { alertId: alert.alertId, phase: alert.phase, wardId: alert.wardId, correlationId: alert.correlationId });
      m.sent.inc({ kind: 'alert' });
      m.deviceToGateway.observe({ kind: 'alert' }, Math.max(0, now - alert.eventTs) / 1000);
    },

    vitals(partition: number, offset: string, reading: VitalsReading, now: number) {
      const json = JSON.stringify({ type: 'vitals', position: { topic: 'vitals', partition, offset }, reading } satisfies ServerMessage);
      resume.add('vitals', partition, BigInt(offset), reading.wardId, json);
      cache.noteVitals(reading.wardId, reading.patientId, json);
      publish(vitalsTopic(reading.wardId), json);
      m.sent.inc({ kind: 'vitals' });
      m.deviceToGateway.observe({ kind: 'vitals' }, Math.max(0, now - reading.ts) / 1000);
    },
  };
}
