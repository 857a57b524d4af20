/**
 * A replay worker thread: one shard of the patients (hashtext(patient_id) mod shards), read
 * through its own PostgreSQL connection and cursor, run through the engine. Patients are
 * independent in the engine, so shards need no coordination; the parent merges and sorts the
 * events, so the result does not depend on the number of workers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import { parseRuleFile } from '../processors/rulebook.ts';
import type { AlertAction, AlertEvent } from '../schemas/records.ts';
import { partitionForWard } from '../schemas/topics.ts';
import { streamPatients } from './replay.ts';
import { replayPatient } from './replay-core.ts';

export interface WorkerInput {
  readonly url: string; readonly where: string; readonly params: readonly unknown[]; readonly shard: number; readonly shards: number;
  readonly ruleText: string; readonly ruleVersion: string; readonly from: number; readonly to: number; readonly partitions: number;
  readonly partitionMaxTs: readonly [number, number][]; readonly actions: readonly [string, AlertAction[]][];
}
export type WorkerOutput =
  | { readonly type: 'progress'; readonly done: number }
  | { readonly type: 'done'; readonly events: AlertEvent[]; readonly readings: number; readonly patients: number }
  | { readonly type: 'error'; readonly message: string };

async function run(w: WorkerInput): Promise<void> {
  const book = parseRuleFile(w.ruleText, 'replay');
  if (book.version !== w.ruleVersion) throw new Error(`rule version mismatch in worker: ${book.version} vs ${w.ruleVersion}`);
  const maxTs = new Map(w.partitionMaxTs);
  const actions = new Map(w.actions);
  const lateness = book.defaults.technical.allowedLatenessMs;
  const client = new pg.Client({ connectionString: w.url });
  await client.connect();
  const events: AlertEvent[] = [];
  let readings = 0, patients = 0, reported = 0;
  try {
    const where = `${w.where} AND (hashtext(patient_id) & 2147483647) % ${w.shards} = ${w.shard}`;
    for await (const rs of streamPatients(client, where, w.params)) {
      const first = rs[0]!;
      const pmax = maxTs.get(partitionForWard(first.wardId, w.partitions)) ?? first.ts;
      const out = replayPatient({ patientId: first.patientId, readings: rs, actions: actions.get(first.patientId) ?? [], endWatermark: Math.min(w.to, pmax - lateness) }, book);
      for (const e of out.events) if (e.eventTs >= w.from && e.eventTs < w.to) events.push(e);
      readings += rs.length;
      patients++;
      if (readings - reported >= 20_000) { reported = readings; parentPort!.postMessage({ type: 'progress', done: readings } satisfies WorkerOutput); }
    }
  } finally { await client.end(); }
  parentPort!.postMessage({ type: 'done', events, readings, patients } satisfies WorkerOutput);
}

run(workerData as WorkerInput).catch((e: unknown) => parentPort!.postMessage({ type: 'error', message: (e as Error).stack ?? String(e) } satisfies WorkerOutput));
