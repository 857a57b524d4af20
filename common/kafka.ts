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
import { randomUUID } from 'node:crypto';
import { type Admin, type ITopicConfig, Kafka, type KafkaMessage, type logCreator, logLevel, type Message, Partitioners, type Producer } from 'kafkajs';
import { type Topics, topicNames } from '../schemas/topics.ts';
import type { Config } from './config.ts';
import { isRetriable, WardstreamError } from './errors.ts';
import { createLogger } from './log.ts';

export type { Admin, Consumer, EachBatchPayload, Message, Producer } from 'kafkajs';

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

/**
 * Every ward-topic record names its partition (schemas/topics.ts `partitionForWard`); the
 * partitioner only places the records of single-partition topics. It is named explicitly (the
 * kafkajs 2 default, Java-compatible murmur2), which also keeps kafkajs from printing its
 * partitioner-change warning on every command.
 */
export function createProducer(kafka: Kafka): Producer {
  return kafka.producer({ allowAutoTopicCreation: false, maxInFlightRequests: 1, idempotent: false, createPartitioner: Partitioners.DefaultPartitioner });
}

export interface TopicPlan {
  readonly topic: string;
  readonly numPartitions: number;
  readonly configEntries: { name: string; value: string }[];
}

/**
 * Topics are created by the application, never auto-created: explicit partition counts, and
 * compaction where the topic holds latest state (assignments, processor state).
 */
export function topicPlan(topics: Topics, partitions: number): TopicPlan[] {
  const compact = [
    { name: 'cleanup.policy', value: 'compact' },
    { name: 'min.cleanable.dirty.ratio', value: '0.1' },
    { name: 'segment.ms', value: '600000' },
  ];
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
      if (offs.length !== t.numPartitions)
        throw new WardstreamError('KAFKA_ERR_NOT_READY', `${t.topic}: ${offs.length} of ${t.numPartitions} partitions served`);
    });
  }
  const present = plan.filter((p) => existing.has(p.topic));
  if (present.length) {
    const meta = await whenReady(() => admin.fetchTopicMetadata({ topics: present.map((p) => p.topic) }));
    for (const t of meta.topics) {
      const want = plan.find((p) => p.topic === t.name)!.numPartitions;
      if (t.partitions.length !== want) {
        throw new WardstreamError(
          'KAFKA_ERR_PARTITIONS',
          `topic ${t.name} has ${t.partitions.length} partitions, wardstream is configured for ${want} (KAFKA_PARTITIONS): ward partitioning would break`,
        );
      }
    }
  }
  return topics;
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

/** A record as the topic reader hands it over: kafkajs' message (offset, key, value, timestamp, headers). */
export type TopicRecord = KafkaMessage;

export interface ReadTopicOptions {
  /** Only these partitions (default: every partition of the topic). */
  readonly partitions?: ReadonlySet<number>;
  /** Start at the first record at or after this timestamp (offsets-for-times); default: the beginning. */
  readonly fromTs?: number;
  /**
   * Where to stop: 'end' (default) = the end of each partition as of the call; `{ ts }` = before
   * the first record at or after that timestamp; 'follow' = never: new records keep arriving
   * until `stop()`.
   */
  readonly until?: 'end' | 'follow' | { readonly ts: number };
  /** Name of the throwaway consumer group, before a random suffix (default `wardstream-reader`). */
  readonly group?: string;
  /** How long a fetch waits for records when there are none (default 100 ms). */
  readonly maxWaitTimeInMs?: number;
  /** Largest fetch per partition (default kafkajs' 1 MiB). */
  readonly maxBytesPerPartition?: number;
}

export interface TopicReader {
  /**
   * Resolves once every selected partition has been read up to where it ended when the reader
   * started (at once when there was nothing to read). When `until` is not 'follow', the reader
   * has stopped itself by then.
   */
  readonly caughtUp: Promise<void>;
  /** Records handed to `onBatch` so far. */
  records(): number;
  /** Stops reading and deletes the throwaway group. Idempotent. */
  stop(): Promise<void>;
}

/**
 * The one topic reader: reads `topic` (or the given partitions) from the beginning, or from a
 * timestamp, to its end or an end timestamp, or follows it, and hands each fetched batch of
 * records, in offset order per partition, to `onBatch`. Nothing is committed: the consumer
 * group is a throwaway one, deleted on stop. Used for restoring state (compacted topics read to
 * the end), for views kept up to date (followed), and for replaying a time range.
 *
 *   const view = await readTopic(kafka, topic, { until: 'follow' }, (partition, records) => { … });
 *   await view.caughtUp;   // everything that was in the topic at start has been seen
 *   …
 *   await view.stop();
 */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  o: ReadTopicOptions,
  onBatch: (partition: number, records: readonly TopicRecord[]) => void | Promise<void>,
): Promise<TopicReader> {
  const until = o.until ?? 'end';
  const bounded = until !== 'follow';
  const range = await offsetRange(kafka, topic, o.fromTs, until, o.partitions);
  let records = 0;
  let pending = 0;
  for (const r of range.values())
    if (r.end > r.start) pending++;
    else r.caughtUp = true;
  if (bounded) for (const [p, r] of range) if (r.caughtUp) range.delete(p);
  if (bounded && pending === 0) return { caughtUp: Promise.resolve(), records: () => 0, stop: async () => {} };

  const groupId = `${o.group ?? 'wardstream-reader'}-${randomUUID()}`;
  const consumer = kafka.consumer({
    groupId,
    maxWaitTimeInMs: o.maxWaitTimeInMs ?? 100,
    maxBytes: 50 << 20,
    ...(o.maxBytesPerPartition ? { maxBytesPerPartition: o.maxBytesPerPartition } : {}),
  });
  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      await consumer.disconnect();
      const admin = kafka.admin();
      await admin
        .connect()
        .then(() => admin.deleteGroups([groupId]))
        .catch(() => {})
        .finally(() => admin.disconnect());
    })();
    return stopped;
  };
  let markCaughtUp!: () => void;
  let failed!: (e: unknown) => void;
  const reached = new Promise<void>((resolve, reject) => {
    markCaughtUp = resolve;
    failed = reject;
  });
  if (pending === 0) markCaughtUp();
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const running = consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const r = range.get(batch.partition);
        const last = batch.messages.at(-1);
        if (!r || !last || (bounded && r.caughtUp)) return;
        const inRange = within(batch.messages, r.start, bounded ? r.end : null);
        if (inRange.length) {
          records += inRange.length;
          await onBatch(batch.partition, inRange);
        }
        if (!r.caughtUp && BigInt(last.offset) + 1n >= r.end) {
          r.caughtUp = true;
          if (bounded) consumer.pause([{ topic, partitions: [batch.partition] }]);
          if (--pending === 0) markCaughtUp();
        }
      },
    });
    // A group of its own starts at the beginning; a later start is a seek (applied on assignment).
    if (o.fromTs !== undefined) for (const [partition, r] of range) consumer.seek({ topic, partition, offset: r.start.toString() });
    running.catch(failed);
    await running;
  } catch (e) {
    await stop().catch(() => {});
    throw e;
  }
  return { caughtUp: bounded ? reached.then(stop) : reached, records: () => records, stop };
}

interface PartitionRange {
  readonly start: bigint;
  readonly end: bigint;
  caughtUp: boolean;
}

/** Start and end offset per selected partition, from the admin API (retrying while Kafka is not ready). */
async function offsetRange(
  kafka: Kafka,
  topic: string,
  fromTs: number | undefined,
  until: NonNullable<ReadTopicOptions['until']>,
  partitions: ReadonlySet<number> | undefined,
): Promise<Map<number, PartitionRange>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const byTs = async (ts: number) => {
      const offsets = await whenReady(() => admin.fetchTopicOffsetsByTimestamp(topic, ts));
      return new Map(offsets.map((x) => [x.partition, BigInt(x.offset)]));
    };
    const watermarks = fromTs === undefined || typeof until !== 'object' ? await whenReady(() => admin.fetchTopicOffsets(topic)) : [];
    const starts = fromTs === undefined ? new Map(watermarks.map((x) => [x.partition, BigInt(x.low)])) : await byTs(fromTs);
    const ends = typeof until === 'object' ? await byTs(until.ts) : new Map(watermarks.map((x) => [x.partition, BigInt(x.high)]));
    const range = new Map<number, PartitionRange>();
    for (const [partition, start] of starts) {
      if (partitions && !partitions.has(partition)) continue;
      range.set(partition, { start, end: ends.get(partition) ?? start, caughtUp: false });
    }
    return range;
  } finally {
    await admin.disconnect();
  }
}

/** The records of a batch with start <= offset < end (end null: no upper bound); the batch itself when all are. */
function within(messages: KafkaMessage[], start: bigint, end: bigint | null): KafkaMessage[] {
  const first = BigInt(messages[0]!.offset);
  const last = BigInt(messages.at(-1)!.offset);
  if (first >= start && (end === null || last < end)) return messages;
  return messages.filter((m) => {
    const off = BigInt(m.offset);
    return off >= start && (end === null || off < end);
  });
}

/**
 * Reads a (compacted) topic from the beginning up to its end as of the call, keeping the last
 * value per key; a null value (tombstone) removes the key. Only `partitions` are kept when
 * given.
 */
export async function readToEnd(kafka: Kafka, topic: string, partitions?: ReadonlySet<number>): Promise<Map<string, { partition: number; value: Buffer }>> {
  const out = new Map<string, { partition: number; value: Buffer }>();
  const reader = await readTopic(kafka, topic, { partitions, group: 'wardstream-restore' }, (partition, records) => {
    for (const m of records) {
      const key = m.key?.toString();
      if (!key) continue;
      if (m.value === null) out.delete(key);
      else out.set(key, { partition, value: m.value });
    }
  });
  await reader.caughtUp;
  return out;
}

/**
 * Reads the records of `topic` whose position lies between the offsets-for-times of `fromTs`
 * and `toTs` (end of the topic as of the call when omitted), per partition, in offset order,
 * and hands them to `onBatch`. Record timestamps are event times here (readings: device time;
 * alerts: event time), so the range is the event-time range up to per-partition disorder:
 * callers widen it by their allowed lateness and filter on the decoded times.
 */
export async function readRange(
  kafka: Kafka,
  topic: string,
  o: { fromTs: number; toTs?: number; partitions?: ReadonlySet<number> },
  onBatch: (partition: number, messages: readonly { offset: string; value: Buffer | null }[]) => void | Promise<void>,
): Promise<{ records: number }> {
  const reader = await readTopic(
    kafka,
    topic,
    {
      partitions: o.partitions,
      fromTs: o.fromTs,
      until: o.toTs === undefined ? 'end' : { ts: o.toTs },
      group: 'wardstream-range',
      maxBytesPerPartition: 16 << 20,
    },
    onBatch,
  );
  await reader.caughtUp;
  return { records: reader.records() };
}
