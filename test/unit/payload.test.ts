import { describe, expect, it } from 'vitest';
import { type ParseContext, parseDeviceMessage, parseTopic } from '../../bridge/payload.ts';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const ctx = (over: Partial<ParseContext> = {}): ParseContext => ({
  now: NOW,
  maxPayloadBytes: 4096,
  maxFutureSkewMs: 300_000,
  lookupWard: () => undefined,
  correlationId: 'c1',
  ...over,
});
const msg = (o: Record<string, unknown>) => Buffer.from(JSON.stringify({ deviceId: 'mon-1', seq: 1, ts: NOW - 1000, vitals: { heartRate: 80 }, ...o }));

describe('parseTopic', () => {
  it('accepts both vitals topic shapes', () => {
    expect(parseTopic('patients/p1/vitals')).toEqual({ patientId: 'p1', wardId: null });
    expect(parseTopic('wards/icu-1/patients/p1/vitals')).toEqual({ patientId: 'p1', wardId: 'icu-1' });
  });
  it.each(['patients/p1', 'patients//vitals', 'wards/w/patients/p/other', 'x/p1/vitals', 'patients/p 1/vitals', 'patients/p1/vitals/extra'])(
    'rejects %s',
    (t) => {
      expect(parseTopic(t)).toBeNull();
    },
  );
});

describe('parseDeviceMessage', () => {
  it('maps a full reading', () => {
    const r = parseDeviceMessage(
      'wards/icu-1/patients/p1/vitals',
      msg({
        vitals: { heartRate: 88, spo2: 97, respRate: 16, systolicBp: 120, diastolicBp: 80, temperature: 37.1 },
        consciousness: 'V',
        onOxygen: true,
      }),
      ctx(),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.reading).toMatchObject({
      patientId: 'p1',
      wardId: 'icu-1',
      deviceId: 'mon-1',
      seq: 1,
      ts: NOW - 1000,
      receivedAt: NOW,
      heartRate: 88,
      spo2: 97,
      respRate: 16,
      systolicBp: 120,
      diastolicBp: 80,
      temperature: 37.1,
      consciousness: 'V',
      onOxygen: true,
      correlationId: 'c1',
    });
  });

  it('accepts ISO-8601 timestamps and any subset of vitals', () => {
    const r = parseDeviceMessage('patients/p1/vitals', msg({ ts: '2026-01-01T11:59:00.500Z', vitals: { spo2: 93 } }), ctx());
    expect(r.ok && r.reading.ts).toBe(Date.parse('2026-01-01T11:59:00.500Z'));
    expect(r.ok && r.reading.heartRate).toBeNull();
  });

  it('routes by assignment when the topic names no ward, and to "unassigned" otherwise', () => {
    const assigned = parseDeviceMessage('patients/p1/vitals', msg({}), ctx({ lookupWard: (id) => (id === 'p1' ? { wardId: 'cardio', bed: '7' } : undefined) }));
    expect(assigned.ok && [assigned.reading.wardId, assigned.reading.bed]).toEqual(['cardio', '7']);
    const unassigned = parseDeviceMessage('patients/p2/vitals', msg({}), ctx());
    expect(unassigned.ok && unassigned.reading.wardId).toBe('unassigned');
  });

  it('prefers the ward named in the topic over the assignment', () => {
    const r = parseDeviceMessage('wards/icu-2/patients/p1/vitals', msg({}), ctx({ lookupWard: () => ({ wardId: 'cardio', bed: '7' }) }));
    expect(r.ok && [r.reading.wardId, r.reading.bed]).toEqual(['icu-2', null]);
  });

  const cases: [string, string, Buffer, RegExp][] = [
    ['BRIDGE_ERR_BAD_TOPIC', 'devices/x', msg({}), /not patients/],
    ['BRIDGE_ERR_NOT_JSON', 'patients/p1/vitals', Buffer.from('{"deviceId": '), /JSON/],
    ['BRIDGE_ERR_NOT_JSON', 'patients/p1/vitals', Buffer.from([0xff, 0xfe, 0x00]), /JSON|Unexpected/],
    ['BRIDGE_ERR_NOT_OBJECT', 'patients/p1/vitals', Buffer.from('[1,2]'), /array/],
    ['BRIDGE_ERR_MISSING_FIELD', 'patients/p1/vitals', Buffer.from(JSON.stringify({ seq: 1, ts: NOW, vitals: { heartRate: 80 } })), /deviceId/],
    ['BRIDGE_ERR_MISSING_FIELD', 'patients/p1/vitals', Buffer.from(JSON.stringify({ deviceId: 'd', ts: NOW, vitals: { heartRate: 80 } })), /seq/],
    ['BRIDGE_ERR_MISSING_FIELD', 'patients/p1/vitals', Buffer.from(JSON.stringify({ deviceId: 'd', seq: 1, vitals: { heartRate: 80 } })), /ts/],
    ['BRIDGE_ERR_MISSING_FIELD', 'patients/p1/vitals', Buffer.from(JSON.stringify({ deviceId: 'd', seq: 1, ts: NOW })), /vitals/],
    ['BRIDGE_ERR_BAD_FIELD', 'patients/p1/vitals', msg({ seq: -1 }), /seq/],
    ['BRIDGE_ERR_BAD_FIELD', 'patients/p1/vitals', msg({ seq: 1.5 }), /seq/],
    ['BRIDGE_ERR_BAD_FIELD', 'patients/p1/vitals', msg({ ts: 'yesterday' }), /ts/],
    ['BRIDGE_ERR_BAD_FIELD', 'patients/p1/vitals', msg({ vitals: { heartRate: '88' } }), /heartRate/],
    ['BRIDGE_ERR_BAD_FIELD', 'patients/p1/vitals', msg({ vitals: { heartRate: 80, pulse: 3 } }), /unknown vital/],
    ['BRIDGE_ERR_BAD_FIELD', 'patients/p1/vitals', msg({ consciousness: 'X' }), /consciousness/],
    ['BRIDGE_ERR_BAD_FIELD', 'patients/p1/vitals', msg({ onOxygen: 'yes' }), /onOxygen/],
    ['BRIDGE_ERR_IMPLAUSIBLE', 'patients/p1/vitals', msg({ vitals: { heartRate: 351 } }), /heartRate=351/],
    ['BRIDGE_ERR_IMPLAUSIBLE', 'patients/p1/vitals', msg({ vitals: { spo2: 101 } }), /spo2/],
    ['BRIDGE_ERR_IMPLAUSIBLE', 'patients/p1/vitals', msg({ vitals: { temperature: 10 } }), /temperature/],
    ['BRIDGE_ERR_FUTURE_TS', 'patients/p1/vitals', msg({ ts: NOW + 3_600_000 }), /ahead/],
    ['BRIDGE_ERR_NO_VITALS', 'patients/p1/vitals', msg({ vitals: {} }), /no vital/],
    ['BRIDGE_ERR_TOO_LARGE', 'patients/p1/vitals', Buffer.alloc(5000, 32), /5000 bytes/],
  ];
  it.each(cases)('%s for %s', (reason, topic, payload, detail) => {
    const r = parseDeviceMessage(topic, payload, ctx());
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toBe(reason);
    expect(r.detail).toMatch(detail);
  });

  it('accepts the plausibility bounds themselves and a small clock skew', () => {
    expect(parseDeviceMessage('patients/p1/vitals', msg({ vitals: { heartRate: 350, spo2: 100, temperature: 15 } }), ctx()).ok).toBe(true);
    expect(parseDeviceMessage('patients/p1/vitals', msg({ ts: NOW + 60_000 }), ctx()).ok).toBe(true);
  });
});
