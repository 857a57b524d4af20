/**
 * Replay over worker threads: each worker (worker.ts) reads and replays one share of the
 * readings (shards.ts); this module starts them, adds up their progress and merges their results.
 *
 * The worker is the module beside this one, found relative to import.meta.url: worker.js when
 * running compiled code from dist/, worker.ts from source (tsx, vitest). Compiled code starts it
 * directly. From source the worker needs the TypeScript loader the main thread has, and Node 20
 * runs `--import` preloads (tsx's loader) on the main thread only — not in worker threads, even
 * with the parent's execArgv (checked on Node 20.20) — so from source the worker registers
 * tsx's hooks first and then imports the very same module.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { WardstreamError } from '../../common/errors.ts';
import type { RuleBook } from '../../processors/rulebook.ts';
import { mergeShards, type ShardResult } from './shards.ts';
import type { Source, SourceMeta } from './source.ts';
import type { WorkerInput, WorkerOutput } from './worker.ts';

const WORKER_URL = new URL(`./worker${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url);

function startWorker(input: WorkerInput): Worker {
  if (!WORKER_URL.pathname.endsWith('.ts')) return new Worker(WORKER_URL, { workerData: input });
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL.href)}); })`;
  return new Worker(boot, { eval: true, workerData: input });
}

export interface WorkersOptions {
  readonly book: RuleBook;
  readonly from: number;
  readonly to: number;
  readonly partitions: number;
  /** Readings replayed so far, all workers together. */
  readonly progress: (done: number) => void;
}

/** Replays the source's shards on `n` worker threads; fails with the first worker that fails. */
export async function replayInWorkers(
  src: Extract<Source, { readers: 'workers' }>,
  meta: SourceMeta,
  n: number,
  o: WorkersOptions,
): Promise<ReturnType<typeof mergeShards>> {
  const done = new Array<number>(n).fill(0);
  const specs = src.shards(n, meta);
  const actions = [...src.actions];
  const fail = (i: number, detail: string) => new WardstreamError('HISTORY_ERR_REPLAY_WORKER', `replay worker ${i}: ${detail}`);
  const results = await Promise.all(
    specs.map(
      (spec, index) =>
        new Promise<ShardResult>((resolve, reject) => {
          const w = startWorker({ index, spec, ruleText: o.book.text, ruleVersion: o.book.version, from: o.from, to: o.to, partitions: o.partitions, actions });
          w.on('message', (m: WorkerOutput) => {
            if (m.type === 'progress') {
              done[index] = m.done;
              o.progress(done.reduce((a, b) => a + b, 0));
            } else if (m.type === 'done') {
              resolve(m);
              void w.terminate();
            } else reject(fail(index, m.message));
          });
          w.on('error', (e) => reject(fail(index, e.stack ?? String(e))));
          w.on('exit', (code) => {
            if (code !== 0 && code !== 1) reject(fail(index, `exited with ${code}`));
          });
        }),
    ),
  );
  return mergeShards(results);
}
