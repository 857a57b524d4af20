/**
 * The processor runner: the thin I/O shell around engine.step.
 *
 * Delivery design (at-least-once + deterministic ids; see README "Delivery guarantees"):
 *   for each consumed batch of one `vitals` partition p:
 *     1. step every reading through the engine (pure, per patient)
 *     2. produce, in one acks=all request: alert events → alerts[p], changed patient states →
 *        processor-state[p] (compacted changelog)
 *     3. only then commit the consumer offset
 *   A crash between 2 and 3 reprocesses readings whose effect is already in the changelog:
 *   the restored de-duplication memory recognizes them, so no new events. A crash inside 2
 *   can re-emit an event; its eventId is derived from the episode, so consumers that
 *   de-duplicate on eventId (the gateway does) see it once.
 *
 * State: per partition, restored from processor-state[p] whenever the partition is assigned
 * (start, rebalance), before any of its readings is processed.
 */
import type { Kafka } from 'kafkajs';
import type { Config } from '../common/config.ts';
import { createProducer, readToEnd, type Message } from '../common/kafka.ts';
import type { Logger } from '../common/log.ts';
import type { prom } from '../common/metrics.ts';
import type { Codec } from '../schemas/codec.ts';
import type { AlertEvent } from '../schemas/records.ts';
import type { Topics } from '../schemas/topics.ts';
import { step, type PatientState } from './engine.ts';
import { processorMetrics, type ProcessorMetrics } from './metrics.ts';
import { DEFAULT_RULES, type RuleSet } from './rules.ts';
import { decodeState, encodeState } from './state-codec.ts';

export interface Processor {
  healthy(): boolean;
  close(): Promise<void>;
  /** Patients whose state this instance holds, by partition (for tests and metrics). */
  patients(): number;
}

export async function startProcessor(o: {
  config: Config; kafka: Kafka; codec: Codec; topics: Topics; log: Logger; registry?: prom.Registry;
  rules?: RuleSet; groupId?: string; onEvents?: (events: readonly AlertEvent[]) => void;
}): Promise<Processor> {
  const { topics, codec, log } = o;
  const rules = o.rules ?? DEFAULT_RULES;
  const metrics: ProcessorMetrics | null = o.registry ? processorMetrics(o.registry) : null;
  const groupId = o.groupId ?? `${o.config.kafkaTopicPrefix}wardstream-processor`;
  const producer = createProducer(o.kafka);
  await producer.connect();
  const consumer = o.kafka.consumer({ groupId, maxWaitTimeInMs: 50, sessionTimeout: 10_000, heartbeatInterval: 1000, maxBytesPerPartition: 4 << 20 });
  await consumer.connect();
  await consumer.subscribe({ topic: topics.vitals, fromBeginning: true });

  const states = new Map<number, Map<string, PatientState>>();
  let restoring: Promise<void> = Promise.resolve();
  let joined = false;

  const restore = async (partitions: number[]) => {
    const t0 = performance.now();
    const fresh = partitions.filter((p) => !states.has(p));
    if (fresh.length === 0) return;
    const got = await readToEnd(o.kafka, topics.processorState, new Set(fresh));
    for (const p of fresh) states.set(p, new Map());
    for (const [pid, { partition, value }] of got) {
      try { states.get(partition)?.set(pid, decodeState(value)); } catch (e) { log.error('undecodable processor state skipped', { err: e as Error, partition }); }
    }
    metrics?.restoreSeconds.observe((performance.now() - t0) / 1000);
    log.info('processor state restored', { partitions: fresh, patients: got.size, ms: Math.round(performance.now() - t0) });
  };

  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    joined = true;
    const assigned = (e.payload.memberAssignment[topics.vitals] ?? []) as number[];
    for (const p of [...states.keys()]) if (!assigned.includes(p)) states.delete(p); // revoked: another instance owns it now
    restoring = restoring.then(() => restore(assigned));
  });
  consumer.on(consumer.events.CRASH, (e) => log.error('processor consumer crashed', { err: e.payload.error }));

  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, heartbeat, isRunning, isStale }) => {
      await restoring;
      if (!isRunning() || isStale() || batch.messages.length === 0) return;
      const t0 = performance.now();
      const p = batch.partition;
      let part = states.get(p);
      if (!part) { await restore([p]); part = states.get(p)!; }
      const alerts: Message[] = [];
      const produced: AlertEvent[] = [];
      const changed = new Map<string, PatientState>();
      for (const m of batch.messages) {
        if (!m.value) continue;
        let reading;
        try { reading = codec.decode('vitals', m.value); } catch (e) {
          log.error('undecodable vitals record skipped', { err: e as Error, partition: p, offset: m.offset });
          continue;
        }
        const r = step(part.get(reading.patientId), reading, rules);
        metrics?.readings.inc({ verdict: r.verdict });
        if (r.verdict === 'duplicate' || r.verdict === 'stale') continue;
        part.set(reading.patientId, r.state);
        changed.set(reading.patientId, r.state);
        for (const ev of r.events) {
          alerts.push({ key: ev.patientId, value: codec.encode('alert', ev), partition: p, timestamp: String(ev.eventTs) });
          produced.push(ev);
        }
      }
      const stateMsgs: Message[] = [...changed].map(([pid, s]) => ({ key: pid, value: encodeState(s), partition: p }));
      const topicMessages = [];
      if (alerts.length) topicMessages.push({ topic: topics.alerts, messages: alerts });
      if (stateMsgs.length) topicMessages.push({ topic: topics.processorState, messages: stateMsgs });
      if (topicMessages.length) await producer.sendBatch({ acks: -1, topicMessages });
      const now = Date.now();
      for (const ev of produced) {
        metrics?.alertEvents.inc({ phase: ev.phase, priority: ev.priority });
        metrics?.deviceToAlert.observe(Math.max(0, now - ev.eventTs) / 1000);
        log.info('alert event', { alertId: ev.alertId, rule: ev.rule, phase: ev.phase, wardId: ev.wardId, correlationId: ev.correlationId });
      }
      o.onEvents?.(produced);
      const last = batch.messages.at(-1)!;
      const next = (BigInt(last.offset) + 1n).toString();
      await consumer.commitOffsets([{ topic: batch.topic, partition: p, offset: next }]);
      metrics?.lag.set({ partition: String(p) }, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(next))));
      metrics?.patients.set([...states.values()].reduce((n, m) => n + m.size, 0));
      metrics?.batchSeconds.observe((performance.now() - t0) / 1000);
      await heartbeat();
    },
  });

  return {
    healthy: () => joined,
    patients: () => [...states.values()].reduce((n, m) => n + m.size, 0),
    async close() {
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}
