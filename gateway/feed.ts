/**
 * The gateway's port to the event log: decoded records of `vitals`, `alerts` and
 * `patient-status` in, alert actions out. The gateway's logic sees only this interface; the
 * Kafka implementation is `kafka-feed.ts`, an in-memory one (test/unit/gateway/memory-feed.ts) drives the
 * same logic in unit tests without Kafka.
 *
 * Contract of an implementation:
 *  - before the first event of a partition, `floor` says from which offset on that partition
 *    is read completely (the resume window's start); events then arrive in offset order per
 *    partition, and may arrive again after a seek (the resume buffer ignores re-reads);
 *  - records that cannot be decoded are logged and skipped, never passed on;
 *  - `writeAction` resolves only once the action is durable (Kafka: acks=all), so the client
 *    is told `action-accepted` only for a recorded action; the processors apply an actionId once.
 */
import type { AlertAction, AlertEvent, PatientStatus, VitalsReading } from '../schemas/records.ts';
import type { Stream } from './resume-buffer.ts';

export type { Stream };

/** Where a feed delivers what it reads (the gateway's fan-out). Called synchronously, in order. */
export interface FeedSink {
  floor(stream: Stream, partition: number, offset: bigint): void;
  /** `now`: when the batch holding the record was received (epoch ms), for latency metrics. */
  vitals(partition: number, offset: string, reading: VitalsReading, now: number): void;
  alert(partition: number, offset: string, alert: AlertEvent, now: number): void;
  status(status: PatientStatus): void;
}

export interface Feed {
  /** Starts reading into `sink`; resolves once the readers run. */
  start(sink: FeedSink): Promise<void>;
  /** Records an acknowledgement or silence (durably, before it resolves). */
  writeAction(action: AlertAction): Promise<void>;
  /** The live readers have joined (false again after a crash): part of /healthz. */
  joined(): boolean;
  close(): Promise<void>;
}
