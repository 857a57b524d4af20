/**
 * Replay source: the sink's PostgreSQL tables. Readings stream as binary COPY in primary-key
 * order (patient, ts, device, seq), so memory holds one patient at a time; actions and the live
 * alerts of the period are small and read with plain queries. Worker threads each stream the
 * patients whose hashtext(patient_id) falls in their shard, on a connection of their own.
 */
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { AlertAction, AlertEvent, VitalsReading } from '../../../schemas/records.ts';
import { partitionForWard } from '../../../schemas/topics.ts';
import { VITALS_COPY_COLUMNS, VitalsCopyDecoder } from '../../copy-binary.ts';
import type { ReplayArgs } from '../args.ts';
import { patientShardSql } from '../shards.ts';
import { addAction, type Shard, type ShardSpec, type Source, type SourceMeta } from '../source.ts';

function rowToAlert(x: Record<string, unknown>): AlertEvent {
  const ms = (d: unknown) => (d === null ? null : (d as Date).getTime());
  return {
    eventId: x.event_id as string,
    alertId: x.alert_id as string,
    patientId: x.patient_id as string,
    wardId: x.ward_id as string,
    bed: x.bed as string | null,
    rule: x.rule as string,
    priority: x.priority as AlertEvent['priority'],
    phase: x.phase as AlertEvent['phase'],
    state: x.state as AlertEvent['state'],
    parameter: x.parameter as string | null,
    value: x.value as number | null,
    threshold: x.threshold as number | null,
    onsetTs: ms(x.onset_ts)!,
    eventTs: ms(x.event_ts)!,
    message: x.message as string,
    ruleVersion: x.rule_version as string,
    correlationId: x.correlation_id as string,
    details: x.details as Record<string, number> | null,
    notify: x.notify as string[],
    actor: x.actor as string | null,
    actorRole: x.actor_role as string | null,
    groupedWith: x.grouped_with as string | null,
    silencedUntil: ms(x.silenced_until),
  };
}

/**
 * One patient's readings at a time, in primary-key order, streamed with binary COPY on `client`
 * (a read-only transaction of its own; history/copy-binary.ts decodes). `where` is SQL with
 * literals only: COPY takes no bind parameters. Used in-process and by replay workers. Flow
 * control is TCP's: PostgreSQL produces rows on its core while the engine runs on this one, and
 * waits when this side falls behind. If the consumer stops early, `discard` is called: the
 * connection is mid-COPY and must not be reused.
 */
export async function* streamPatients(client: pg.ClientBase, where: string, discard: () => void): AsyncGenerator<VitalsReading[]> {
  let finished = false;
  try {
    await client.query('BEGIN READ ONLY');
    // Walk the primary key (patient_id, ts, device_id, seq), which is the order needed, rather
    // than sort the range: a sort delays the first patient until the whole range is read (and
    // spills to disk for weeks of history); the index delivers patients as it goes.
    await client.query('SET LOCAL enable_sort = off');
    const stream = client.query(
      copyTo(`COPY (SELECT ${VITALS_COPY_COLUMNS} FROM vitals WHERE ${where} ORDER BY patient_id, ts, device_id, seq) TO STDOUT (FORMAT binary)`),
    );
    const decoder = new VitalsCopyDecoder();
    let group: VitalsReading[] = [];
    for await (const chunk of stream) {
      for (const r of decoder.push(chunk as Buffer)) {
        if (group.length && group[0]!.patientId !== r.patientId) {
          yield group;
          group = [];
        }
        group.push(r);
      }
    }
    decoder.end();
    if (group.length) yield group;
    await client.query('COMMIT');
    finished = true;
  } finally {
    if (!finished) discard();
  }
}

/**
 * The replay's filters as SQL with literals, for every query of the PostgreSQL source: COPY takes
 * no bind parameters, and one builder keeps the readings, their counts, actions and live alerts
 * under the same filter. Times are integers; identifiers are quoted by pg.escapeLiteral.
 *   range  `column` within [from, args.to)
 *   scope  the ward and patient filters (and `patients`, e.g. the timeline patients)
 */
export function filterSql(args: ReplayArgs, o: { column?: string; from?: number; patients?: readonly string[] } = {}): { range: string; scope: string[] } {
  const col = o.column ?? 'ts';
  const list = (xs: readonly string[]) => `ARRAY[${xs.map((x) => pg.escapeLiteral(x)).join(', ')}]::text[]`;
  const scope: string[] = [];
  if (args.wards.length) scope.push(`ward_id = ANY(${list(args.wards)})`);
  if (args.patients.length) scope.push(`patient_id = ANY(${list(args.patients)})`);
  if (o.patients) scope.push(`patient_id = ANY(${list(o.patients)})`);
  const from = Math.trunc(o.from ?? args.from - args.warmupMs);
  return { range: `${col} >= to_timestamp(${from} / 1000.0) AND ${col} < to_timestamp(${Math.trunc(args.to)} / 1000.0)`, scope };
}
export const whereOf = (f: { range: string; scope: readonly string[] }): string => [f.range, ...f.scope].join(' AND ');

/**
 * Opens the PostgreSQL source. `workersUrl` set: the readings are left to worker threads (each
 * connects to that URL); otherwise they stream in this thread.
 */
export async function postgresSource(pool: pg.Pool, args: ReplayArgs, partitions: number, workersUrl: string | null): Promise<Source> {
  const readings = filterSql(args);
  const where = whereOf(readings);
  // The readings' stream is opened first, on a connection of its own, so that PostgreSQL
  // walks the index while the small queries below run; the first patient is fetched now and
  // handed out by patients(). (Worker threads open streams of their own: openPostgresShard.)
  const streamClient = workersUrl === null ? await pool.connect() : null;
  let released = false;
  const release = (broken?: Error) => {
    if (!released) {
      released = true;
      streamClient?.release(broken);
    }
  };
  const stream = streamClient
    ? streamPatients(streamClient, where, () => release(new Error('replay stream abandoned mid-COPY')))
    : (async function* (): AsyncGenerator<VitalsReading[]> {})();
  const first = stream.next();
  first.catch(() => {}); // observed by patients(), or dropped by close()
  try {
    // Not awaited: one scan for the newest reading per ward in range (the live partitions' final
    // watermarks, all patients), the number of readings (the filtered ones) and the live alerts
    // of the period. Only the final timers of each patient need it (runReplay holds them back
    // until it arrives), so the readings do not wait for a scan of the whole range.
    const meta = (async (): Promise<SourceMeta> => {
      const [perWard, cur] = await Promise.all([
        pool.query<{ ward_id: string; max: number; n: string }>(
          `SELECT ward_id, (extract(epoch FROM max(ts)) * 1000)::bigint AS max, count(*) ${readings.scope.length ? `FILTER (WHERE ${readings.scope.join(' AND ')})` : ''} AS n
           FROM vitals WHERE ${readings.range} GROUP BY ward_id`,
        ),
        pool.query(`SELECT * FROM alert_events WHERE ${whereOf(filterSql(args, { column: 'event_ts', from: args.from }))}`),
      ]);
      const wardsSeen = new Set(perWard.rows.map((r) => r.ward_id));
      const partitionMaxTs = new Map<number, number>();
      for (const r of perWard.rows) {
        const p = partitionForWard(r.ward_id, partitions);
        partitionMaxTs.set(p, Math.max(partitionMaxTs.get(p) ?? 0, Number(r.max)));
      }
      return { wardsSeen, partitionMaxTs, total: perWard.rows.reduce((a, r) => a + Number(r.n), 0), current: cur.rows.map(rowToAlert) };
    })();
    meta.catch(() => {}); // awaited by runReplay

    const acts = await pool.query(
      `SELECT action_id, alert_id, patient_id, ward_id, action, duration_ms, user_id, role, (extract(epoch FROM ts) * 1000)::bigint AS ts FROM alert_actions WHERE ${where} ORDER BY ts, action_id`,
    );
    const actions = new Map<string, AlertAction[]>();
    for (const x of acts.rows) {
      addAction(actions, {
        actionId: x.action_id,
        alertId: x.alert_id,
        patientId: x.patient_id,
        wardId: x.ward_id,
        action: x.action,
        durationMs: x.duration_ms,
        user: x.user_id,
        role: x.role,
        ts: Number(x.ts),
      });
    }

    const common = {
      meta,
      actions,
      close: async () => {
        await stream.return(undefined).catch(() => {});
        release();
        await meta.catch(() => {});
      },
      async readingsOf(ids: readonly string[]) {
        const client = await pool.connect();
        let ok = false;
        const out = new Map<string, VitalsReading[]>();
        try {
          for await (const rs of streamPatients(client, whereOf(filterSql(args, { patients: ids })), () => {})) out.set(rs[0]!.patientId, rs);
          ok = true;
        } finally {
          client.release(ok ? undefined : new Error('replay query abandoned'));
        }
        return out;
      },
    };
    if (workersUrl !== null) {
      return {
        ...common,
        readers: 'workers',
        shards: (n, m) =>
          Array.from({ length: n }, (_, i) => ({
            source: 'postgres',
            url: workersUrl,
            where: `${where} AND ${patientShardSql(n, i)}`,
            partitionMaxTs: [...m.partitionMaxTs],
          })),
      };
    }
    return {
      ...common,
      readers: 'this-thread',
      async *patients() {
        try {
          const r = await first;
          if (r.done) return;
          yield r.value;
          yield* stream;
        } finally {
          await stream.return(undefined);
          release();
        }
      },
    };
  } catch (e) {
    await stream.return(undefined).catch(() => {});
    release();
    throw e;
  }
}

/** A worker's share: its own connection and COPY stream; the watermarks come from the parent's meta. */
export async function openPostgresShard(spec: Extract<ShardSpec, { source: 'postgres' }>): Promise<Shard> {
  const client = new pg.Client({ connectionString: spec.url });
  await client.connect();
  return {
    patients: () => streamPatients(client, spec.where, () => {}),
    partitionMaxTs: new Map(spec.partitionMaxTs),
    wardsSeen: new Set(),
    close: () => client.end(),
  };
}
