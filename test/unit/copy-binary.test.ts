import { describe, expect, it } from 'vitest';
import { encodeVitalsCopy, VitalsCopyDecoder } from '../../history/copy-binary.ts';
import type { VitalsReading } from '../../schemas/records.ts';

// A binary COPY stream written by hand from the format's documentation, field by field as
// PostgreSQL sends them for the vitals columns (text, int8, timestamptz, float8, bpchar, bool).
const PG_EPOCH_MS = 946_684_800_000;
const field = (b: Buffer | null) => (b === null ? i32(-1) : Buffer.concat([i32(b.length), b]));
const i16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const i64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
};
const f64 = (n: number | null) => {
  if (n === null) return null;
  const b = Buffer.alloc(8);
  b.writeDoubleBE(n);
  return b;
};
const txt = (s: string | null) => (s === null ? null : Buffer.from(s, 'utf8'));

function tuple(r: VitalsReading): Buffer {
  return Buffer.concat([
    i16(16),
    ...[
      txt(r.patientId),
      i64((r.ts - PG_EPOCH_MS) * 1000),
      txt(r.deviceId),
      i64(r.seq),
      txt(r.wardId),
      txt(r.bed),
      i64((r.receivedAt - PG_EPOCH_MS) * 1000),
      f64(r.heartRate),
      f64(r.spo2),
      f64(r.respRate),
      f64(r.systolicBp),
      f64(r.diastolicBp),
      f64(r.temperature),
      txt(r.consciousness),
      r.onOxygen === null ? null : Buffer.from([r.onOxygen ? 1 : 0]),
      txt(r.correlationId),
    ].map(field),
  ]);
}
const header = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), i32(0), i32(3), Buffer.from('abc')]);
const trailer = i16(-1);

const readings: VitalsReading[] = [
  {
    patientId: 'p-1',
    wardId: 'icu-a',
    bed: '12',
    deviceId: 'mon:7',
    seq: 2 ** 40 + 3,
    ts: Date.UTC(2026, 10, 26, 8, 0, 0, 123),
    receivedAt: Date.UTC(2026, 10, 26, 8, 0, 0, 130),
    heartRate: 72.5,
    spo2: 97,
    respRate: 14,
    systolicBp: 121,
    diastolicBp: 79,
    temperature: 36.85,
    consciousness: 'A',
    onOxygen: false,
    correlationId: '6f1c0a4e-93b5-4a39-9b61-0f2a8f0d6c11',
  },
  {
    patientId: 'p-1',
    wardId: 'icu-a',
    bed: null,
    deviceId: 'mon:7',
    seq: 0,
    ts: Date.UTC(1999, 0, 1),
    receivedAt: Date.UTC(1999, 0, 1, 0, 0, 1),
    heartRate: null,
    spo2: null,
    respRate: null,
    systolicBp: null,
    diastolicBp: null,
    temperature: null,
    consciousness: null,
    onOxygen: null,
    correlationId: 'c',
  },
  {
    patientId: 'patient-ü-二',
    wardId: 'ward-é',
    bed: 'lit 3',
    deviceId: 'd',
    seq: 9,
    ts: Date.UTC(2026, 0, 1),
    receivedAt: Date.UTC(2026, 0, 1),
    heartRate: 0,
    spo2: 0,
    respRate: 60,
    systolicBp: 300,
    diastolicBp: 20,
    temperature: 43.2,
    consciousness: 'U',
    onOxygen: true,
    correlationId: 'x',
  },
];
const stream = Buffer.concat([header, ...readings.map(tuple), trailer]);

describe('binary COPY decoder (replay stream)', () => {
  it('decodes every field, NULLs, negative times (before 2000), int8 beyond 32 bits and UTF-8 ids', () => {
    const d = new VitalsCopyDecoder();
    expect(d.push(stream)).toEqual(readings);
    expect(() => d.end()).not.toThrow();
  });

  it('gives the same readings whatever the chunk boundaries (every split point, and byte by byte)', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new VitalsCopyDecoder();
      const got = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      expect(got, `split at byte ${cut}`).toEqual(readings);
      d.end();
    }
    const d = new VitalsCopyDecoder();
    const got: VitalsReading[] = [];
    for (let i = 0; i < stream.length; i++) got.push(...d.push(stream.subarray(i, i + 1)));
    expect(got).toEqual(readings);
    d.end();
  });

  it('refuses what is not its stream with a clear error instead of wrong readings', () => {
    expect(() => new VitalsCopyDecoder().push(Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\x01', 'latin1'), i32(0), i32(0)]))).toThrow(/bad signature/);
    const wrongWidth = Buffer.concat([header, i16(3), field(txt('a')), field(txt('b')), field(txt('c')), trailer]);
    expect(() => new VitalsCopyDecoder().push(wrongWidth)).toThrow(/3 fields, expected 16/);
    const shortFloat = Buffer.concat([header, tuple(readings[0]!)]);
    shortFloat.writeInt32BE(4, shortFloat.indexOf(f64(readings[0]!.heartRate)!) - 4); // heart_rate claims 4 bytes
    expect(() => new VitalsCopyDecoder().push(shortFloat)).toThrow(/a float8 field of 4 bytes/);
    const truncated = new VitalsCopyDecoder();
    truncated.push(stream.subarray(0, stream.length - 10));
    expect(() => truncated.end()).toThrow(/incomplete tuple/);
    const noTrailer = new VitalsCopyDecoder();
    noTrailer.push(stream.subarray(0, stream.length - 2));
    expect(() => noTrailer.end()).toThrow(/without its trailer/);
  });

  it('encodes readings (the sink) into exactly the stream written by hand, which decodes back to them', () => {
    const withExt = Buffer.concat([header.subarray(0, 15), i32(0), ...readings.map(tuple), trailer]);
    expect(encodeVitalsCopy(readings).equals(withExt)).toBe(true);
    const d = new VitalsCopyDecoder();
    expect(d.push(encodeVitalsCopy(readings))).toEqual(readings);
    d.end();
    expect(encodeVitalsCopy([]).equals(Buffer.concat([header.subarray(0, 15), i32(0), trailer]))).toBe(true);
  });
});
