/**
 * kafkajs vs @platformatic/kafka on this pipeline's own paths, against one real local broker,
 * in one run: produce (batches of `batch` records of a realistic Avro-sized value, acks=all,
 * one request in flight, as the bridge does), the same with the idempotent producer, a
 * transactional produce, and a consumer-group read of everything back.
 *
 *   npx tsx benchmarks/kafka-clients.ts [--records 100000] [--batch 500] [--rounds 3] [--brokers host:port]
 *
 * Rounds alternate which client goes first (JIT warm-up and page cache favour the second);
 * the table reports the median of the rounds. Transactional produce uses a tenth of the records
 * (one transaction per batch is slow with both clients). Writes benchmarks/results/kafka-clients.json.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { Admin as PAdmin, Consumer as PConsumer, Producer as PProducer } from '@platformatic/kafka';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { startLocalKafka } from '../deploy/local/kafka/local-kafka.ts';
import { arg, progress } from './util.ts';

const RECORDS = Number(arg('--records', '100000'));
const BATCH = Number(arg('--batch', '500'));
const PARTITIONS = 4;
const ROUNDS = Number(arg('--rounds', '3'));

const value = Buffer.alloc(120, 7); // a VitalsReading in Avro is ~100-130 bytes
const key = (i: number) => `patient-${i % 1000}`;

interface Row {
  client: string;
  path: string;
  recordsPerSec: number;
  ms: number;
}

async function timeIt(label: string, n: number, fn: (tick: (k: number) => void) => Promise<void>): Promise<{ ms: number; rps: number }> {
  const p = progress(label, n);
  const t0 = performance.now();
  await fn(p.tick);
  const ms = performance.now() - t0;
  p.done();
  return { ms, rps: Math.round((n / ms) * 1000) };
}

async function main(): Promise<void> {
  const local = process.env.KAFKA_BROKERS || arg('--brokers', '') ? undefined : await startLocalKafka({ log: (l) => console.error(l) });
  const brokers = process.env.KAFKA_BROKERS ?? (arg('--brokers', '') || local!.brokers);
  const run = Date.now();
  const rows: Row[] = [];
  const kafka = new Kafka({ clientId: 'bench', brokers: [brokers], logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  const topics = ['kjs', 'kjs-idem', 'kjs-tx', 'plt', 'plt-idem', 'plt-tx'].map((t) => `bench-${run}-${t}`);
  await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: PARTITIONS })) });
  await admin.disconnect();

  const kafkajsRound = async (round: number) => {
    // ---- kafkajs produce
    for (const [i, mode] of (['plain', 'idempotent', 'transactional'] as const).entries()) {
      const topic = topics[i]!;
      const producer = kafka.producer({
        idempotent: mode !== 'plain',
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        ...(mode === 'transactional' ? { transactionalId: `bench-${run}-${round}` } : {}),
      });
      await producer.connect();
      const n = mode === 'transactional' ? RECORDS / 10 : RECORDS;
      const r = await timeIt(`kafkajs produce (${mode})`, n, async (tick) => {
        for (let off = 0; off < n; off += BATCH) {
          const messages = [];
          for (let j = off; j < Math.min(n, off + BATCH); j++) messages.push({ key: key(j), value, partition: j % PARTITIONS });
          if (mode === 'transactional') {
            const tx = await producer.transaction();
            await tx.send({ topic, messages, acks: -1, compression: CompressionTypes.None });
            await tx.commit();
          } else {
            await producer.send({ topic, messages, acks: -1 });
          }
          tick(messages.length);
        }
      });
      rows.push({ client: 'kafkajs 2.2.4', path: `produce ${mode}`, recordsPerSec: r.rps, ms: Math.round(r.ms) });
      await producer.disconnect();
    }
    // ---- kafkajs consume (consumer group, from earliest)
    {
      const consumer = kafka.consumer({ groupId: `bench-${run}-kjs-${round}`, maxBytes: 10 << 20 });
      await consumer.connect();
      await consumer.subscribe({ topic: topics[0]!, fromBeginning: true });
      let seen = 0;
      const r = await timeIt(
        'kafkajs consume',
        RECORDS,
        (tick) =>
          new Promise<void>((resolve) => {
            void consumer.run({
              eachBatch: async ({ batch }) => {
                seen += batch.messages.length;
                tick(batch.messages.length);
                if (seen >= RECORDS) resolve();
              },
            });
          }),
      );
      rows.push({ client: 'kafkajs 2.2.4', path: 'consume group', recordsPerSec: r.rps, ms: Math.round(r.ms) });
      await consumer.disconnect();
    }
  };
  const platformaticRound = async (round: number) => {
    // ---- @platformatic/kafka produce
    for (const [i, mode] of (['plain', 'idempotent', 'transactional'] as const).entries()) {
      const topic = topics[3 + i]!;
      const producer = new PProducer({
        clientId: 'bench',
        bootstrapBrokers: [brokers],
        acks: -1,
        idempotent: mode !== 'plain',
        autocreateTopics: false,
        ...(mode === 'transactional' ? { transactionalId: `bench-plt-${run}-${round}` } : {}),
      });
      try {
        const n = mode === 'transactional' ? RECORDS / 10 : RECORDS;
        const r = await timeIt(`@platformatic/kafka produce (${mode})`, n, async (tick) => {
          for (let off = 0; off < n; off += BATCH) {
            const messages = [];
            for (let j = off; j < Math.min(n, off + BATCH); j++) messages.push({ topic, key: Buffer.from(key(j)), value, partition: j % PARTITIONS });
            if (mode === 'transactional') {
              const tx = await producer.beginTransaction();
              await tx.send({ messages });
              await tx.commit();
            } else {
              await producer.send({ messages });
            }
            tick(messages.length);
          }
        });
        rows.push({ client: '@platformatic/kafka 1.x', path: `produce ${mode}`, recordsPerSec: r.rps, ms: Math.round(r.ms) });
      } catch (e) {
        console.error(`@platformatic/kafka ${mode}: ${(e as Error).message}`);
        rows.push({ client: '@platformatic/kafka 1.x', path: `produce ${mode} (FAILED: ${(e as Error).message.slice(0, 60)})`, recordsPerSec: 0, ms: 0 });
      }
      await producer.close();
    }
    {
      const consumer = new PConsumer({ clientId: 'bench', groupId: `bench-${run}-plt-${round}`, bootstrapBrokers: [brokers], maxBytes: 10 << 20 });
      let seen = 0;
      const r = await timeIt('@platformatic/kafka consume', RECORDS, async (tick) => {
        const stream = await consumer.consume({ topics: [topics[3]!], mode: 'earliest', autocommit: true });
        await new Promise<void>((resolve) => {
          stream.on('data', () => {
            seen++;
            if (seen % 1000 === 0) tick(1000);
            if (seen >= RECORDS) resolve();
          });
        });
        await stream.close();
      });
      rows.push({ client: '@platformatic/kafka 1.x', path: 'consume group', recordsPerSec: r.rps, ms: Math.round(r.ms) });
      await consumer.close(true);
    }
  };
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      await kafkajsRound(round);
      await platformaticRound(round);
    } else {
      await platformaticRound(round);
      await kafkajsRound(round);
    }
  }
  const padmin = new PAdmin({ clientId: 'bench', bootstrapBrokers: [brokers] });
  await padmin.deleteTopics({ topics }).catch(() => {});
  await padmin.close();

  const median = (xs: number[]) => {
    const s2 = [...xs].sort((a, b) => a - b);
    return s2[Math.floor(s2.length / 2)]!;
  };
  const keys = [...new Set(rows.map((r) => `${r.client}|${r.path}`))];
  const med: Row[] = keys.map((k) => {
    const rs = rows.filter((r) => `${r.client}|${r.path}` === k);
    return { client: rs[0]!.client, path: rs[0]!.path, recordsPerSec: median(rs.map((r) => r.recordsPerSec)), ms: median(rs.map((r) => r.ms)) };
  });
  console.log(
    `\n${RECORDS} records of ${value.length} B (transactional: ${RECORDS / 10}), batches of ${BATCH}, acks=all, ${PARTITIONS} partitions, broker ${brokers}, median of ${ROUNDS} rounds`,
  );
  console.log('| client | path | records/s (median) | all rounds |\n|---|---|---:|---|');
  for (const r of med)
    console.log(
      `| ${r.client} | ${r.path} | ${r.recordsPerSec} | ${rows
        .filter((x) => x.client === r.client && x.path === r.path)
        .map((x) => x.recordsPerSec)
        .join(', ')} |`,
    );
  rows.splice(0, rows.length, ...med, ...rows.map((r) => ({ ...r, path: `${r.path} (round)` })));
  const ratio = (path: string) => {
    const a = rows.find((r) => r.client.startsWith('kafkajs') && r.path === path);
    const b = rows.find((r) => r.client.startsWith('@plat') && r.path === path);
    return a && b && a.recordsPerSec ? (b.recordsPerSec / a.recordsPerSec).toFixed(2) : 'n/a';
  };
  console.log(
    `platformatic/kafkajs ratio: produce ${ratio('produce plain')}, idempotent ${ratio('produce idempotent')}, transactional ${ratio('produce transactional')}, consume ${ratio('consume group')}`,
  );
  mkdirSync('benchmarks/results', { recursive: true });
  writeFileSync('benchmarks/results/kafka-clients.json', JSON.stringify({ date: new Date().toISOString(), records: RECORDS, batch: BATCH, rows }, null, 2));
  await local?.stop();
}

await main();
process.exit(0);
