/**
 * Decoder of PostgreSQL's binary COPY format for the replay's reading stream
 * (`COPY (SELECT ${VITALS_COPY_COLUMNS} …) TO STDOUT (FORMAT binary)`). Pure: bytes in,
 * readings out, no I/O; chunks may split a tuple (or the header) anywhere.
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

/** The select list the decoder expects, in this order. */
export const VITALS_COPY_COLUMNS = 'patient_id, ward_id, bed, device_id, seq, ts, received_at, heart_rate, spo2, resp_rate, systolic_bp, diastolic_bp, temperature, consciousness, on_oxygen, correlation_id';
const FIELDS = 16;

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Milliseconds from the Unix epoch to PostgreSQL's (2000-01-01), whose microseconds timestamps count. */
const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 4_294_967_296;

const fail = (detail: string): never => { throw new WardstreamError('HISTORY_ERR_DECODE', detail); };

export class VitalsCopyDecoder {
  private rest: Buffer | null = null;
  private headerDone = false;
  private ended = false;

  /** The readings completed by this chunk (a tuple split across chunks completes in the next). */
  push(chunk: Buffer): VitalsReading[] {
    let b = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = null;
    let off = 0;
    if (!this.headerDone) {
      if (b.length < 19) { this.rest = b; return []; }
      if (!b.subarray(0, 11).equals(SIGNATURE)) fail('not a binary COPY stream (bad signature)');
      const ext = b.readInt32BE(15);
      if (b.length < 19 + ext) { this.rest = b; return []; }
      off = 19 + ext;
      this.headerDone = true;
    }
    const out: VitalsReading[] = [];
    const n = b.length;
    while (off + 2 <= n) {
      if (this.ended) fail('data after the end of the COPY stream');
      const start = off;
      const count = b.readInt16BE(off);
      if (count === -1) { this.ended = true; off += 2; continue; }
      if (count !== FIELDS) fail(`a tuple of ${count} fields, expected ${FIELDS}`);
      const r = decodeTuple(b, off + 2, n);
      if (r === null) { off = start; break; }
      out.push(r.reading);
      off = r.end;
    }
    if (off < n) this.rest = b.subarray(off);
    return out;
  }

  /** Throws unless the stream ended cleanly (trailer seen, nothing left over). */
  end(): void {
    if (!this.ended || this.rest) fail(this.rest ? `${this.rest.length} bytes of an incomplete tuple at the end of the COPY stream` : 'the COPY stream ended without its trailer');
  }
}

// Field readers. Each returns the offset after the field, or -1 when the chunk ends inside it;
// the value is left in `v` (one shared scratch record: no allocation per field).
const v = { s: null as string | null, x: NaN as number, isNull: false };

function text(b: Buffer, off: number, n: number): number {
  if (off + 4 > n) return -1;
  const len = b.readInt32BE(off);
  off += 4;
  if (len < 0) { v.s = null; return off; }
  if (off + len > n) return -1;
  v.s = b.toString('utf8', off, off + len);
  return off + len;
}

/** int8 and timestamptz (both 8-byte big-endian integers; values here stay within 2^53). */
function int64(b: Buffer, off: number, n: number): number {
  if (off + 4 > n) return -1;
  const len = b.readInt32BE(off);
  off += 4;
  if (len < 0) { v.isNull = true; return off; }
  if (len !== 8 || off + 8 > n) return len !== 8 ? fail(`an 8-byte integer field of ${len} bytes`) : -1;
  v.isNull = false;
  v.x = b.readInt32BE(off) * TWO_32 + b.readUInt32BE(off + 4);
  return off + 8;
}

function float8(b: Buffer, off: number, n: number): number {
  if (off + 4 > n) return -1;
  const len = b.readInt32BE(off);
  off += 4;
  if (len < 0) { v.isNull = true; return off; }
  if (len !== 8 || off + 8 > n) return len !== 8 ? fail(`a float8 field of ${len} bytes`) : -1;
  v.isNull = false;
  v.x = b.readDoubleBE(off);
  return off + 8;
}

function bool(b: Buffer, off: number, n: number): number {
  if (off + 4 > n) return -1;
  const len = b.readInt32BE(off);
  off += 4;
  if (len < 0) { v.isNull = true; return off; }
  if (off + 1 > n) return -1;
  v.isNull = false;
  v.x = b[off]!;
  return off + len;
}

function decodeTuple(b: Buffer, off: number, n: number): { reading: VitalsReading; end: number } | null {
  if ((off = text(b, off, n)) < 0) return null;
  const patientId = v.s;
  if ((off = text(b, off, n)) < 0) return null;
  const wardId = v.s;
  if ((off = text(b, off, n)) < 0) return null;
  const bed = v.s;
  if ((off = text(b, off, n)) < 0) return null;
  const deviceId = v.s;
  if ((off = int64(b, off, n)) < 0) return null;
  const seq = v.x;
  if ((off = int64(b, off, n)) < 0) return null;
  const ts = Math.round(v.x / 1000) + PG_EPOCH_MS;
  if ((off = int64(b, off, n)) < 0) return null;
  const receivedAt = Math.round(v.x / 1000) + PG_EPOCH_MS;
  if ((off = float8(b, off, n)) < 0) return null;
  const heartRate = v.isNull ? null : v.x;
  if ((off = float8(b, off, n)) < 0) return null;
  const spo2 = v.isNull ? null : v.x;
  if ((off = float8(b, off, n)) < 0) return null;
  const respRate = v.isNull ? null : v.x;
  if ((off = float8(b, off, n)) < 0) return null;
  const systolicBp = v.isNull ? null : v.x;
  if ((off = float8(b, off, n)) < 0) return null;
  const diastolicBp = v.isNull ? null : v.x;
  if ((off = float8(b, off, n)) < 0) return null;
  const temperature = v.isNull ? null : v.x;
  if ((off = text(b, off, n)) < 0) return null;
  const consciousness = v.s as Acvpu | null;
  if ((off = bool(b, off, n)) < 0) return null;
  const onOxygen = v.isNull ? null : v.x !== 0;
  if ((off = text(b, off, n)) < 0) return null;
  const correlationId = v.s;
  if (patientId === null || wardId === null || deviceId === null || correlationId === null) fail('a NOT NULL column is NULL');
  return {
    reading: {
      patientId: patientId!, wardId: wardId!, bed, deviceId: deviceId!, seq, ts, receivedAt,
      heartRate, spo2, respRate, systolicBp, diastolicBp, temperature, consciousness, onOxygen, correlationId: correlationId!,
    },
    end: off,
  };
}
