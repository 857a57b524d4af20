/**
 * End to end on real parts: MQTT (embedded aedes) → bridge → Kafka → processor → Kafka →
 * uWebSockets.js gateway → `ws` clients.
 */
import { UnsecuredJWT } from 'jose';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../schemas/records.ts';
import { type Client, connect, consumeUntil, mqttClient, reading, type Stack, startStack, token } from '../helpers.ts';

let stack: Stack;
let hrAlertFromTopic = '';
let dev: MqttClient;
let wsUrl: string;

beforeAll(async () => {
  stack = await startStack();
  wsUrl = `ws://127.0.0.1:${stack.gateway.port}/ws`;
  dev = await mqttClient(stack.bridge.mqttUrl);
});
afterAll(async () => {
  await dev?.endAsync();
  await stack?.close();
});

describe('tachycardia episode through the whole pipeline', () => {
  let a: Client;
  let b: Client;
  const T0 = Date.now() - 200_000;
  const hr = (t: number) => (t >= 10 && t < 60 ? 145 : 80);

  beforeAll(async () => {
    a = await connect(wsUrl, await token({ wards: ['icu-a'] }));
    b = await connect(wsUrl, await token({ wards: ['icu-b'] }), { via: 'query' });
    a.send({ type: 'subscribe', ward: 'icu-a' });
    b.send({ type: 'subscribe', ward: 'icu-b' });
    await a.waitFor((m) => m.type === 'subscribed');
    await b.waitFor((m) => m.type === 'subscribed');
    // 120 s of readings at 1 Hz (device time), every third one published twice (same seq).
    for (let t = 0; t < 120; t++) {
      const payload = reading({ deviceId: 'mon-a1', seq: t + 1, ts: T0 + t * 1000, vitals: { heartRate: hr(t), spo2: 97 } });
      await dev.publishAsync('wards/icu-a/patients/pa1/vitals', payload, { qos: 1 });
      if (t % 3 === 0) await dev.publishAsync('wards/icu-a/patients/pa1/vitals', payload, { qos: 1 });
      await dev.publishAsync('wards/icu-b/patients/pb1/vitals', reading({ deviceId: 'mon-b1', seq: t + 1, ts: T0 + t * 1000, vitals: { heartRate: 75 } }), {
        qos: 1,
      });
    }
    // A marker after the episode: once it reaches the client, everything before it was processed.
    await dev.publishAsync('wards/icu-a/patients/pa1/vitals', reading({ deviceId: 'mon-a1', seq: 1000, ts: T0 + 130_000, vitals: { heartRate: 81 } }), {
      qos: 1,
    });
  });
  afterAll(() => {
    a?.close();
    b?.close();
  });

  it('delivers exactly one raised and one cleared alert to the ward A client', async () => {
    const isHrEnd = (m: Record<string, unknown>) =>
      m.type === 'alert' && (m.alert as { rule: string; phase: string }).rule === 'hr-high' && (m.alert as { phase: string }).phase === 'end';
    await a.waitFor(isHrEnd, 60_000, 'cleared alert');
    await a.waitFor((m) => m.type === 'vitals' && (m.reading as { seq: number }).seq === 1000, 60_000, 'marker reading');
    const alerts = a.messages.filter((m) => m.type === 'alert').map((m) => m.alert as Record<string, unknown>);
    const hr = alerts.filter((x) => x.rule === 'hr-high');
    // High priority and unacknowledged: the cleared alert stays latched until someone acknowledges it.
    expect(hr.map((x) => [x.patientId, x.rule, x.phase, x.state])).toEqual([
      ['pa1', 'hr-high', 'start', 'active'],
      ['pa1', 'hr-high', 'end', 'latched'],
    ]);
    expect(hr[0]!.id).toBe(hr[1]!.id);
    // The first reading at 145 is a 65/min jump within 5 s, screened as a possible artifact: onset at 11 s.
    expect(hr[0]).toMatchObject({ wardId: 'icu-a', priority: 'high', value: 145, threshold: 130, onsetTs: T0 + 11_000, eventTs: T0 + 21_000 });
    // NEWS2 sees the episode too (pulse 145 scores 3); the rise of 65/min is shorter than hr-rise's 3 min sustain.
    expect(new Set(alerts.map((x) => x.eventId)).size).toBe(alerts.length);
    expect(
      alerts
        .filter((x) => x.phase === 'start')
        .map((x) => x.rule)
        .sort(),
    ).toEqual(['hr-high', 'news2']);
    const withPos = a.messages.find((m) => m.type === 'alert')!;
    expect(withPos.position).toMatchObject({ partition: expect.any(Number), offset: expect.any(String) });
  });

  it('writes the same two events, once each, to the alerts topic (duplicated readings changed nothing)', async () => {
    const events: AlertEvent[] = await consumeUntil(
      stack.kafka,
      stack.topics.alerts,
      (v) => stack.codec.decode('alert', v),
      (all) => all.some((e) => e.rule === 'hr-high' && e.phase === 'end'),
    );
    expect(events.filter((e) => e.patientId === 'pa1' && e.rule === 'hr-high').map((e) => e.phase)).toEqual(['start', 'end']);
    hrAlertFromTopic = events.find((e) => e.rule === 'hr-high')!.alertId;
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
  });

  it('streams vitals of ward A to A only, and nothing of ward A to B', async () => {
    await b.waitFor((m) => m.type === 'vitals' && (m.reading as { seq: number }).seq === 120, 60_000, 'ward B vitals');
    const aVitals = a.messages.filter((m) => m.type === 'vitals').map((m) => m.reading as { patientId: string; wardId: string });
    expect(aVitals.length).toBeGreaterThanOrEqual(121);
    expect(aVitals.every((r) => r.wardId === 'icu-a' && r.patientId === 'pa1')).toBe(true);
    const seen = JSON.stringify(b.messages);
    expect(seen).not.toContain('pa1');
    expect(seen).not.toContain('icu-a');
    expect(b.messages.some((m) => m.type === 'alert')).toBe(false);
  });
});

describe('snapshot and alert actions', () => {
  it('sends a snapshot of the ward on subscribe: latest vitals, NEWS2 and open alerts (no vitals for admin)', async () => {
    const c = await connect(wsUrl, await token({ wards: ['icu-a'] }));
    const admin = await connect(wsUrl, await token({ role: 'admin', wards: ['*'] }));
    // patient-status is written at each processor commit; wait until the episode's end is in it.
    let snap: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && !snap; i++) {
      c.messages.length = 0;
      c.send({ type: 'subscribe', ward: 'icu-a' });
      const s = await c.waitFor((m) => m.type === 'snapshot');
      const p = (s.patients as { patientId: string; activeAlerts: { rule: string; state: string }[] }[]).find((x) => x.patientId === 'pa1');
      if (p?.activeAlerts.some((a) => a.rule === 'hr-high' && a.state === 'latched')) snap = s;
      else await new Promise((r) => setTimeout(r, 200));
    }
    const pa1 = (snap!.patients as Record<string, unknown>[]).find((x) => x.patientId === 'pa1') as {
      vitals: Record<string, { value: number }>;
      news2Total: number;
      activeAlerts: { rule: string; state: string; priority: string }[];
    };
    expect(pa1.vitals.heartRate!.value).toBeGreaterThan(0);
    expect(typeof pa1.news2Total).toBe('number');
    expect(pa1.activeAlerts).toContainEqual(expect.objectContaining({ rule: 'hr-high', state: 'latched', priority: 'high' }));
    admin.send({ type: 'subscribe', ward: 'icu-a' });
    const as = await admin.waitFor((m) => m.type === 'snapshot');
    const ap = (as.patients as Record<string, unknown>[]).find((x) => x.patientId === 'pa1')!;
    expect(ap.vitals).toBeUndefined();
    expect(ap.activeAlerts).toBeDefined();
    c.close();
    admin.close();
  });

  it('refuses actions by role and by ward', async () => {
    const alertId = hrAlertFromTopic;
    expect(alertId).not.toBe('');
    const admin = await connect(wsUrl, await token({ role: 'admin', wards: ['*'] }));
    admin.send({ type: 'ack', alertId });
    expect(await admin.waitFor((m) => m.type === 'error')).toMatchObject({ code: 'GATEWAY_ERR_FORBIDDEN' });
    const other = await connect(wsUrl, await token({ wards: ['icu-b'] }));
    other.send({ type: 'ack', alertId });
    expect(await other.waitFor((m) => m.type === 'error')).toMatchObject({ code: 'GATEWAY_ERR_FORBIDDEN', message: expect.stringContaining('icu-a') });
    other.send({ type: 'silence', alertId, durationSec: 99999 });
    expect(await other.waitFor((m) => m.type === 'error' && m.code === 'GATEWAY_ERR_BAD_REQUEST')).toMatchObject({
      message: expect.stringContaining('durationSec'),
    });
    admin.close();
    other.close();
  });

  it('acknowledging a latched alert closes it, and every dashboard of the ward sees who did it', async () => {
    const nurse = await connect(wsUrl, await token({ wards: ['icu-a'], sub: 'nurse-7' }));
    const other = await connect(wsUrl, await token({ role: 'charge_nurse', wards: ['icu-a'] }));
    nurse.send({ type: 'subscribe', ward: 'icu-a' });
    other.send({ type: 'subscribe', ward: 'icu-a' });
    await nurse.waitFor((m) => m.type === 'subscribed');
    await other.waitFor((m) => m.type === 'subscribed');
    nurse.send({ type: 'ack', alertId: hrAlertFromTopic });
    const ok = await nurse.waitFor((m) => m.type === 'action-accepted');
    expect(ok).toMatchObject({ alertId: hrAlertFromTopic, action: 'ack' });
    const isAck = (m: Record<string, unknown>) =>
      m.type === 'alert' &&
      (m.alert as { phase: string; alertId: string }).phase === 'acknowledged' &&
      (m.alert as { alertId: string }).alertId === hrAlertFromTopic;
    const seenByOther = await other.waitFor(isAck, 60_000, 'acknowledged event');
    expect(seenByOther.alert).toMatchObject({ state: 'inactive', actor: 'nurse-7', actorRole: 'nurse', rule: 'hr-high' });
    await nurse.waitFor(isAck, 60_000, 'acknowledged event at the actor');
    nurse.close();
    other.close();
  });
});

describe('authorization at the gateway', () => {
  it('refuses a subscription to a ward the token does not grant', async () => {
    const c = await connect(wsUrl, await token({ wards: ['icu-b'] }));
    c.send({ type: 'subscribe', ward: 'icu-a' });
    const err = await c.waitFor((m) => m.type === 'error');
    expect(err).toMatchObject({ code: 'GATEWAY_ERR_FORBIDDEN' });
    expect(c.messages.some((m) => m.type === 'subscribed')).toBe(false);
    c.close();
  });

  it('refuses an expired token at upgrade', async () => {
    const expired = await token({ wards: ['icu-a'], ttlSec: 60, now: Date.now() - 3_600_000 });
    await expect(connect(wsUrl, expired)).rejects.toMatchObject({ status: 401, body: expect.stringContaining('expired') });
  });

  it('refuses an alg:none token at upgrade', async () => {
    const none = new UnsecuredJWT({ role: 'nurse', wards: ['icu-a'] })
      .setSubject('x')
      .setIssuer('wardstream')
      .setAudience('wardstream-gateway')
      .setExpirationTime('1h')
      .encode();
    await expect(connect(wsUrl, none)).rejects.toMatchObject({ status: 401 });
  });

  it('refuses a missing token and answers bad messages with errors, not a crash', async () => {
    await expect(connect(wsUrl)).rejects.toMatchObject({ status: 401 });
    const c = await connect(wsUrl, await token({ wards: ['icu-a'] }));
    c.ws.send('not json');
    c.send({ type: 'fly' });
    c.send({ type: 'subscribe' });
    await c.waitFor((m) => m.type === 'error' && m.code === 'GATEWAY_ERR_BAD_REQUEST' && String(m.message).includes('ward'));
    const codes = c.messages.filter((m) => m.type === 'error').map((m) => m.code);
    expect(codes).toEqual(['GATEWAY_ERR_BAD_REQUEST', 'GATEWAY_ERR_UNKNOWN_TYPE', 'GATEWAY_ERR_BAD_REQUEST']);
    c.send({ type: 'ping' });
    await c.waitFor((m) => m.type === 'pong');
    c.close();
  });

  it('admin tokens get alerts but not vitals', async () => {
    const c = await connect(wsUrl, await token({ role: 'admin', wards: ['*'] }));
    c.send({ type: 'subscribe', ward: 'icu-a' });
    expect(await c.waitFor((m) => m.type === 'subscribed')).toMatchObject({ ward: 'icu-a', vitals: false });
    c.close();
  });
});

describe('HTTP endpoints', () => {
  it('reports health and Prometheus metrics', async () => {
    const base = `http://127.0.0.1:${stack.gateway.port}`;
    const h = await fetch(`${base}/healthz`);
    expect(h.status).toBe(200);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/wardstream_bridge_messages_total\{outcome="accepted"[^}]*\} \d+/);
    expect(text).toContain('wardstream_device_to_gateway_seconds_bucket');
    expect(text).toContain('wardstream_processor_readings_total{verdict="duplicate"');
  });
});
