/**
 * A replay worker thread: one share of the history (history/replay/shards.ts), read by the
 * worker itself (its own PostgreSQL connection and COPY stream, or its own Kafka client) and
 * run through the engine patient by patient. The parent (workers.ts) merges and sorts the
 * events of all workers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { WardstreamError } from '../../common/errors.ts';
import { createLogger } from '../../common/log.ts';
import { parseRuleFile } from '../../processors/rulebook.ts';
import type { AlertAction, AlertEvent } from '../../schemas/records.ts';
import { replayPeriod } from './core.ts';
import type { ShardResult } from './shards.ts';
import type { ShardSpec } from './source.ts';
import { openKafkaShard } from './sources/kafka.ts';
import { openPostgresShard } from './sources/postgres.ts';

export interface WorkerInput {
  readonly index: number;
  readonly spec: ShardSpec;
  readonly ruleText: string;
  readonly ruleVersion: string;
  readonly from: number;
  readonly to: number;
  readonly partitions: number;
  readonly actions: readonly (readonly [string, readonly AlertAction[]])[];
}
export type WorkerOutput =
  | { readonly type: 'progress'; readonly done: number }
  | ({ readonly type: 'done' } & ShardResult)
  | { readonly type: 'error'; readonly message: string };

const PROGRESS_EVERY = 20_000;

async function run(w: WorkerInput): Promise<void> {
  const book = parseRuleFile(w.ruleText, 'replay');
  if (book.version !== w.ruleVersion)
    throw new WardstreamError('HISTORY_ERR_REPLAY_WORKER', `rule version mismatch in worker: ${book.version} vs ${w.ruleVersion}`);
  const shard = w.spec.source === 'postgres' ? await openPostgresShard(w.spec) : await openKafkaShard(w.spec, w.index, createLogger('replay-worker'));
  const events: AlertEvent[] = [];
  let readings = 0,
    patients = 0,
    reported = 0;
  try {
    const period = { actions: new Map(w.actions), partitionMaxTs: shard.partitionMaxTs, partitions: w.partitions, from: w.from, to: w.to };
    for await (const rs of shard.patients()) {
      events.push(...replayPeriod(rs, period, book));
      readings += rs.length;
      patients++;
      if (readings - reported >= PROGRESS_EVERY) {
        reported = readings;
        parentPort!.postMessage({ type: 'progress', done: readings } satisfies WorkerOutput);
      }
    }
  } finally {
    await shard.close();
  }
  parentPort!.postMessage({ type: 'done', events, readings, patients, wardsSeen: [...shard.wardsSeen] } satisfies WorkerOutput);
}

run(workerData as WorkerInput).catch((e: unknown) =>
  parentPort!.postMessage({ type: 'error', message: (e as Error).stack ?? String(e) } satisfies WorkerOutput),
);
