/**
 * Daily partitions of `vitals` (native declarative range partitioning on device time, UTC days).
 * Pure helpers (names, bounds, what has expired) plus the statements that use them, and the
 * sink's cache of the days that exist (`PartitionDays`): created ahead of time and on demand for
 * any day a batch touches; dropped after the retention. A day PostgreSQL cannot represent (year
 * 0000) fails the DDL with SQLSTATE 22008: the sink dead-letters such readings.
 */
import type pg from 'pg';

const DAY_MS = 86_400_000;
const NAME = /^vitals_p(\d{4})(\d{2})(\d{2})$/;

export const dayStart = (ts: number): number => ts - (((ts % DAY_MS) + DAY_MS) % DAY_MS);
export const partitionName = (day: number): string => `vitals_p${new Date(day).toISOString().slice(0, 10).replace(/-/g, '')}`;

export function dayOfPartition(name: string): number | null {
  const m = NAME.exec(name);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : null;
}

/** Partitions whose whole day ended more than `retentionDays` before `now`. */
export function expiredPartitions(names: readonly string[], now: number, retentionDays: number): string[] {
  const cutoff = dayStart(now) - retentionDays * DAY_MS;
  return names
    .filter((n) => {
      const d = dayOfPartition(n);
      return d !== null && d + DAY_MS <= cutoff;
    })
    .sort();
}

export function daysBetween(fromTs: number, toTs: number): number[] {
  const out: number[] = [];
  for (let d = dayStart(fromTs); d <= toTs; d += DAY_MS) out.push(d);
  return out;
}

/** Creates the partitions of these days if missing (serialized across sinks by an advisory lock). */
export async function ensurePartitions(db: pg.Pool, days: readonly number[]): Promise<void> {
  if (days.length === 0) return;
  const client = await db.connect();
  const lost = () => {}; // a connection lost between the statements fails the next one
  client.on('error', lost);
  try {
    await client.query('BEGIN');
    await client.query("SELECT pg_advisory_xact_lock(hashtext('wardstream.vitals.partitions'))");
    for (const d of days) {
      const from = new Date(d).toISOString();
      const to = new Date(d + DAY_MS).toISOString();
      await client.query(`CREATE TABLE IF NOT EXISTS ${partitionName(d)} PARTITION OF vitals FOR VALUES FROM ('${from}') TO ('${to}')`);
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.off('error', lost);
    client.release();
  }
}

export async function listPartitions(db: pg.Pool): Promise<string[]> {
  const r = await db.query<{ name: string }>(
    "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'vitals' ORDER BY 1",
  );
  return r.rows.map((x) => x.name);
}

/** Drops expired daily partitions; returns their names. Never touches other tables. */
export async function dropExpired(db: pg.Pool, now: number, retentionDays: number): Promise<string[]> {
  const gone = expiredPartitions(await listPartitions(db), now, retentionDays);
  for (const n of gone) await db.query(`DROP TABLE IF EXISTS ${n}`);
  return gone;
}

/**
 * The days whose partitions this sink knows to exist, so that a batch creates only the missing
 * ones. A failed write forgets its days (a partition dropped meanwhile is created again on the
 * next attempt); dropping expired partitions forgets all but the days just ensured.
 */
export class PartitionDays {
  private readonly known = new Set<number>();
  constructor(private readonly db: pg.Pool) {}

  async ensure(days: Iterable<number>): Promise<void> {
    const missing = [...days].filter((d) => !this.known.has(d));
    if (!missing.length) return;
    await ensurePartitions(this.db, missing);
    for (const d of missing) this.known.add(d);
  }

  forget(days: Iterable<number>): void {
    for (const d of days) this.known.delete(d);
  }

  /** Ensures the partitions from `now` to `aheadDays` ahead and drops those older than `retentionDays`; returns the dropped names. */
  async maintain(now: number, aheadDays: number, retentionDays: number): Promise<string[]> {
    const days = daysBetween(now, now + aheadDays * DAY_MS);
    await ensurePartitions(this.db, days);
    for (const d of days) this.known.add(d);
    const dropped = await dropExpired(this.db, now, retentionDays);
    if (dropped.length) {
      this.known.clear();
      for (const d of days) this.known.add(d);
    }
    return dropped;
  }
}
