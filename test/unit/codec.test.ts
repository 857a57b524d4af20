import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { CodecError, frame, loadSchema, localCodec } from '../../schemas/codec.ts';
import type { AlertEvent, VitalsReading } from '../../schemas/records.ts';

const reading: VitalsReading = {
  patientId: 'p1',
  wardId: 'icu-1',
  bed: '3',
  deviceId: 'mon-1',
  seq: 42,
  ts: 1_700_000_000_000,
  receivedAt: 1_700_000_000_050,
  heartRate: 88,
  spo2: 97,
  respRate: 16,
  systolicBp: 120,
  diastolicBp: 80,
  temperature: 37.1,
  consciousness: 'A',
  onOxygen: false,
  correlationId: 'c-1',
};

describe('Confluent wire format codec', () => {
  const codec = localCodec();

  it('writes magic byte 0 and the 4-byte big-endian schema id', () => {
    const buf = codec.encode('vitals', reading);
    expect(buf[0]).toBe(0);
    expect(buf.readUInt32BE(1)).toBe(codec.schemaId('vitals'));
    expect(codec.schemaId('vitals')).toBe(1);
  });

  it('round-trips every record type', () => {
    expect(codec.decode('vitals', codec.encode('vitals', reading))).toEqual(reading);
    const partial = { ...reading, heartRate: null, spo2: null, consciousness: null, onOxygen: null, bed: null };
    expect(codec.decode('vitals', codec.encode('vitals', partial))).toEqual(partial);
    const dl = {
      reason: 'BRIDGE_ERR_NOT_JSON',
      detail: 'x',
      mqttTopic: 'patients/p1/vitals',
      payload: Buffer.from([0xff, 0x00, 0x7b]),
      receivedAt: 1,
      correlationId: 'c',
    };
    const back = codec.decode('deadLetter', codec.encode('deadLetter', dl));
    expect(Buffer.compare(back.payload, dl.payload)).toBe(0);
    const alert: AlertEvent = {
      eventId: 'a:start',
      alertId: 'a',
      patientId: 'p1',
      wardId: 'icu-1',
      bed: null,
      rule: 'hr-high',
      priority: 'high',
      phase: 'start',
      state: 'active',
      parameter: 'heartRate',
      value: 140,
      threshold: 130,
      onsetTs: 1,
      eventTs: 2,
      message: 'm',
      ruleVersion: 'default-1',
      correlationId: 'c',
      details: { total: 7, heartRate: 3 },
      notify: ['nurse'],
      actor: null,
      actorRole: null,
      groupedWith: null,
      silencedUntil: null,
    };
    expect(codec.decode('alert', codec.encode('alert', alert))).toEqual(alert);
    expect(codec.schemaId('alert')).toBe(5);
    const asg = { patientId: 'p1', wardId: 'w', bed: '1', assignedAt: 5 };
    expect(codec.decode('assignment', codec.encode('assignment', asg))).toEqual(asg);
  });

  it('still reads alert events written with schema version 1 (id 3), filling new fields with defaults', () => {
    const v1 = avro.Type.forSchema(JSON.parse(readFileSync(new URL('../../schemas/alert-event-v1.avsc', import.meta.url), 'utf8')) as avro.Schema);
    const old = {
      eventId: 'a:start',
      alertId: 'a',
      patientId: 'p1',
      wardId: 'w',
      bed: null,
      rule: 'hr-high',
      priority: 'high',
      phase: 'start',
      state: 'active',
      parameter: 'heartRate',
      value: 140,
      threshold: 130,
      onsetTs: 1,
      eventTs: 2,
      message: 'm',
      ruleVersion: 'default-1',
      correlationId: 'c',
    };
    const back = codec.decode('alert', frame(3, v1, old));
    expect(back).toEqual({ ...old, details: null, notify: [], actor: null, actorRole: null, groupedWith: null, silencedUntil: null });
  });

  it('decodes the body with plain Avro after the 5-byte header (interoperable bytes)', () => {
    const type = avro.Type.forSchema(loadSchema('vitals') as avro.Schema);
    const buf = codec.encode('vitals', reading);
    expect(type.fromBuffer(buf.subarray(5))).toEqual(reading);
    expect(Buffer.compare(frame(1, type, reading), buf)).toBe(0);
  });

  it('rejects short input, a wrong magic byte, an unknown id and a schema mismatch', () => {
    expect(() => codec.decode('vitals', Buffer.from([0, 0]))).toThrow(CodecError);
    const good = codec.encode('vitals', reading);
    const badMagic = Buffer.from(good);
    badMagic[0] = 1;
    expect(() => codec.decode('vitals', badMagic)).toThrow(/magic byte 1/);
    const unknown = Buffer.from(good);
    unknown.writeUInt32BE(999, 1);
    expect(() => codec.decode('vitals', unknown)).toThrow(/unknown schema id 999/);
    expect(() => codec.decode('alert', good)).toThrow(/expected dev.wardstream.AlertEvent/);
  });

  it('refuses to encode a record that does not match its schema', () => {
    expect(() => codec.encode('vitals', { ...reading, seq: 'x' } as unknown as VitalsReading)).toThrow();
  });
});
