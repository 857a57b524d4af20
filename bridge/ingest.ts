/**
 * The bridge's publish path, as data:
 *
 *   parse (pure)  →  encode (Avro, wire format)  →  batch  →  Kafka sendBatch (acks=all)  →  ack
 *
 * Delivery guarantee: at-least-once from the MQTT side to Kafka. `ingest()` resolves only when
 * Kafka has acknowledged the record (to `vitals`, or to `vitals.dlq` for bad input, with the
 * reason and the original bytes); sources send the MQTT PUBACK only then. If Kafka rejects a
 * batch, every ingest of it rejects and no PUBACK goes out, so the publisher or the broker
 * redelivers. Duplicates that redelivery creates are removed by the processors on
 * (deviceId, seq).
 *
 * Throughput: batches form by themselves. One sendBatch is in flight at a time (which also
 * keeps per-patient order); everything that arrives meanwhile rides the next one, so batch
 * size grows with load and each message costs a fraction of a round trip.
 */
import { randomUUID } from 'node:crypto';
import type { Message, Producer } from 'kafkajs';
import { WardstreamError } from '../common/errors.ts';
import { sendChunked } from '../common/kafka.ts';
import type { Logger } from '../common/log.ts';
import type { Codec } from '../schemas/codec.ts';
import { partitionForWard, type Topics } from '../schemas/topics.ts';
import type { BridgeMetrics } from './metrics.ts';
import { type ParseContext, parseDeviceMessage } from './payload.ts';

export interface IngestOptions {
  readonly producer: Producer;
  readonly codec: Codec;
  readonly topics: Topics;
  readonly partitions: number;
  readonly maxPayloadBytes: number;
  readonly maxFutureSkewMs: number;
  readonly lookupWard: ParseContext['lookupWard'];
  readonly log: Logger;
  readonly metrics?: BridgeMetrics;
  /** Upper bound of records per Kafka request. */
  readonly maxBatch?: number;
  readonly now?: () => number;
}

interface Pending {
  readonly topic: string;
  readonly message: Message;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
  readonly receivedAt: number;
}

export class Ingestor {
  private queue: Pending[] = [];
  private flushing = false;
  private closed = false;
  private readonly maxBatch: number;
  private readonly now: () => number;

  constructor(private readonly o: IngestOptions) {
    this.maxBatch = o.maxBatch ?? 5000;
    this.now = o.now ?? Date.now;
  }

  /** Resolves when the message is durable in Kafka (vitals or dead letters). */
  ingest(mqttTopic: string, payload: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new WardstreamError('BRIDGE_ERR_KAFKA_SEND', 'bridge is shutting down'));
    const now = this.now();
    const correlationId = randomUUID();
    const r = parseDeviceMessage(mqttTopic, payload, {
      now,
      maxPayloadBytes: this.o.maxPayloadBytes,
      maxFutureSkewMs: this.o.maxFutureSkewMs,
      lookupWard: this.o.lookupWard,
      correlationId,
    });
    let topic: string;
    let message: Message;
    if (r.ok) {
      const reading = r.reading;
      topic = this.o.topics.vitals;
      message = {
        key: reading.patientId,
        value: this.o.codec.encode('vitals', reading),
        partition: partitionForWard(reading.wardId, this.o.partitions),
        timestamp: String(reading.ts),
      };
      this.o.metrics?.received.inc({ outcome: 'accepted' });
      this.o.metrics?.deviceToBridge.observe(Math.max(0, now - reading.ts) / 1000);
      // Debug level: one line per reading is too many for production, enough to trace one.
      this.o.log.debug('reading accepted', { correlationId, deviceId: reading.deviceId, wardId: reading.wardId, seq: reading.seq });
    } else {
      topic = this.o.topics.vitalsDlq;
      message = {
        key: mqttTopic,
        value: this.o.codec.encode('deadLetter', { reason: r.reason, detail: r.detail, mqttTopic, payload, receivedAt: now, correlationId }),
      };
      this.o.metrics?.received.inc({ outcome: 'dead_letter' });
      this.o.metrics?.deadLetters.inc({ reason: r.reason });
      this.o.log.warn('dead-lettered device message', { reason: r.reason, detail: r.detail, correlationId });
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, message, resolve, reject, receivedAt: now });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flushLoop());
      }
    });
  }

  private async flushLoop(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.length <= this.maxBatch ? this.queue : this.queue.slice(0, this.maxBatch);
      this.queue = this.queue.length <= this.maxBatch ? [] : this.queue.slice(this.maxBatch);
      const byTopic = new Map<string, Message[]>();
      for (const p of batch) {
        const list = byTopic.get(p.topic);
        if (list) list.push(p.message);
        else byTopic.set(p.topic, [p.message]);
      }
      const t0 = performance.now();
      try {
        await sendChunked(
          this.o.producer,
          [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        );
        const t1 = this.now();
        this.o.metrics?.kafkaSend.observe((performance.now() - t0) / 1000);
        this.o.metrics?.batchSize.observe(batch.length);
        for (const p of batch) {
          this.o.metrics?.bridgeToKafka.observe(Math.max(0, t1 - p.receivedAt) / 1000);
          p.resolve();
        }
      } catch (e) {
        const err = new WardstreamError('BRIDGE_ERR_KAFKA_SEND', (e as Error).message, { cause: e });
        this.o.log.error('Kafka batch failed; nothing of it is acknowledged upstream', { err, records: batch.length });
        for (const p of batch) p.reject(err);
      }
    }
    this.flushing = false;
  }

  /** Stops accepting; waits for what is queued to be flushed. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing || this.queue.length) await new Promise((r) => setTimeout(r, 5));
  }
}
