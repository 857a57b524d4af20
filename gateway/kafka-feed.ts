/**
 * The gateway's `Feed` on Kafka (kafkajs, through common/kafka.ts).
 *
 * Readers, each with a consumer group of this instance's own (nothing is committed: a gateway
 * is stateless apart from its caches, and resume is served from positions carried in each
 * event; committing per batch also cost a round trip per fetch):
 *  - `vitals` and `alerts`: from `resumeWindowMs` back (offsets for that time, sought after
 *    the group joined), so a client resuming from another or a restarted gateway finds its
 *    position here too; then live;
 *  - `patient-status` (compacted) from the beginning: the snapshot cache.
 * Writer: `alert-actions`, acks=all, partitioned by the alert's ward like every ward topic.
 * Delivery in: at-least-once (re-reads after a seek or a rebalance; alert events are
 * de-duplicated on eventId by the fan-out). Out: an action is confirmed only once Kafka acked it.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { Config } from '../common/config.ts';
import { createProducer, readTopic, type TopicReader, whenReady } from '../common/kafka.ts';
import type { Logger } from '../common/log.ts';
import type { Codec } from '../schemas/codec.ts';
import type { AlertAction } from '../schemas/records.ts';
import { partitionForWard, type Topics } from '../schemas/topics.ts';
import type { Feed, FeedSink } from './feed.ts';

export interface KafkaFeedOptions {
  readonly kafka: Kafka;
  readonly codec: Codec;
  readonly topics: Topics;
  readonly config: Pick<Config, 'kafkaTopicPrefix' | 'kafkaPartitions' | 'resumeWindowMs'>;
  readonly log: Logger;
  /** Names this instance's consumer groups (random when omitted). */
  readonly instanceId?: string;
}

export function createKafkaFeed(o: KafkaFeedOptions): Feed {
  const { kafka, codec, topics, config, log } = o;
  const instance = o.instanceId ?? randomUUID();
  const actions = createProducer(kafka);
  let statusReader: TopicReader | null = null;
  // A fetch returns as soon as a record arrives, so the wait only bounds idle polling: 10 ms
  // here cost ~8 % of a core in an idle gateway, with the same delivery latency (A/B in
  // benchmarks/README.md §7).
  const consumer = kafka.consumer({
    groupId: `${config.kafkaTopicPrefix}wardstream-gateway-${instance}`,
    maxWaitTimeInMs: 500,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
  });
  let joined = false;

  return {
    joined: () => joined,

    async start(sink: FeedSink) {
      await actions.connect();
      // patient-status → snapshot cache (compacted topic, read from the beginning).
      // (500 ms fetch wait: an idle reader polls twice a second, not ten times.)
      statusReader = await readTopic(
        kafka,
        topics.patientStatus,
        { until: 'follow', group: `${config.kafkaTopicPrefix}wardstream-gateway-status-${instance}`, maxWaitTimeInMs: 500 },
        (_partition, records) => {
          for (const message of records) {
            if (!message.value || !message.key) continue;
            try {
              sink.status(codec.decode('status', message.value));
            } catch (e) {
              log.error('undecodable patient status skipped', { err: e as Error });
            }
          }
        },
      );

      await consumer.connect();
      await consumer.subscribe({ topics: [topics.vitals, topics.alerts], fromBeginning: false });
      const backfill = new Map<string, { partition: number; offset: string }[]>();
      const admin = kafka.admin();
      await admin.connect();
      for (const t of [topics.vitals, topics.alerts]) {
        const offs = await whenReady(() => admin.fetchTopicOffsetsByTimestamp(t, Date.now() - config.resumeWindowMs));
        backfill.set(
          t,
          offs.map((x) => ({ partition: x.partition, offset: x.offset })),
        );
        for (const x of offs) sink.floor(t === topics.alerts ? 'alerts' : 'vitals', x.partition, BigInt(x.offset));
      }
      await admin.disconnect();
      consumer.on(consumer.events.GROUP_JOIN, () => {
        joined = true;
      });
      consumer.on(consumer.events.CRASH, (e) => {
        joined = false;
        log.error('gateway consumer crashed', { err: e.payload.error });
      });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const isAlerts = batch.topic === topics.alerts;
          const now = Date.now();
          for (const msg of batch.messages) {
            if (!msg.value) continue;
            try {
              if (isAlerts) sink.alert(batch.partition, msg.offset, codec.decode('alert', msg.value), now);
              else sink.vitals(batch.partition, msg.offset, codec.decode('vitals', msg.value), now);
            } catch (e) {
              log.error('undecodable record skipped by gateway', { err: e as Error, topic: batch.topic, partition: batch.partition, offset: msg.offset });
            }
          }
        },
      });
      for (const [topic, offs] of backfill) for (const x of offs) consumer.seek({ topic, partition: x.partition, offset: x.offset });
    },

    async writeAction(action: AlertAction) {
      await actions.send({
        topic: topics.alertActions,
        acks: -1,
        messages: [{ key: action.patientId, value: codec.encode('action', action), partition: partitionForWard(action.wardId, config.kafkaPartitions) }],
      });
    },

    async close() {
      await consumer.disconnect();
      await statusReader?.stop();
      await actions.disconnect();
    },
  };
}
