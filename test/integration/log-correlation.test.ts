/**
 * Logs follow a reading from MQTT to the WebSocket by its correlation id: the bridge assigns it
 * ('reading accepted'), the processor logs the alert event it caused, the gateway logs sending
 * that event, and the client receives it in the alert — one id in all four places. No log line
 * carries the patient id or the token. Real MQTT (embedded), Kafka and WebSocket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bridge, startBridge } from '../../bridge/bridge.ts';
import { createLogger } from '../../common/log.ts';
import { createRegistry } from '../../common/metrics.ts';
import { type Gateway, startGateway } from '../../gateway/gateway.ts';
import { type Processor, startProcessor } from '../../processors/processor.ts';
import { connect, mqttClient, reading, SECRET, setupTopics, testConfig, token, waitUntil } from '../helpers.ts';

const lines: Record<string, unknown>[] = [];
const raw: string[] = [];
const cap = createLogger('test', 'debug', {}, (line) => {
  raw.push(line);
  lines.push(JSON.parse(line) as Record<string, unknown>);
});
let bridge: Bridge;
let processor: Processor;
let gateway: Gateway;

beforeAll(async () => {
  const config = testConfig();
  const env = await setupTopics(config);
  const registry = createRegistry('test');
  bridge = await startBridge({ ...env, config, log: cap.child({ part: 'bridge' }), registry, clientId: `bridge-${config.kafkaTopicPrefix}` });
  processor = await startProcessor({ ...env, config, log: cap.child({ part: 'processor' }), registry });
  gateway = await startGateway({
    ...env,
    config,
    log: cap.child({ part: 'gateway' }),
    registry,
    auth: { secret: SECRET, issuer: config.jwtIssuer, audience: config.jwtAudience },
  });
  await waitUntil(() => gateway.healthy(), 30_000, 'gateway healthy');
});
afterAll(async () => {
  await gateway?.close();
  await processor?.close();
  await bridge?.close();
});

describe('correlation id in logs', () => {
  it('one id from the bridge through the processor and gateway to the client', async () => {
    const tok = await token({ wards: ['corr-1'] });
    const c = await connect(`ws://127.0.0.1:${gateway.port}/ws`, tok);
    await c.waitFor((m) => m.type === 'welcome');
    c.send({ type: 'subscribe', ward: 'corr-1' });
    await c.waitFor((m) => m.type === 'subscribed');
    const dev = await mqttClient(bridge.mqttUrl);
    const T0 = Date.now() - 60_000;
    for (let t = 0; t < 20; t++) {
      await dev.publishAsync(
        'wards/corr-1/patients/MRN-secret-42/vitals',
        reading({ deviceId: 'corr-dev', seq: t + 1, ts: T0 + t * 1000, vitals: { heartRate: 140 } }),
        { qos: 1 },
      );
    }
    const msg = await c.waitFor((m) => m.type === 'alert' && (m.alert as { phase: string }).phase === 'start', 60_000, 'alert start');
    const id = (msg.alert as { correlationId: string }).correlationId;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await waitUntil(() => lines.some((l) => l.part === 'gateway' && l.correlationId === id), 30_000, 'gateway log line');
    const with_ = (part: string, text: string) => lines.filter((l) => l.part === part && l.msg === text && l.correlationId === id);
    expect(with_('bridge', 'reading accepted')).toHaveLength(1);
    expect(with_('processor', 'alert event')).toHaveLength(1);
    expect(with_('gateway', 'alert sent to ward subscribers')).toHaveLength(1);
    // The reading that caused it is the one the bridge logged with this id.
    expect(with_('bridge', 'reading accepted')[0]).toMatchObject({ deviceId: 'corr-dev', wardId: 'corr-1' });
    const all = raw.join('');
    expect(all).not.toContain('MRN-secret-42');
    expect(all).not.toContain(tok);
    c.close();
    await dev.endAsync();
  });
});
