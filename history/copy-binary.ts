/**
 * PostgreSQL's binary COPY format for readings, both ways: the replay's stream
 * (`COPY (SELECT ${VITALS_COPY_COLUMNS} …) TO STDOUT (FORMAT binary)`, decoded by
 * `VitalsCopyDecoder`; chunks may split a tuple or the header anywhere) and the sink's bulk
 * load (`encodeVitalsCopy`). Pure: bytes in, readings out and back, no I/O.
 *
 * Why not rows through the driver: node-pg turns every field of every row into a string before
 * any type parser sees it (16 strings and number parses per reading), which cost more than the
 * rule engine itself; PostgreSQL's float → decimal text conversion was the largest server-side
 * cost too. Binary COPY sends doubles and timestamps as their 8 bytes, and only the identifiers
 * become strings (benchmarks/README.md §6).
 *
 * Format (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"): an 11-byte
 * signature, int32 flags, int32 header-extension length and the extension; then per tuple an
 * int16 field count and, per field, an int32 length (-1 = NULL) and the value in the type's
 * binary (send) form; an int16 of -1 ends the data.
 */
import { WardstreamError } from '../common/errors.ts';
import type { Acvpu, VitalsReading } from '../schemas/records.ts';

/** The columns of both directions, in the `vitals` table's own order. */
export const VITALS_COPY_COLUMNS =
  'patient_id, ts, device_id, seq, ward_id, bed, received_at, heart_rate, spo2, resp_rate, systolic_bp, diastolic_bp, temperature, consciousness, on_oxygen, correlation_id';
const FIELDS = 16;

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Milliseconds from the Unix epoch to PostgreSQL's (2000-01-01), whose microseconds timestamps count. */
export const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 4_294_967_296;

const fail = (detail: string): never => {
  throw new WardstreamError('HISTORY_ERR_DECODE', detail);
};

/** Offset of the first tuple of a binary COPY stream (after signature, flags and header extension), or -1 if `b` does not hold the whole header yet. */
export function copyDataStart(b: Buffer): number {
  if (b.length < 19) return -1;
  if (!b.subarray(0, 11).equals(SIGNATURE)) fail('not a binary COPY stream (bad signature)');
  const start = 19 + b.readInt32BE(15);
  return b.length < start ? -1 : start;
}

export class VitalsCopyDecoder {
  private rest: Buffer | null = null;
  private headerDone = false;
  private ended = false;

  /** The readings completed by this chunk (a tuple split across chunks completes in the next). */
  push(chunk: Buffer): VitalsReading[] {
    const b = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = null;
    let off = 0;
    if (!this.headerDone) {
      const start = copyDataStart(b);
      if (start < 0) {
        this.rest = b;
        return [];
      }
      off = start;
      this.headerDone = true;
    }
    const out: VitalsReading[] = [];
    const n = b.length;
    while (off + 2 <= n) {
      if (this.ended) fail('data after the end of the COPY stream');
      const start = off;
      const count = b.readInt16BE(off);
      if (count === -1) {
        this.ended = true;
        off += 2;
        continue;
      }
      if (count !== FIELDS) fail(`a tuple of ${count} fields, expected ${FIELDS}`);
      const r = decodeTuple(b, off + 2, n);
      if (r === null) {
        off = start;
        break;
      }
      out.push(r.reading);
      off = r.end;
    }
    if (off < n) this.rest = b.subarray(off);
    return out;
  }

  /** Throws unless the stream ended cleanly (trailer seen, nothing left over). */
  end(): void {
    if (!this.ended || this.rest)
      fail(this.rest ? `${this.rest.length} bytes of an incomplete tuple at the end of the COPY stream` : 'the COPY stream ended without its trailer');
  }
}

// Field readers. Each returns the offset after the field, or -1 when the chunk ends inside it;
// the value is left in `v` (one shared scratch record: no allocation per field).
const v = { s: null as string | null, x: NaN as number, isNull: false };

// Identifiers repeat from row to row (the stream is in patient order): a text column whose bytes
// equal the previous row's reuses its string instead of decoding a new one.
const MAX_CACHED = 64;
const lastBytes = Array.from({ length: 16 }, () => Buffer.alloc(MAX_CACHED));
const lastLen = new Array<number>(16).fill(-1);
const lastStr = new Array<string | null>(16).fill(null);

function text(b: Buffer, off: number, n: number, col = -1): number {
  if (off + 4 > n) return -1;
  const len = b.readInt32BE(off);
  off += 4;
  if (len < 0) {
    v.s = null;
    return off;
  }
  if (off + len > n) return -1;
  if (col >= 0 && len <= MAX_CACHED) {
    const prev = lastBytes[col]!;
    let same = lastLen[col] === len;
    for (let i = 0; same && i < len; i++) same = prev[i] === b[off + i];
    if (!same) {
      b.copy(prev, 0, off, off + len);
      lastLen[col] = len;
      lastStr[col] = b.toString('utf8', off, off + len);
    }
    v.s = lastStr[col]!;
    return off + len;
  }
  v.s = b.toString('utf8', off, off + len);
  return off + len;
}

// Fixed-size fields: int8 and timestamptz (8-byte big-endian integers; values here stay within
// 2^53), float8, bool.
const INT64 = 0,
  FLOAT8 = 1,
  BOOL = 2;
const SIZE = [8, 8, 1];
const KIND = ['an 8-byte integer', 'a float8', 'a bool'];
function fixed(b: Buffer, off: number, n: number, kind: number): number {
  if (off + 4 > n) return -1;
  const len = b.readInt32BE(off);
  off += 4;
  if (len < 0) {
    v.isNull = true;
    return off;
  }
  if (len !== SIZE[kind]) fail(`${KIND[kind]!} field of ${len} bytes`);
  if (off + len > n) return -1;
  v.isNull = false;
  v.x = kind === INT64 ? b.readInt32BE(off) * TWO_32 + b.readUInt32BE(off + 4) : kind === FLOAT8 ? b.readDoubleBE(off) : b[off]!;
  return off + len;
}

function decodeTuple(b: Buffer, off: number, n: number): { reading: VitalsReading; end: number } | null {
  if ((off = text(b, off, n, 0)) < 0) return null;
  const patientId = v.s;
  if ((off = fixed(b, off, n, INT64)) < 0) return null;
  const ts = Math.round(v.x / 1000) + PG_EPOCH_MS;
  if ((off = text(b, off, n, 2)) < 0) return null;
  const deviceId = v.s;
  if ((off = fixed(b, off, n, INT64)) < 0) return null;
  const seq = v.x;
  if ((off = text(b, off, n, 4)) < 0) return null;
  const wardId = v.s;
  if ((off = text(b, off, n, 5)) < 0) return null;
  const bed = v.s;
  if ((off = fixed(b, off, n, INT64)) < 0) return null;
  const receivedAt = Math.round(v.x / 1000) + PG_EPOCH_MS;
  if ((off = fixed(b, off, n, FLOAT8)) < 0) return null;
  const heartRate = v.isNull ? null : v.x;
  if ((off = fixed(b, off, n, FLOAT8)) < 0) return null;
  const spo2 = v.isNull ? null : v.x;
  if ((off = fixed(b, off, n, FLOAT8)) < 0) return null;
  const respRate = v.isNull ? null : v.x;
  if ((off = fixed(b, off, n, FLOAT8)) < 0) return null;
  const systolicBp = v.isNull ? null : v.x;
  if ((off = fixed(b, off, n, FLOAT8)) < 0) return null;
  const diastolicBp = v.isNull ? null : v.x;
  if ((off = fixed(b, off, n, FLOAT8)) < 0) return null;
  const temperature = v.isNull ? null : v.x;
  if ((off = text(b, off, n, 13)) < 0) return null;
  const consciousness = v.s as Acvpu | null;
  if ((off = fixed(b, off, n, BOOL)) < 0) return null;
  const onOxygen = v.isNull ? null : v.x !== 0;
  if ((off = text(b, off, n)) < 0) return null;
  const correlationId = v.s;
  if (patientId === null || wardId === null || deviceId === null || correlationId === null) fail('a NOT NULL column is NULL');
  return {
    reading: {
      patientId: patientId!,
      wardId: wardId!,
      bed,
      deviceId: deviceId!,
      seq,
      ts,
      receivedAt,
      heartRate,
      spo2,
      respRate,
      systolicBp,
      diastolicBp,
      temperature,
      consciousness,
      onOxygen,
      correlationId: correlationId!,
    },
    end: off,
  };
}

// ---------------------------------------------------------------- encoder (the sink)

/**
 * Readings as one binary COPY stream in VITALS_COPY_COLUMNS order, for
 * `COPY … FROM STDIN (FORMAT binary)`: the sink's bulk path. Sizes are computed first, so the
 * whole batch is one allocation.
 */
export function encodeVitalsCopy(rows: readonly VitalsReading[]): Buffer {
  const len = (x: string | null) => (x === null ? 0 : Buffer.byteLength(x, 'utf8'));
  const f8len = (x: number | null) => (x === null ? 0 : 8);
  let size = 19 + 2;
  for (const r of rows) {
    size +=
      2 +
      16 * 4 +
      3 * 8 +
      (r.onOxygen === null ? 0 : 1) + // field count, lengths, ts/seq/received_at, bool
      len(r.patientId) +
      len(r.deviceId) +
      len(r.wardId) +
      len(r.bed) +
      len(r.consciousness) +
      len(r.correlationId) +
      f8len(r.heartRate) +
      f8len(r.spo2) +
      f8len(r.respRate) +
      f8len(r.systolicBp) +
      f8len(r.diastolicBp) +
      f8len(r.temperature);
  }
  const b = Buffer.allocUnsafe(size);
  SIGNATURE.copy(b, 0);
  b.writeInt32BE(0, 11); // flags
  b.writeInt32BE(0, 15); // no header extension
  let off = 19;
  const str = (x: string | null) => {
    if (x === null) {
      b.writeInt32BE(-1, off);
      off += 4;
      return;
    }
    const len = b.write(x, off + 4, 'utf8');
    b.writeInt32BE(len, off);
    off += 4 + len;
  };
  const i64 = (x: number) => {
    const hi = Math.floor(x / TWO_32);
    b.writeInt32BE(8, off);
    b.writeInt32BE(hi, off + 4);
    b.writeUInt32BE(x - hi * TWO_32, off + 8);
    off += 12;
  };
  const f8 = (x: number | null) => {
    if (x === null) {
      b.writeInt32BE(-1, off);
      off += 4;
      return;
    }
    b.writeInt32BE(8, off);
    b.writeDoubleBE(x, off + 4);
    off += 12;
  };
  for (const r of rows) {
    b.writeInt16BE(FIELDS, off);
    off += 2;
    str(r.patientId);
    i64((r.ts - PG_EPOCH_MS) * 1000);
    str(r.deviceId);
    i64(r.seq);
    str(r.wardId);
    str(r.bed);
    i64((r.receivedAt - PG_EPOCH_MS) * 1000);
    f8(r.heartRate);
    f8(r.spo2);
    f8(r.respRate);
    f8(r.systolicBp);
    f8(r.diastolicBp);
    f8(r.temperature);
    str(r.consciousness);
    if (r.onOxygen === null) {
      b.writeInt32BE(-1, off);
      off += 4;
    } else {
      b.writeInt32BE(1, off);
      b[off + 4] = r.onOxygen ? 1 : 0;
      off += 5;
    }
    str(r.correlationId);
  }
  b.writeInt16BE(-1, off);
  off += 2;
  if (off !== size) fail(`encoded ${off} bytes, sized ${size}`);
  return b;
}
