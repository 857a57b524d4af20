/**
 * The processor runner: the thin Kafka I/O shell around the pure engine (engine/), the
 * reorder buffer (reorder-buffer.ts) and the per-partition store (partition-store.ts).
 *
 * Delivery design (at-least-once + deterministic ids; see README "Delivery guarantees"):
 *   for each consumed batch of partition p (of `vitals` or `alert-actions`):
 *     1. put readings back in event-time order per patient (allowed lateness), step each one
 *        through the engine, apply actions, run event-time timers
 *     2. produce alert events → alerts[p] and too-late readings → vitals.late[p] (acks=all),
 *        at once: alerts are never held back for a commit
 *   every COMMIT_INTERVAL_MS per partition (like Kafka Streams' commit interval):
 *     3. produce changed patient states → processor-state[p] (compacted changelog) and their
 *        status → patient-status[p], then commit the consumer offset
 *   State and offset are committed together, so after a crash the restored state matches the
 *   offset it resumes from; the readings since then are processed again and regenerate the
 *   same alert events with the same ids (the engine is deterministic), which consumers that
 *   de-duplicate on eventId (the gateway does) see once. Repeated actions are recognized by
 *   their actionId in the restored state.
 *   Readings held in the reorder buffer are not yet in the changelog, so the committed offset
 *   never passes the oldest buffered reading: they are re-read after a crash.
 *
 * State: per partition, restored from processor-state[p] whenever the partition is assigned
 * (start, rebalance), before any of its records is processed.
 *
 * Event time: see reorder-buffer.ts for when readings are released. Readings older than what
 * the rules already applied go to `vitals.late`, counted, never silently dropped. Timers
 * (signal loss, escalation) run on the partition watermark.
 */
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Config } from '../../common/config.ts';
import { createProducer, type Message, readToEnd, sendChunked } from '../../common/kafka.ts';
import type { Logger } from '../../common/log.ts';
import type { prom } from '../../common/metrics.ts';
import type { Codec } from '../../schemas/codec.ts';
import type { AlertEvent, VitalsReading } from '../../schemas/records.ts';
import type { Topics } from '../../schemas/topics.ts';
import { applyAction, statusOf, step, tickPatient } from '../engine.ts';
import { type ProcessorMetrics, processorMetrics } from '../metrics.ts';
import { DEFAULT_RULE_FILE, type RuleBook } from '../rulebook.ts';
import { decodeState, encodeState } from '../state-codec.ts';
import { PartitionStore } from './partition-store.ts';
import type { Buffered } from './reorder-buffer.ts';
import { watchRuleFile } from './rule-watcher.ts';

export interface Processor {
  healthy(): boolean;
  close(): Promise<void>;
  /** Patients whose state this instance holds. */
  patients(): number;
  rules(): RuleBook;
}

export interface ProcessorOptions {
  config: Config;
  kafka: Kafka;
  codec: Codec;
  topics: Topics;
  log: Logger;
  registry?: prom.Registry;
  rules?: RuleBook;
  ruleFile?: string;
  groupId?: string;
  onEvents?: (events: readonly AlertEvent[]) => void;
}

/** Readings held back for ordering are released by wall time this often when their partition is idle. */
const IDLE_FLUSH_MS = 250;

/** Everything a batch produces, sent in one request before the offset commit. */
interface Output {
  alerts: Message[];
  late: Message[];
  changed: Set<string>;
  events: AlertEvent[];
}
const newOutput = (): Output => ({ alerts: [], late: [], changed: new Set(), events: [] });

export async function startProcessor(o: ProcessorOptions): Promise<Processor> {
  const { topics, codec, log } = o;
  // State and offsets are committed together at most this often per partition.
  const COMMIT_INTERVAL_MS = o.config.processorCommitIntervalMs;
  const rules = watchRuleFile(o.ruleFile ?? o.config.rulesFile ?? DEFAULT_RULE_FILE, log, o.rules);
  const latenessOf = (wardId: string, patientId: string) => rules.book.forPatient(wardId, patientId).technical.allowedLatenessMs;
  const metrics: ProcessorMetrics | null = o.registry ? processorMetrics(o.registry) : null;
  // Label children bound once: prom-client hashes a label object on every inc() otherwise.
  const verdictChildren = new Map<string, { inc(): void }>();
  const verdictCounter = (v: string) => {
    if (!metrics) return null;
    let c = verdictChildren.get(v);
    if (!c) verdictChildren.set(v, (c = metrics.readings.labels(v)));
    return c;
  };
  const groupId = o.groupId ?? `${o.config.kafkaTopicPrefix}wardstream-processor`;
  const producer = createProducer(o.kafka);
  await producer.connect();
  // The session bounds failover: after a SIGKILL the group waits this long before the
  // partitions move (kafkajs has no static membership to skip it).
  const sessionTimeout = o.config.processorSessionTimeoutMs;
  const consumer = o.kafka.consumer({
    groupId,
    maxWaitTimeInMs: 50,
    sessionTimeout,
    heartbeatInterval: Math.min(500, Math.floor(sessionTimeout / 3)),
    maxBytesPerPartition: 4 << 20,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.vitals, topics.alertActions], fromBeginning: true });

  const parts = new Map<number, PartitionStore>();
  const patientCount = () => {
    let n = 0;
    for (const ps of parts.values()) n += ps.patients.size;
    return n;
  };
  let restoring: Promise<void> = Promise.resolve();
  // Batches and idle flushes touch the same partition state and commit offsets: one at a time.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const r = chain.then(fn);
    chain = r.catch(() => {});
    return r;
  };
  let joined = false;
  let closed = false;

  const restore = async (partitions: number[]) => {
    const t0 = performance.now();
    const fresh = partitions.filter((p) => !parts.has(p));
    if (fresh.length === 0) return;
    const got = await readToEnd(o.kafka, topics.processorState, new Set(fresh));
    for (const p of fresh) parts.set(p, new PartitionStore(Date.now(), latenessOf));
    for (const [pid, { partition, value }] of got) {
      try {
        parts.get(partition)?.patients.set(pid, decodeState(value, codec));
      } catch (e) {
        log.error('undecodable processor state skipped', { err: e as Error, partition });
      }
    }
    metrics?.restoreSeconds.observe((performance.now() - t0) / 1000);
    log.info('processor state restored', { partitions: fresh, patients: got.size, ms: Math.round(performance.now() - t0) });
  };

  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    joined = true;
    const assigned = (e.payload.memberAssignment[topics.vitals] ?? []) as number[];
    for (const p of [...parts.keys()]) if (!assigned.includes(p)) parts.delete(p); // revoked: another instance owns it now
    // Never left rejected: a failed restore is logged, and the partition's first batch retries it.
    restoring = restoring
      .then(() => restore(assigned))
      .catch((err: unknown) => {
        log.error('processor state restore failed; retrying on the next batch', { err: err as Error });
      });
  });
  consumer.on(consumer.events.CRASH, (e) => {
    // kafkajs restarts on retriable errors by itself; after a non-retriable one the consumer
    // is gone, so the process reports unhealthy (orchestrators restart it on /healthz).
    if (!e.payload.restart) joined = false;
    if (e.payload.restart) log.warn('processor consumer restarting after a retriable error', { err: e.payload.error });
    else log.error('processor consumer crashed', { err: e.payload.error });
  });

  const emit = (out: Output, p: number, events: readonly AlertEvent[]) => {
    for (const ev of events) {
      out.alerts.push({ key: ev.patientId, value: codec.encode('alert', ev), partition: p, timestamp: String(ev.eventTs) });
      out.events.push(ev);
    }
  };

  /** Step 1: released readings through the engine, in the order released. */
  const apply = (ps: PartitionStore, p: number, out: Output, released: readonly Buffered[]) => {
    for (const b of released) {
      const pid = b.r.patientId;
      const res = step(ps.patients.get(pid), b.r, rules.book.forPatient(b.r.wardId, pid));
      verdictCounter(res.verdict)?.inc();
      if (res.verdict === 'duplicate' || res.verdict === 'stale') continue;
      ps.patients.set(pid, res.state);
      out.changed.add(pid);
      if (res.verdict === 'late') out.late.push({ key: pid, value: b.raw, partition: p, timestamp: String(b.r.ts) });
      emit(out, p, res.events);
    }
  };

  const timers = (p: number, ps: PartitionStore, out: Output) => {
    if (!ps.tickDue()) return;
    const watermark = ps.buffer.watermark;
    for (const [pid, s] of ps.patients) {
      const t = tickPatient(s, watermark, rules.book.forPatient(s.wardId, pid));
      if (t.events.length === 0 && t.state === s) continue;
      ps.patients.set(pid, t.state);
      out.changed.add(pid);
      emit(out, p, t.events);
    }
  };

  /** Step 2: alert events and late readings go out at once. */
  const flush = async (p: number, ps: PartitionStore, out: Output, commit: { topic: string; offset: string } | null) => {
    const topicMessages = [];
    if (out.alerts.length) topicMessages.push({ topic: topics.alerts, messages: out.alerts });
    if (out.late.length) topicMessages.push({ topic: topics.lateReadings, messages: out.late });
    if (topicMessages.length) await sendChunked(producer, topicMessages);
    ps.changed(out.changed, commit);
    const now = Date.now();
    for (const ev of out.events) {
      metrics?.alertEvents.inc({ phase: ev.phase, priority: ev.priority });
      metrics?.deviceToAlert.observe(Math.max(0, now - ev.eventTs) / 1000);
      log.info('alert event', {
        alertId: ev.alertId,
        rule: ev.rule,
        phase: ev.phase,
        priority: ev.priority,
        wardId: ev.wardId,
        correlationId: ev.correlationId,
      });
    }
    if (out.events.length) o.onEvents?.(out.events);
    if (ps.commitDue(now, COMMIT_INTERVAL_MS)) await commitPartition(p, ps);
  };

  /** Step 3: changed states and statuses, then the offsets they correspond to. */
  const commitPartition = async (p: number, ps: PartitionStore) => {
    const changed = ps.beginCommit(Date.now());
    if (changed.length) {
      const states: Message[] = [];
      const statuses: Message[] = [];
      for (const s of changed) {
        states.push({ key: s.patientId, value: encodeState(s, codec), partition: p });
        statuses.push({ key: s.patientId, value: codec.encode('status', statusOf(s)), partition: p });
      }
      await sendChunked(producer, [
        { topic: topics.processorState, messages: states },
        { topic: topics.patientStatus, messages: statuses },
      ]);
    }
    ps.statesWritten();
    const offsets = ps.offsets();
    if (offsets.length) {
      await consumer.commitOffsets(offsets.map(([topic, offset]) => ({ topic, partition: p, offset })));
      ps.offsetsCommitted();
    }
    metrics?.patients.set(patientCount());
  };

  let idleQueued = false;
  const idleFlush = setInterval(() => {
    if (closed || idleQueued) return; // one queued idle flush at a time, however long batches take
    idleQueued = true;
    void restoring.then(() =>
      serial(async () => {
        idleQueued = false;
        for (const [p, ps] of parts) {
          try {
            if (ps.buffer.size > 0) {
              const out = newOutput();
              apply(ps, p, out, ps.release(Date.now(), false));
              if (out.changed.size || out.alerts.length || out.late.length) await flush(p, ps, out, { topic: topics.vitals, offset: ps.vitalsCommitOffset() });
            }
            if (ps.hasUncommitted() && ps.commitDue(Date.now(), COMMIT_INTERVAL_MS)) await commitPartition(p, ps);
          } catch (e) {
            log.warn('idle flush failed; will retry', { err: e as Error });
          }
        }
      }),
    );
  }, IDLE_FLUSH_MS);

  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, heartbeat, isRunning, isStale }) =>
      serial(async () => {
        await restoring;
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        const t0 = performance.now();
        const p = batch.partition;
        let ps = parts.get(p);
        if (!ps) {
          await restore([p]);
          ps = parts.get(p)!;
        }
        const out = newOutput();
        const last = batch.messages.at(-1)!;
        if (batch.topic === topics.alertActions) {
          for (const m of batch.messages) {
            if (!m.value) continue;
            try {
              const a = codec.decode('action', m.value);
              const s = ps.patients.get(a.patientId);
              if (!s) {
                log.warn('action for an unknown patient ignored', { alertId: a.alertId });
                continue;
              }
              const res = applyAction(s, a, rules.book.forPatient(s.wardId, a.patientId));
              ps.patients.set(a.patientId, res.state);
              out.changed.add(a.patientId);
              emit(out, p, res.events);
            } catch (e) {
              log.error('undecodable alert action skipped', { err: e as Error, partition: p, offset: m.offset });
            }
          }
          await flush(p, ps, out, { topic: batch.topic, offset: (BigInt(last.offset) + 1n).toString() });
        } else {
          const touched = new Set<string>();
          const now = Date.now();
          for (const m of batch.messages as KafkaMessage[]) {
            if (!m.value) continue;
            let r: VitalsReading;
            try {
              r = codec.decode('vitals', m.value);
            } catch (e) {
              log.error('undecodable vitals record skipped', { err: e as Error, partition: p, offset: m.offset });
              continue;
            }
            ps.buffer.add(r, m.value, Number(m.offset), now);
            touched.add(r.patientId);
          }
          ps.consumed = BigInt(last.offset);
          ps.buffer.advanceWatermark(touched, rules.book.defaults.technical.allowedLatenessMs);
          // Patients not in this batch are released by the watermark on the idle timer.
          apply(ps, p, out, ps.release(Date.now(), false, touched));
          timers(p, ps, out);
          // Never commit past a reading still in the reorder buffer.
          await flush(p, ps, out, { topic: batch.topic, offset: ps.vitalsCommitOffset() });
          metrics?.lag.set({ partition: String(p) }, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(last.offset) - 1n)));
        }
        metrics?.batchSeconds.observe((performance.now() - t0) / 1000);
        await heartbeat();
      }),
  });

  return {
    healthy: () => joined,
    patients: patientCount,
    rules: () => rules.book,
    async close() {
      closed = true;
      clearInterval(idleFlush);
      // Graceful stop: commit what is done, so a successor does not redo it.
      await serial(async () => {
        for (const [p, ps] of parts) await commitPartition(p, ps).catch((e) => log.warn('final commit failed', { err: e as Error }));
      });
      rules.close();
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}
