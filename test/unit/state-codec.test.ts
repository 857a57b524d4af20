/**
 * The processor-state changelog encoding: golden fixtures of each version, upgrade from the
 * legacy JSON, validation on decode.
 *
 * Fixtures (test/fixtures/processor-state/): v0.json.bin was written by the JSON codec of the
 * release before v1 (git 00dbfd7) from a scripted patient (two devices with gaps and one in
 * order, condition episodes pending and active, a NEWS2 episode, trend windows, technical and
 * latched, acknowledged and silenced alerts); v1.bin is that state in v1; expected.json is the
 * state both decode to.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WardstreamError } from '../../common/errors.ts';
import { type PatientState, step } from '../../processors/engine.ts';
import { DEFAULT_RULE_FILE, loadRuleFile } from '../../processors/rulebook.ts';
import { decodeState, encodeState } from '../../processors/state-codec.ts';
import { localCodec } from '../../schemas/codec.ts';

const dir = new URL('../fixtures/processor-state/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, dir));
const expected = JSON.parse(fixture('expected.json').toString('utf8')) as PatientState;
const codes = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof WardstreamError ? e.code : `not a WardstreamError: ${String(e)}`;
  }
  return 'no error';
};

describe('processor state v1 (Avro, Confluent wire format)', () => {
  it('decodes the golden v1 bytes to the expected state, and re-encodes them byte for byte', () => {
    const bytes = fixture('v1.bin');
    expect(bytes[0]).toBe(0);
    expect(bytes.readUInt32BE(1)).toBe(localCodec().schemaId('processorState'));
    const s = decodeState(bytes);
    expect(s).toEqual(expected);
    expect(Buffer.compare(encodeState(s), bytes)).toBe(0);
  });

  it('throws PROCESSOR_ERR_STATE_VERSION for a schema id it does not know', () => {
    const bytes = Buffer.from(fixture('v1.bin'));
    bytes.writeUInt32BE(999, 1);
    expect(codes(() => decodeState(bytes))).toBe('PROCESSOR_ERR_STATE_VERSION');
    expect(() => decodeState(bytes)).toThrow(/unknown schema id 999/);
  });

  it('throws PROCESSOR_ERR_STATE_INVALID for truncated bytes, another record type, and values Avro cannot reject', () => {
    const bytes = fixture('v1.bin');
    expect(codes(() => decodeState(bytes.subarray(0, bytes.length - 10)))).toBe('PROCESSOR_ERR_STATE_INVALID');
    expect(codes(() => decodeState(Buffer.from([0, 0])))).toBe('PROCESSOR_ERR_STATE_INVALID');
    const vitals = localCodec().encode('vitals', {
      patientId: 'p',
      wardId: 'w',
      bed: null,
      deviceId: 'd',
      seq: 1,
      ts: 1,
      receivedAt: 1,
      heartRate: 80,
      spo2: null,
      respRate: null,
      systolicBp: null,
      diastolicBp: null,
      temperature: null,
      consciousness: null,
      onOxygen: null,
      correlationId: 'c',
    });
    expect(codes(() => decodeState(vitals))).toBe('PROCESSOR_ERR_STATE_INVALID');
    const nan = encodeState({ ...expected, obs: { ...expected.obs, heartRate: { v: Number.NaN, ts: 1 } } });
    expect(() => decodeState(nan)).toThrow(/obs\.heartRate\.v is not a finite number/);
    const level = encodeState({ ...expected, news2: { kind: 'active', alertId: 'a', level: 'purple' as never, total: 3 } });
    expect(() => decodeState(level)).toThrow(/news2\.level is not one of/);
    const alerts = encodeState({ ...expected, alerts: { other: Object.values(expected.alerts)[0]! } });
    expect(() => decodeState(alerts)).toThrow(/alerts\.other\.alertId is .*, not its key/);
  });
});

describe('processor state v0 (legacy JSON): a running deployment upgrades without losing state', () => {
  it('decodes the golden JSON written by the previous release to the same state', () => {
    const bytes = fixture('v0.json.bin');
    expect(bytes[0]).toBe('{'.charCodeAt(0));
    expect(decodeState(bytes)).toEqual(expected);
  });

  it('a restored legacy state is written back as v1 at the next commit and goes on exactly like the original', () => {
    const restored = decodeState(fixture('v0.json.bin'));
    const upgraded = encodeState(restored);
    expect(upgraded[0]).toBe(0);
    expect(decodeState(upgraded)).toEqual(restored);
    const rules = loadRuleFile(DEFAULT_RULE_FILE).defaults;
    const next = expected.devices.at(-1)!; // the device heard from last
    const reading = {
      patientId: expected.patientId,
      wardId: expected.wardId,
      bed: expected.bed,
      deviceId: next.deviceId,
      seq: next.memory.maxSeq + 1,
      ts: expected.lastTs + 1000,
      receivedAt: 0,
      heartRate: 80,
      spo2: 97,
      respRate: 16,
      systolicBp: 120,
      diastolicBp: 80,
      temperature: 36.8,
      consciousness: 'A' as const,
      onOxygen: false,
      correlationId: 'c',
    };
    expect(step(restored, reading, rules)).toEqual(step(expected, reading, rules));
  });

  it('throws PROCESSOR_ERR_STATE_VERSION for an unknown JSON version, PROCESSOR_ERR_STATE_INVALID for a broken one', () => {
    const j = JSON.parse(fixture('v0.json.bin').toString('utf8')) as Record<string, unknown>;
    const json = (o: unknown) => Buffer.from(JSON.stringify(o));
    expect(codes(() => decodeState(json({ ...j, v: 3 })))).toBe('PROCESSOR_ERR_STATE_VERSION');
    expect(codes(() => decodeState(Buffer.from('{"v":2,')))).toBe('PROCESSOR_ERR_STATE_INVALID');
    expect(() => decodeState(json({ ...j, episodes: { x: { kind: 'simmering' } } }))).toThrow(
      /episodes\.x\.kind is not one of normal, pending, active, clearing/,
    );
    expect(() => decodeState(json({ ...j, lastTs: 'yesterday' }))).toThrow(/lastTs is not a whole number/);
    expect(() => decodeState(json({ ...j, devices: { d: { maxSeq: 1 } } }))).toThrow(/devices\.d is not a sequence memory/);
    expect(codes(() => decodeState(Buffer.from([0x42])))).toBe('PROCESSOR_ERR_STATE_INVALID');
  });
});
