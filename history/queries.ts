/**
 * Reads of the history tables that dashboards and analysts need. No production code calls this
 * module yet: the central station's HTTP API (issue #16) will; until then it is used by the
 * sink's integration test and benchmarks/history.ts (the query benchmark).
 *
 * `patientVitals`: one patient's vitals over a time range, as columns (Float64Array, NaN where a
 * reading had no value), for charts. It streams `COPY (…) TO STDOUT (FORMAT binary)` from an
 * index-only scan of the covering primary key (migration 0002) and decodes the binary tuples
 * directly: a row-by-row query through the driver spent most of its time building row objects
 * (benchmarks/README.md, "History"). node-pg's own binary result mode cannot be used for this:
 * its protocol parser decodes every field as UTF-8 text first.
 */
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { WardstreamError } from '../common/errors.ts';
import { VITAL_NAMES, type VitalName } from '../schemas/records.ts';
import { copyDataStart, PG_EPOCH_MS } from './copy-binary.ts';

/** One patient's vitals as columns: `values[name][i]` was measured at `ts[i]` (NaN: not in that reading). */
export interface PatientVitals {
  readonly ts: Float64Array;
  readonly values: Readonly<Record<VitalName, Float64Array>>;
  readonly count: number;
}

/** The vitals' columns, in VITAL_NAMES order (heartRate → heart_rate). */
const VITAL_COLUMNS = VITAL_NAMES.map((n) => n.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)).join(', ');

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

export async function patientVitals(pool: pg.Pool, patientId: string, fromMs: number, toMs: number): Promise<PatientVitals> {
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) throw new WardstreamError('HISTORY_ERR_BAD_QUERY', 'time range must be finite epoch milliseconds');
  // COPY takes no bind parameters: the id is quoted as a literal, the times are integers.
  const sql = `COPY (SELECT ts, ${VITAL_COLUMNS} FROM vitals
    WHERE patient_id = ${literal(patientId)} AND ts >= to_timestamp(${Math.trunc(fromMs)} / 1000.0) AND ts < to_timestamp(${Math.trunc(toMs)} / 1000.0)
    ORDER BY ts) TO STDOUT WITH (FORMAT binary)`;
  const client = await pool.connect();
  const chunks: Buffer[] = [];
  try {
    // 'data' events, not `for await`: COPY sends one message per row, and an async iterator
    // costs a promise per chunk (86,400 for a day at 1 Hz).
    await new Promise<void>((resolve, reject) => {
      const stream = client.query(copyTo(sql));
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
  } finally {
    client.release();
  }
  const b = Buffer.concat(chunks);
  // Binary COPY (history/copy-binary.ts): the header, then tuples of int16 field count and
  // (int32 length, bytes) per field; -1 ends the stream.
  let off = copyDataStart(b);
  if (off < 0) throw new WardstreamError('HISTORY_ERR_DECODE', 'binary COPY stream shorter than its header');
  const max = Math.max(0, Math.floor((b.length - off) / 38)); // smallest tuple: every vital null
  const ts = new Float64Array(max);
  const cols = VITAL_NAMES.map(() => new Float64Array(max));
  let n = 0;
  for (;;) {
    const fields = b.readInt16BE(off);
    off += 2;
    if (fields === -1) break;
    off += 4; // ts is never null: 8 bytes, microseconds since 2000-01-01
    ts[n] = Number(b.readBigInt64BE(off)) / 1000 + PG_EPOCH_MS;
    off += 8;
    for (let k = 0; k < VITAL_NAMES.length; k++) {
      const len = b.readInt32BE(off);
      off += 4;
      if (len < 0) cols[k]![n] = NaN;
      else {
        cols[k]![n] = b.readDoubleBE(off);
        off += len;
      }
    }
    n++;
  }
  const values = Object.fromEntries(VITAL_NAMES.map((s, k) => [s, cols[k]!.subarray(0, n)])) as Record<VitalName, Float64Array>;
  return { ts: ts.subarray(0, n), values, count: n };
}
