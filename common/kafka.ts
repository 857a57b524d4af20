/**
 * The one module that knows which Kafka client we use (kafkajs; see README "Kafka client").
 * The rest of the code asks this module for producers, consumers and topic setup.
 *
 * Producer settings and their guarantee: acks=all (-1) on every send, one request in flight
 * per producer (callers serialize their sends), so a batch is either fully acknowledged or
 * rejected and per-partition order is kept across retries. The idempotent producer is not
 * used: kafkajs documents it as experimental; duplicates from retries are removed downstream
 * by (deviceId, seq) and by alert eventId.
 */
import { Kafka, logLevel, type Admin, type ITopicConfig, type Message, type Producer, type logCreator } from 'kafkajs';
import { isRetriable, WardstreamError } from './errors.ts';
import { createLogger } from './log.ts';
import type { Config } from './config.ts';
import { topicNames, type Topics } from '../schemas/topics.ts';

export type { Producer, Consumer, EachBatchPayload, Admin, Message } from 'kafkajs';

/**
 * kafkajs logs through our JSON logger. Its ERROR entries are mostly conditions it retries
 * itself (coordinator loading, leader moves), so they are logged as warnings; what it finally
 * gives up on reaches our code as a rejected promise or a CRASH event.
 */
const kafkaLogCreator: logCreator = () => {
  const log = createLogger('kafkajs');
  return ({ level, log: entry }) => {
    const { message, timestamp: _t, logger: _l, stack: _s, ...fields } = entry as { message: string; [k: string]: unknown };
    if (level <= logLevel.WARN) log.warn(message, fields);
    else log.debug(message, fields);
  };
};

export function createKafka(brokers: readonly string[], clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: [...brokers],
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator,
    retry: { initialRetryTime: 100, retries: 8 },
    connectionTimeout: 3000,
  });
}

export function createProducer(kafka: Kafka): Producer {
  return kafka.producer({ allowAutoTopicCreation: false, maxInFlightRequests: 1, idempotent: false });
}

export interface TopicPlan { readonly topic: string; readonly numPartitions: number; readonly configEntries: { name: string; value: string }[] }

/**
 * Topics are created by the application, never auto-created: explicit partition counts, and
 * compaction where the topic holds latest state (assignments, processor state).
 */
export function topicPlan(topics: Topics, partitions: number): TopicPlan[] {
  const compact = [{ name: 'cleanup.policy', value: 'compact' }, { name: 'min.cleanable.dirty.ratio', value: '0.1' }, { name: 'segment.ms', value: '600000' }];
  const week = [{ name: 'retention.ms', value: String(7 * 24 * 3600 * 1000) }];
  return [
    { topic: topics.vitals, numPartitions: partitions, configEntries: week },
    { topic: topics.vitalsDlq, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: String(30 * 24 * 3600 * 1000) }] },
    { topic: topics.lateReadings, numPartitions: partitions, configEntries: week },
    { topic: topics.alerts, numPartitions: partitions, configEntries: [{ name: 'retention.ms', value: String(30 * 24 * 3600 * 1000) }] },
    { topic: topics.assignments, numPartitions: 1, configEntries: compact },
    { topic: topics.processorState, numPartitions: partitions, configEntries: compact },
    { topic: topics.alertActions, numPartitions: partitions, configEntries: [{ name: 'retention.ms', value: String(30 * 24 * 3600 * 1000) }] },
    { topic: topics.patientStatus, numPartitions: partitions, configEntries: compact },
    { topic: topics.historyDlq, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: String(30 * 24 * 3600 * 1000) }] },
  ];
}

/** Creates missing topics; checks that existing ward topics have the expected partition count. */
export async function ensureTopics(admin: Admin, cfg: Pick<Config, 'kafkaTopicPrefix' | 'kafkaPartitions'>): Promise<Topics> {
  const topics = topicNames(cfg.kafkaTopicPrefix);
  const plan = topicPlan(topics, cfg.kafkaPartitions);
  const existing = new Set(await admin.listTopics());
  const missing: ITopicConfig[] = plan.filter((p) => !existing.has(p.topic)).map((p) => ({ ...p, replicationFactor: -1 }));
  if (missing.length) {
    try {
      await admin.createTopics({ topics: missing, waitForLeaders: true });
    } catch (e) {
      // "already exists": another instance created it. A retriable error from the leader wait
      // (a new topic not yet in a broker's metadata: "does not host this topic-partition") is
      // not a failure: the readiness loop below waits it out.
      if (!String((e as Error).message).includes('already exists') && !isRetriable(e)) throw e;
    }
  }
  // A new topic's partitions can take a moment to be served everywhere (KRaft metadata
  // propagation), even after waitForLeaders; wait until every one answers an offsets request.
  for (const t of missing) {
    await whenReady(async () => {
      const offs = await admin.fetchTopicOffsets(t.topic);
      if (offs.length !== t.numPartitions) throw new WardstreamError('KAFKA_ERR_NOT_READY', `${t.topic}: ${offs.length} of ${t.numPartitions} partitions served`);
    });
  }
  const present = plan.filter((p) => existing.has(p.topic));
  if (present.length) {
    const meta = await whenReady(() => admin.fetchTopicMetadata({ topics: present.map((p) => p.topic) }));
    for (const t of meta.topics) {
      const want = plan.find((p) => p.topic === t.name)!.numPartitions;
      if (t.partitions.length !== want) {
        throw new Error(`topic ${t.name} has ${t.partitions.length} partitions, wardstream is configured for ${want} (KAFKA_PARTITIONS): ward partitioning would break`);
      }
    }
  }
  return topics;
}

/**
 * Reads a (compacted) topic from the beginning up to its end as of the call, keeping the last
 * value per key; a null value (tombstone) removes the key. Only `partitions` are kept when
 * given. Uses a throwaway consumer group that is deleted afterwards.
 */
export async function readToEnd(kafka: Kafka, topic: string, partitions?: ReadonlySet<number>): Promise<Map<string, { partition: number; value: Buffer }>> {
  const out = new Map<string, { partition: number; value: Buffer }>();
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await whenReady(() => admin.fetchTopicOffsets(topic));
    const pending = new Map<number, bigint>();
    for (const e of ends) {
      if (partitions && !partitions.has(e.partition)) continue;
      if (BigInt(e.high) > BigInt(e.low)) pending.set(e.partition, BigInt(e.high));
    }
    if (pending.size === 0) return out;
    const groupId = `wardstream-restore-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, maxBytes: 50 << 20 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const high = pending.get(batch.partition);
          if (high === undefined) return;
          for (const m of batch.messages) {
            if (BigInt(m.offset) >= high) break;
            const key = m.key?.toString();
            if (!key) continue;
            if (m.value === null) out.delete(key);
            else out.set(key, { partition: batch.partition, value: m.value });
          }
          const last = batch.messages.at(-1);
          if (last && BigInt(last.offset) + 1n >= high) pending.delete(batch.partition);
          if (pending.size === 0) resolve();
        },
      }).catch(reject);
    });
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => {});
    return out;
  } finally {
    await admin.disconnect();
  }
}

/**
 * sendBatch, split so that no request carries more than ~`maxBytes` of values: a broker
 * refuses a record batch over its message.max.bytes (1 MiB by default), which a backlog of
 * patient states easily exceeds. Chunks go out in order, one at a time, so per-partition
 * order is kept.
 */
export async function sendChunked(producer: Producer, topicMessages: { topic: string; messages: Message[] }[], maxBytes = 512 * 1024): Promise<void> {
  let chunk: { topic: string; messages: Message[] }[] = [];
  let size = 0;
  const send = async () => {
    if (chunk.length) await producer.sendBatch({ acks: -1, topicMessages: chunk });
    chunk = [];
    size = 0;
  };
  for (const tm of topicMessages) {
    let cur: Message[] = [];
    chunk.push({ topic: tm.topic, messages: cur });
    for (const m of tm.messages) {
      const n = (m.value ? (m.value as Buffer).length : 0) + 64;
      if (size + n > maxBytes && size > 0) {
        await send();
        cur = [];
        chunk.push({ topic: tm.topic, messages: cur });
      }
      cur.push(m);
      size += n;
    }
  }
  chunk = chunk.filter((c) => c.messages.length > 0);
  await send();
}

/**
 * Retries an admin call while Kafka says "not yet" (a new topic not yet served by every
 * listener, a coordinator loading): retriable errors for up to `timeoutMs`, anything else at once.
 */
export async function whenReady<T>(fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!isRetriable(e) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * Reads the records of `topic` whose position lies between the offsets-for-times of `fromTs`
 * and `toTs` (end of the topic as of the call when omitted), per partition, in offset order,
 * and hands them to `onBatch`. Record timestamps are event times here (readings: device time;
 * alerts: event time), so the range is the event-time range up to per-partition disorder:
 * callers widen it by their allowed lateness and filter on the decoded times. A throwaway
 * group, deleted afterwards; nothing is committed.
 */
export async function readRange(
  kafka: Kafka, topic: string, o: { fromTs: number; toTs?: number; partitions?: ReadonlySet<number> },
  onBatch: (partition: number, messages: readonly { offset: string; value: Buffer | null }[]) => void | Promise<void>,
): Promise<{ records: number }> {
  const admin = kafka.admin();
  await admin.connect();
  let starts: { partition: number; offset: string }[];
  let ends: { partition: number; offset: string }[];
  try {
    starts = await whenReady(() => admin.fetchTopicOffsetsByTimestamp(topic, o.fromTs));
    ends = o.toTs === undefined
      ? (await whenReady(() => admin.fetchTopicOffsets(topic))).map((x) => ({ partition: x.partition, offset: x.high }))
      : await whenReady(() => admin.fetchTopicOffsetsByTimestamp(topic, o.toTs!));
  } finally { await admin.disconnect(); }
  const range = new Map<number, { start: bigint; end: bigint }>();
  for (const s of starts) {
    if (o.partitions && !o.partitions.has(s.partition)) continue;
    const end = BigInt(ends.find((e) => e.partition === s.partition)!.offset);
    if (end > BigInt(s.offset)) range.set(s.partition, { start: BigInt(s.offset), end });
  }
  let records = 0;
  if (range.size === 0) return { records };
  const groupId = `wardstream-range-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, maxBytes: 50 << 20, maxBytesPerPartition: 16 << 20 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const pending = new Set(range.keys());
    await new Promise<void>((resolve, reject) => {
      consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const r = range.get(batch.partition);
          if (!r || !pending.has(batch.partition)) return;
          const msgs = batch.messages.filter((m) => { const off = BigInt(m.offset); return off >= r.start && off < r.end; });
          records += msgs.length;
          if (msgs.length) await onBatch(batch.partition, msgs);
          const last = batch.messages.at(-1);
          if (last && BigInt(last.offset) + 1n >= r.end) { pending.delete(batch.partition); consumer.pause([{ topic, partitions: [batch.partition] }]); }
          if (pending.size === 0) resolve();
        },
      }).catch(reject);
      for (const [partition, r] of range) consumer.seek({ topic, partition, offset: r.start.toString() });
    });
  } finally {
    await consumer.disconnect();
    const a = kafka.admin();
    await a.connect().then(() => a.deleteGroups([groupId])).catch(() => {}).finally(() => a.disconnect());
  }
  return { records };
}
