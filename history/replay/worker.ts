/**
 * A replay worker thread: a shard of the history, run through the engine.
 *  - postgres: the patients with hashtext(patient_id) mod shards = shard, through its own
 *    connection and binary COPY stream;
 *  - kafka: a share of the `vitals` partitions (a ward, hence a patient, lives in one), read
 *    with its own client and consumer.
 * Patients are independent in the engine, so shards need no coordination; the parent merges and
 * sorts the events, so the result does not depend on the number of workers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import { createKafka } from '../../common/kafka.ts';
import { createLogger } from '../../common/log.ts';
import { parseRuleFile } from '../../processors/rulebook.ts';
import { createCodec } from '../../schemas/codec.ts';
import type { AlertAction, AlertEvent, VitalsReading } from '../../schemas/records.ts';
import { topicNames } from '../../schemas/topics.ts';
import type { ReplayArgs } from './args.ts';
import { readKafkaVitals, streamPatients } from './replay.ts';
import { byTsSeq, replayPeriod } from './core.ts';

interface Common {
  readonly shard: number; readonly shards: number; readonly ruleText: string; readonly ruleVersion: string;
  readonly from: number; readonly to: number; readonly partitions: number; readonly actions: readonly [string, AlertAction[]][];
}
export type WorkerInput = Common & (
  | { readonly source: 'postgres'; readonly url: string; readonly where: string; readonly partitionMaxTs: readonly [number, number][] }
  | { readonly source: 'kafka'; readonly brokers: readonly string[]; readonly topicPrefix: string; readonly schemaRegistryUrl: string | null; readonly args: ReplayArgs; readonly kafkaPartitions: readonly number[] }
);
export type WorkerOutput =
  | { readonly type: 'progress'; readonly done: number }
  | { readonly type: 'done'; readonly events: AlertEvent[]; readonly readings: number; readonly patients: number; readonly wardsSeen: string[] }
  | { readonly type: 'error'; readonly message: string };

async function run(w: WorkerInput): Promise<void> {
  const book = parseRuleFile(w.ruleText, 'replay');
  if (book.version !== w.ruleVersion) throw new Error(`rule version mismatch in worker: ${book.version} vs ${w.ruleVersion}`);
  const actions = new Map(w.actions);
  const events: AlertEvent[] = [];
  let readings = 0, patients = 0, reported = 0;
  const one = (rs: VitalsReading[], partitionMaxTs: ReadonlyMap<number, number>) => {
    events.push(...replayPeriod(rs, { actions, partitionMaxTs, partitions: w.partitions, from: w.from, to: w.to }, book));
    readings += rs.length;
    patients++;
    if (readings - reported >= 20_000) { reported = readings; parentPort!.postMessage({ type: 'progress', done: readings } satisfies WorkerOutput); }
  };
  let wardsSeen: string[] = [];
  if (w.source === 'postgres') {
    const maxTs = new Map(w.partitionMaxTs);
    const client = new pg.Client({ connectionString: w.url });
    await client.connect();
    try {
      const where = `${w.where} AND (hashtext(patient_id) & 2147483647) % ${w.shards} = ${w.shard}`;
      for await (const rs of streamPatients(client, where, () => {})) one(rs, maxTs);
    } finally { await client.end(); }
  } else if (w.kafkaPartitions.length) {
    const kafka = createKafka(w.brokers, `wardstream-replay-${w.shard}`);
    const codec = await createCodec(w.schemaRegistryUrl ?? undefined);
    const v = await readKafkaVitals(kafka, topicNames(w.topicPrefix), codec, w.args, new Set(w.kafkaPartitions), createLogger('replay-worker'));
    for (const id of [...v.byPatient.keys()].sort()) one(v.byPatient.get(id)!.sort(byTsSeq), v.partitionMaxTs);
    wardsSeen = [...v.wardsSeen];
  }
  parentPort!.postMessage({ type: 'done', events, readings, patients, wardsSeen } satisfies WorkerOutput);
}

run(workerData as WorkerInput).catch((e: unknown) => parentPort!.postMessage({ type: 'error', message: (e as Error).stack ?? String(e) } satisfies WorkerOutput));
