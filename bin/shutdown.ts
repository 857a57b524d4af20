/**
 * Shutdown of a running process (`wardstream start` or one component), in one explicit order.
 * Each part stops completely before the next one starts stopping:
 */
import type { Logger } from '../common/log.ts';

export const SHUTDOWN_ORDER = [
  // Traffic first: no new readings enter while the rest drains.
  { part: 'simulator', why: 'the load source of `start`: stop publishing readings' },
  { part: 'metrics', why: 'the METRICS_PORT server: a scraper sees the process as gone, not as half-stopped' },
  { part: 'sink', why: 'commits its last batch (rows and offsets together) while the database is still open' },
  { part: 'gateway', why: "closes the dashboards' WebSockets and its consumers; clients resume on another gateway" },
  { part: 'processor', why: 'commits patient state and input offsets together, so a successor restores exactly' },
  { part: 'bridge', why: 'disconnects devices, flushes what it has received to Kafka and acknowledges it' },
  // Storage last: every part above talks to it until it has stopped.
  { part: 'history', why: 'the PostgreSQL pool (and the embedded server): after the sink that writes to it' },
  { part: 'kafka', why: 'the local Kafka of `start`: after every client of it' },
] as const;

export type PartName = (typeof SHUTDOWN_ORDER)[number]['part'];

export interface Part {
  readonly part: PartName;
  close(): Promise<void>;
}

const RANK: ReadonlyMap<string, number> = new Map(SHUTDOWN_ORDER.map((s, i) => [s.part, i]));

/** The parts in the order they stop (SHUTDOWN_ORDER), whatever the order they were started in. */
export function shutdownSequence(parts: readonly Part[]): Part[] {
  return [...parts].sort((a, b) => RANK.get(a.part)! - RANK.get(b.part)!);
}

let signalled: string | null = null;

/** Marks the process as stopping on `signal`; false when it already was (a second signal). */
export function beginShutdown(signal: string): boolean {
  if (signalled) return false;
  signalled = signal;
  return true;
}

/** The signal the process is stopping on, or null while it runs. */
export function shuttingDown(): string | null {
  return signalled;
}

/** How long one part may take to stop before shutdown moves on without it. */
export const SHUTDOWN_PART_MS = 10_000;

/**
 * Stops every part in order. A part that cannot stop in time (e.g. its dependency is already
 * gone) must not keep the process alive: after `partMs` it is left behind, logged, and the rest
 * stops. A part that fails to stop is logged and passed over.
 */
export async function stopAll(parts: readonly Part[], log: Logger, partMs = SHUTDOWN_PART_MS): Promise<void> {
  for (const c of shutdownSequence(parts)) {
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      c.close().then(
        () => 'stopped',
        (e: unknown) => {
          log.warn('error while stopping', { part: c.part, err: e as Error });
          return 'failed';
        },
      ),
      new Promise<string>((r) => {
        timer = setTimeout(() => r('timeout'), partMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === 'timeout') log.error('did not stop in time; left behind', { part: c.part, waitedMs: partMs });
    else log.info('stopped', { part: c.part, ms: Math.round(performance.now() - t0) });
  }
}
