/**
 * A dashboard that stops reading: its vitals are conflated (latest per patient) while every
 * alert still reaches it, server memory for it stays bounded, and it is not disconnected.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, mqttClient, reading, type Stack, startStack, token, waitUntil } from '../helpers.ts';

let stack: Stack;
let dev: MqttClient;
beforeAll(async () => {
  stack = await startStack();
  dev = await mqttClient(stack.bridge.mqttUrl);
});
afterAll(async () => {
  await dev?.endAsync();
  await stack?.close();
});

const metric = async (name: string) => {
  const text = await (await fetch(`http://127.0.0.1:${stack.gateway.port}/metrics`)).text();
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? 'NaN');
};

describe('backpressure', () => {
  it('conflates vitals for a client that stops reading, still delivers the alert, keeps memory bounded', async () => {
    const c = await connect(`ws://127.0.0.1:${stack.gateway.port}/ws`, await token({ wards: ['bp-w'] }));
    c.send({ type: 'subscribe', ward: 'bp-w' });
    await c.waitFor((m) => m.type === 'subscribed');
    const socket = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause(); // the client stops reading; the kernel buffers fill, then the server's
    const T0 = Date.now() - 600_000;
    const N = 30_000;
    let maxBuffered = 0;
    const pubs: Promise<unknown>[] = [];
    for (let i = 0; i < N; i++) {
      // 100 patients of noise, plus patient bp-sick with a sustained tachycardia.
      const sick = i % 100 === 0;
      const pid = sick ? 'bp-sick' : `bp${i % 100}`;
      const t = Math.floor(i / 100);
      pubs.push(
        dev.publishAsync(
          `wards/bp-w/patients/${pid}/vitals`,
          reading({ deviceId: `bpd-${pid}`, seq: t + 1, ts: T0 + t * 1000, vitals: { heartRate: sick && t > 50 ? 150 : 80 } }),
          { qos: 1 },
        ),
      );
      if (i % 2000 === 0) {
        await Promise.all(pubs.splice(0));
        maxBuffered = Math.max(maxBuffered, await metric('wardstream_gateway_buffered_bytes'));
      }
    }
    await Promise.all(pubs);
    await waitUntil(async () => (await metric('wardstream_gateway_conflated_total')) >= 1, 60_000, 'conflation engaged');
    maxBuffered = Math.max(maxBuffered, await metric('wardstream_gateway_buffered_bytes'));
    expect(maxBuffered).toBeLessThanOrEqual(4 * 1024 * 1024); // bounded by maxBackpressure
    socket.resume();
    const alert = await c.waitFor((m) => m.type === 'alert' && (m.alert as { rule: string; patientId: string }).rule === 'hr-high', 60_000, 'the alert');
    expect(alert.alert).toMatchObject({ patientId: 'bp-sick', phase: 'start' });
    // After catching up: the latest reading of the sick patient arrives, but not every reading did.
    await c.waitFor(
      (m) => m.type === 'vitals' && (m.reading as { patientId: string; seq: number }).patientId === 'bp-sick' && (m.reading as { seq: number }).seq === N / 100,
      60_000,
      'latest reading',
    );
    const received = c.messages.filter((m) => m.type === 'vitals').length;
    expect(received).toBeLessThan(N);
    expect(c.ws.readyState).toBe(c.ws.OPEN);
    c.close();
  }, 240_000);
});
