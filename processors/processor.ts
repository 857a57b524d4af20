/**
 * The processor runner: the thin I/O shell around the pure engine.
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
 * Event time: a patient whose readings all come from one device gets them applied at once (one
 * device arrives in order: one MQTT connection, one partition). With several devices, readings
 * are released in ts order once they are older than the patient's newest reading minus
 * `allowedLatenessSec`, or once the partition watermark (newest ts in the partition minus the
 * lateness) passes them, or once they waited that long in wall time (an idle ward must not hold
 * its last readings back). Readings older than what the rules
 * already applied go to `vitals.late`, counted, never silently dropped. Timers (signal loss,
 * escalation) run on the partition watermark.
 */
import { watch, type FSWatcher } from 'node:fs';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Config } from '../common/config.ts';
import { createProducer, readToEnd, sendChunked, type Message } from '../common/kafka.ts';
import type { Logger } from '../common/log.ts';
import type { prom } from '../common/metrics.ts';
import type { Codec } from '../schemas/codec.ts';
import type { AlertEvent, PatientStatus, VitalsReading } from '../schemas/records.ts';
import type { Topics } from '../schemas/topics.ts';
import { applyAction, step, tickPatient, type PatientState } from './engine.ts';
import { processorMetrics, type ProcessorMetrics } from './metrics.ts';
import { DEFAULT_RULE_FILE, loadRuleFile, type RuleBook } from './rulebook.ts';
import { decodeState, encodeState } from './state-codec.ts';

export interface Processor {
  healthy(): boolean;
  close(): Promise<void>;
  /** Patients whose state this instance holds. */
  patients(): number;
  rules(): RuleBook;
}

interface Buffered { readonly r: VitalsReading; readonly raw: Buffer; readonly offset: number; readonly arrived: number }

interface PartitionState {
  readonly patients: Map<string, PatientState>;
  /** Patients changed since the last commit. */
  readonly dirty: Set<string>;
  lastCommit: number;
  /** Offsets to commit next, by topic. */
  readonly pending: Map<string, string>;
  /** Reorder buffer per patient, sorted by (ts, seq). */
  readonly buffer: Map<string, Buffered[]>;
  readonly newest: Map<string, number>;
  /** Offsets of buffered readings in arrival (= offset) order; released ones are skipped lazily. */
  readonly inBuffer: number[];
  inBufferHead: number;
  readonly releasedOffsets: Set<number>;
  watermark: number;
  lastTick: number;
  /** Highest vitals offset fully processed (all readings at or below it released). */
  consumed: bigint;
}

export function statusOf(s: PatientState): PatientStatus {
  const vitals: Record<string, { value: number; ts: number }> = {};
  for (const [k, o] of Object.entries(s.obs)) if (o) vitals[k] = { value: o.v, ts: o.ts };
  return {
    patientId: s.patientId, wardId: s.wardId, bed: s.bed, updatedTs: s.lastTs, vitals,
    consciousness: s.consciousness?.v ?? null, onOxygen: s.onOxygen?.v ?? null,
    news2Total: s.news2Last?.total ?? null, news2Level: s.news2Last?.level ?? null, news2SubScores: s.news2Last?.sub ?? null,
    activeAlerts: Object.values(s.alerts).map((a) => ({ alertId: a.alertId, rule: a.rule, priority: a.priority, state: a.state, acked: a.acked, onsetTs: a.onsetTs })),
  };
}

export async function startProcessor(o: {
  config: Config; kafka: Kafka; codec: Codec; topics: Topics; log: Logger; registry?: prom.Registry;
  rules?: RuleBook; ruleFile?: string; groupId?: string; onEvents?: (events: readonly AlertEvent[]) => void;
}): Promise<Processor> {
  const { topics, codec, log } = o;
  const ruleFile = o.ruleFile ?? o.config.rulesFile ?? DEFAULT_RULE_FILE;
  // State and offsets are committed together at most this often per partition.
  const COMMIT_INTERVAL_MS = o.config.processorCommitIntervalMs;
  let book = o.rules ?? loadRuleFile(ruleFile);
  let watcher: FSWatcher | null = null;
  if (!o.rules) {
    // Hot reload: a valid new file replaces the rules for readings processed from now on; an
    // invalid one is reported and the current rules stay.
    watcher = watch(ruleFile, { persistent: false }, () => {
      try {
        const next = loadRuleFile(ruleFile);
        if (next.version !== book.version) { book = next; log.info('rule file reloaded', { version: book.version }); }
      } catch (e) { log.error('rule file rejected; keeping the current rules', { err: e as Error }); }
    });
  }
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
  const consumer = o.kafka.consumer({ groupId, maxWaitTimeInMs: 50, sessionTimeout, heartbeatInterval: Math.min(500, Math.floor(sessionTimeout / 3)), maxBytesPerPartition: 4 << 20 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.vitals, topics.alertActions], fromBeginning: true });

  const parts = new Map<number, PartitionState>();
  let restoring: Promise<void> = Promise.resolve();
  // Batches and idle flushes touch the same partition state and commit offsets: one at a time.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => { const r = chain.then(fn); chain = r.catch(() => {}); return r; };
  let joined = false;
  let closed = false;

  const restore = async (partitions: number[]) => {
    const t0 = performance.now();
    const fresh = partitions.filter((p) => !parts.has(p));
    if (fresh.length === 0) return;
    const got = await readToEnd(o.kafka, topics.processorState, new Set(fresh));
    for (const p of fresh) parts.set(p, { patients: new Map(), dirty: new Set(), lastCommit: Date.now(), pending: new Map(), buffer: new Map(), newest: new Map(), inBuffer: [], inBufferHead: 0, releasedOffsets: new Set(), watermark: 0, lastTick: 0, consumed: -1n });
    for (const [pid, { partition, value }] of got) {
      try { parts.get(partition)?.patients.set(pid, decodeState(value)); } catch (e) { log.error('undecodable processor state skipped', { err: e as Error, partition }); }
    }
    metrics?.restoreSeconds.observe((performance.now() - t0) / 1000);
    log.info('processor state restored', { partitions: fresh, patients: got.size, ms: Math.round(performance.now() - t0) });
  };

  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    joined = true;
    const assigned = (e.payload.memberAssignment[topics.vitals] ?? []) as number[];
    for (const p of [...parts.keys()]) if (!assigned.includes(p)) parts.delete(p); // revoked: another instance owns it now
    // Never left rejected: a failed restore is logged, and the partition's first batch retries it.
    restoring = restoring.then(() => restore(assigned)).catch((err: unknown) => { log.error('processor state restore failed; retrying on the next batch', { err: err as Error }); });
  });
  consumer.on(consumer.events.CRASH, (e) => {
    // kafkajs restarts on retriable errors by itself; after a non-retriable one the consumer
    // is gone, so the process reports unhealthy (orchestrators restart it on /healthz).
    if (!e.payload.restart) joined = false;
    if (e.payload.restart) log.warn('processor consumer restarting after a retriable error', { err: e.payload.error });
    else log.error('processor consumer crashed', { err: e.payload.error });
  });

  /** Everything a batch produces, sent in one request before the offset commit. */
  interface Output { alerts: Message[]; late: Message[]; changed: Set<string>; events: AlertEvent[] }

  const emit = (out: Output, p: number, events: readonly AlertEvent[]) => {
    for (const ev of events) {
      out.alerts.push({ key: ev.patientId, value: codec.encode('alert', ev), partition: p, timestamp: String(ev.eventTs) });
      out.events.push(ev);
    }
  };

  /** Releases ordered readings of `only` (the patients of this batch) or of every buffered patient. */
  const release = (ps: PartitionState, p: number, out: Output, force: boolean, only?: ReadonlySet<string>) => {
    const now = Date.now();
    for (const pid of only ?? [...ps.buffer.keys()]) {
      const list = ps.buffer.get(pid);
      if (!list) continue;
      // One device arrives in order (one MQTT connection, one partition): nothing to wait for, so
      // its readings reach the rules at once — holding them for the allowed lateness made every
      // alert that much later. Readings of a patient with several devices (monitor + wearable)
      // may interleave out of order: those wait up to the allowed lateness to be put in order.
      const known = ps.patients.get(pid)?.devices;
      const dev = list[0]!.r.deviceId;
      // (A patient not seen before waits once: a second device may be about to show up.)
      const single = known !== undefined && known.length === 1 && known[0]!.deviceId === dev && list.every((b) => b.r.deviceId === dev);
      const lateness = single ? 0 : book.forPatient(list[0]!.r.wardId, pid).technical.allowedLatenessMs;
      const horizon = single ? Infinity : Math.max((ps.newest.get(pid) ?? 0) - lateness, ps.watermark);
      let n = 0;
      while (n < list.length && (force || list[n]!.r.ts <= horizon || now - list[n]!.arrived >= lateness)) n++;
      if (n === 0) continue;
      for (const b of list.splice(0, n)) {
        ps.releasedOffsets.add(b.offset);
        const rules = book.forPatient(b.r.wardId, pid);
        const res = step(ps.patients.get(pid), b.r, rules);
        verdictCounter(res.verdict)?.inc();
        if (res.verdict === 'duplicate' || res.verdict === 'stale') continue;
        ps.patients.set(pid, res.state);
        out.changed.add(pid);
        if (res.verdict === 'late') out.late.push({ key: pid, value: b.raw, partition: p, timestamp: String(b.r.ts) });
        emit(out, p, res.events);
      }
      if (list.length === 0) ps.buffer.delete(pid);
    }
  };

  /** Oldest offset still in the reorder buffer (amortized O(1): a queue in offset order). */
  const oldestBuffered = (ps: PartitionState): bigint | null => {
    while (ps.inBufferHead < ps.inBuffer.length && ps.releasedOffsets.delete(ps.inBuffer[ps.inBufferHead]!)) ps.inBufferHead++;
    if (ps.inBufferHead > 4096 && ps.inBufferHead * 2 > ps.inBuffer.length) { ps.inBuffer.splice(0, ps.inBufferHead); ps.inBufferHead = 0; }
    return ps.inBufferHead < ps.inBuffer.length ? BigInt(ps.inBuffer[ps.inBufferHead]!) : null;
  };

  /** Step 2: alert events and late readings go out at once. */
  const flush = async (p: number, ps: PartitionState, out: Output, commit: { topic: string; offset: string } | null) => {
    const topicMessages = [];
    if (out.alerts.length) topicMessages.push({ topic: topics.alerts, messages: out.alerts });
    if (out.late.length) topicMessages.push({ topic: topics.lateReadings, messages: out.late });
    if (topicMessages.length) await sendChunked(producer, topicMessages);
    for (const pid of out.changed) ps.dirty.add(pid);
    if (commit) ps.pending.set(commit.topic, commit.offset);
    const now = Date.now();
    for (const ev of out.events) {
      metrics?.alertEvents.inc({ phase: ev.phase, priority: ev.priority });
      metrics?.deviceToAlert.observe(Math.max(0, now - ev.eventTs) / 1000);
      log.info('alert event', { alertId: ev.alertId, rule: ev.rule, phase: ev.phase, priority: ev.priority, wardId: ev.wardId, correlationId: ev.correlationId });
    }
    if (out.events.length) o.onEvents?.(out.events);
    if (now - ps.lastCommit >= COMMIT_INTERVAL_MS) await commitPartition(p, ps);
  };

  /** Step 3: changed states and statuses, then the offsets they correspond to. */
  const commitPartition = async (p: number, ps: PartitionState) => {
    ps.lastCommit = Date.now();
    if (ps.dirty.size) {
      const states: Message[] = [];
      const statuses: Message[] = [];
      for (const pid of ps.dirty) {
        const s = ps.patients.get(pid);
        if (!s) continue;
        states.push({ key: pid, value: encodeState(s), partition: p });
        statuses.push({ key: pid, value: codec.encode('status', statusOf(s)), partition: p });
      }
      await sendChunked(producer, [{ topic: topics.processorState, messages: states }, { topic: topics.patientStatus, messages: statuses }]);
      ps.dirty.clear();
    }
    if (ps.pending.size) {
      await consumer.commitOffsets([...ps.pending].map(([topic, offset]) => ({ topic, partition: p, offset })));
      ps.pending.clear();
    }
    metrics?.patients.set([...parts.values()].reduce((n, x) => n + x.patients.size, 0));
  };

  const newOutput = (): Output => ({ alerts: [], late: [], changed: new Set(), events: [] });

  const timers = (p: number, ps: PartitionState, out: Output) => {
    if (ps.watermark - ps.lastTick < 1000) return;
    ps.lastTick = ps.watermark;
    for (const [pid, s] of ps.patients) {
      const t = tickPatient(s, ps.watermark, book.forPatient(s.wardId, pid));
      if (t.events.length === 0 && t.state === s) continue;
      ps.patients.set(pid, t.state);
      out.changed.add(pid);
      emit(out, p, t.events);
    }
  };

  // Readings held back for ordering are released by wall time when their partition is idle.
  let idleQueued = false;
  const idleFlush = setInterval(() => {
    if (closed || idleQueued) return; // one queued idle flush at a time, however long batches take
    idleQueued = true;
    void restoring.then(() => serial(async () => {
      idleQueued = false;
      for (const [p, ps] of parts) {
        try {
          if (ps.buffer.size > 0) {
            const out = newOutput();
            release(ps, p, out, false);
            if (out.changed.size || out.alerts.length || out.late.length) {
              const oldest = oldestBuffered(ps);
              await flush(p, ps, out, { topic: topics.vitals, offset: (oldest ?? ps.consumed + 1n).toString() });
            }
          }
          if ((ps.dirty.size || ps.pending.size) && Date.now() - ps.lastCommit >= COMMIT_INTERVAL_MS) await commitPartition(p, ps);
        } catch (e) { log.warn('idle flush failed; will retry', { err: e as Error }); }
      }
    }));
  }, 250);

  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, heartbeat, isRunning, isStale }) => serial(async () => {
      await restoring;
      if (!isRunning() || isStale() || batch.messages.length === 0) return;
      const t0 = performance.now();
      const p = batch.partition;
      let ps = parts.get(p);
      if (!ps) { await restore([p]); ps = parts.get(p)!; }
      const out = newOutput();
      const last = batch.messages.at(-1)!;
      if (batch.topic === topics.alertActions) {
        for (const m of batch.messages) {
          if (!m.value) continue;
          try {
            const a = codec.decode('action', m.value);
            const s = ps.patients.get(a.patientId);
            if (!s) { log.warn('action for an unknown patient ignored', { alertId: a.alertId }); continue; }
            const res = applyAction(s, a, book.forPatient(s.wardId, a.patientId));
            ps.patients.set(a.patientId, res.state);
            out.changed.add(a.patientId);
            emit(out, p, res.events);
          } catch (e) { log.error('undecodable alert action skipped', { err: e as Error, partition: p, offset: m.offset }); }
        }
        await flush(p, ps, out, { topic: batch.topic, offset: (BigInt(last.offset) + 1n).toString() });
      } else {
        const touched = new Set<string>();
        for (const m of batch.messages as KafkaMessage[]) {
          if (!m.value) continue;
          let r: VitalsReading;
          try { r = codec.decode('vitals', m.value); } catch (e) {
            log.error('undecodable vitals record skipped', { err: e as Error, partition: p, offset: m.offset });
            continue;
          }
          const list = ps.buffer.get(r.patientId) ?? [];
          let i = list.length;
          while (i > 0 && (list[i - 1]!.r.ts > r.ts || (list[i - 1]!.r.ts === r.ts && list[i - 1]!.r.seq > r.seq))) i--;
          list.splice(i, 0, { r, raw: m.value, offset: Number(m.offset), arrived: Date.now() });
          ps.inBuffer.push(Number(m.offset));
          ps.buffer.set(r.patientId, list);
          ps.newest.set(r.patientId, Math.max(ps.newest.get(r.patientId) ?? 0, r.ts));
          touched.add(r.patientId);
        }
        ps.consumed = BigInt(last.offset);
        let maxTs = ps.watermark;
        for (const pid of touched) maxTs = Math.max(maxTs, ps.newest.get(pid)!);
        ps.watermark = Math.max(ps.watermark, maxTs - book.defaults.technical.allowedLatenessMs);
        // Patients not in this batch are released by the watermark on the idle timer (250 ms).
        release(ps, p, out, false, touched);
        timers(p, ps, out);
        const oldest = oldestBuffered(ps);
        // Never commit past a reading still in the reorder buffer.
        await flush(p, ps, out, { topic: batch.topic, offset: (oldest ?? BigInt(last.offset) + 1n).toString() });
        metrics?.lag.set({ partition: String(p) }, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(last.offset) - 1n)));
      }
      metrics?.batchSeconds.observe((performance.now() - t0) / 1000);
      await heartbeat();
    }),
  });

  return {
    healthy: () => joined,
    patients: () => [...parts.values()].reduce((n, x) => n + x.patients.size, 0),
    rules: () => book,
    async close() {
      closed = true;
      clearInterval(idleFlush);
      // Graceful stop: commit what is done, so a successor does not redo it.
      await serial(async () => { for (const [p, ps] of parts) await commitPartition(p, ps).catch((e) => log.warn('final commit failed', { err: e as Error })); });
      watcher?.close();
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}
