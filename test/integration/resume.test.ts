/**
 * Gap-free resume over real WebSockets and real Kafka: a client that reconnects with its last
 * positions gets exactly the events it missed, in order, then live ones — also from another
 * gateway instance started after the events; a position too old to replay gets a snapshot
 * flagged `resynced`, never a silent gap.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../../common/metrics.ts';
import { type Gateway, startGateway } from '../../gateway/gateway.ts';
import { type Client, connect, log, mqttClient, reading, SECRET, type Stack, startStack, token, waitUntil } from '../helpers.ts';

let stack: Stack;
let dev: MqttClient;
const extra: Gateway[] = [];
const WARD = 'resume-w';
let seq = 0;

beforeAll(async () => {
  stack = await startStack();
  dev = await mqttClient(stack.bridge.mqttUrl);
});
afterAll(async () => {
  await dev?.endAsync();
  for (const g of extra) await g.close();
  await stack?.close();
});

async function publish(n: number): Promise<number> {
  for (let i = 0; i < n; i++) {
    seq++;
    await dev.publishAsync(`wards/${WARD}/patients/rp1/vitals`, reading({ deviceId: 'rdev', seq, ts: Date.now(), vitals: { heartRate: 70 + (seq % 5) } }), {
      qos: 1,
    });
  }
  return seq;
}
const seqsOf = (c: Client) => c.messages.filter((m) => m.type === 'vitals').map((m) => (m.reading as { seq: number }).seq);
function lastPosition(c: Client): { partition: number; vitals: string | null; alerts: string | null } {
  const sub = c.messages.find((m) => m.type === 'subscribed') as { partition: number; head: { vitals: string | null; alerts: string | null } };
  const pos = (t: string) =>
    [...c.messages].reverse().find((m) => m.type === (t === 'vitals' ? 'vitals' : 'alert'))?.position as { offset: string } | undefined;
  return { partition: sub.partition, vitals: pos('vitals')?.offset ?? sub.head.vitals, alerts: pos('alerts')?.offset ?? sub.head.alerts };
}
const gatewayUrl = (g: Gateway) => `ws://127.0.0.1:${g.port}/ws`;

describe('gap-free resume', () => {
  it('replays exactly the missed readings after a disconnect, then continues live', async () => {
    const url = gatewayUrl(stack.gateway);
    const a = await connect(url, await token({ wards: [WARD] }));
    a.send({ type: 'subscribe', ward: WARD });
    await a.waitFor((m) => m.type === 'subscribed');
    const first = await publish(30);
    await a.waitFor((m) => m.type === 'vitals' && (m.reading as { seq: number }).seq === first);
    const since = lastPosition(a);
    a.close();
    const missedTo = await publish(30); // while disconnected
    const b = await connect(url, await token({ wards: [WARD] }));
    b.send({ type: 'subscribe', ward: WARD, since });
    expect(await b.waitFor((m) => m.type === 'subscribed')).toMatchObject({ resumed: true, resynced: false });
    await b.waitFor((m) => m.type === 'vitals' && (m.reading as { seq: number }).seq === missedTo);
    const live = await publish(5);
    await b.waitFor((m) => m.type === 'vitals' && (m.reading as { seq: number }).seq === live);
    expect(seqsOf(b)).toEqual(Array.from({ length: live - first }, (_, i) => first + 1 + i)); // no gap, no duplicate, in order
    expect(b.messages.some((m) => m.type === 'snapshot')).toBe(false);
    b.close();
  });

  it('resumes on another gateway instance started after the events (it reads recent history back from Kafka)', async () => {
    const a = await connect(gatewayUrl(stack.gateway), await token({ wards: [WARD] }));
    a.send({ type: 'subscribe', ward: WARD });
    await a.waitFor((m) => m.type === 'subscribed');
    const first = await publish(10);
    await a.waitFor((m) => m.type === 'vitals' && (m.reading as { seq: number }).seq === first);
    const since = lastPosition(a);
    a.close();
    const missedTo = await publish(20);
    const g2 = await startGateway({
      config: stack.config,
      kafka: stack.kafka,
      codec: stack.codec,
      topics: stack.topics,
      log,
      registry: createRegistry('gateway2'),
      auth: { secret: SECRET, issuer: stack.config.jwtIssuer, audience: stack.config.jwtAudience },
    });
    extra.push(g2);
    await waitUntil(() => g2.healthy(), 30_000, 'second gateway healthy');
    // Let the new instance read back its history: the live end must be in it before we resume.
    const probe = await connect(gatewayUrl(g2), await token({ wards: [WARD] }));
    probe.send({ type: 'subscribe', ward: WARD });
    await waitUntil(
      async () => {
        probe.messages.length = 0;
        probe.send({ type: 'subscribe', ward: WARD });
        const s = await probe.waitFor((m) => m.type === 'subscribed');
        return BigInt((s.head as { vitals: string }).vitals) >= BigInt(since.vitals!) + 20n;
      },
      30_000,
      'history read back',
    );
    probe.close();
    const b = await connect(gatewayUrl(g2), await token({ wards: [WARD] }));
    b.send({ type: 'subscribe', ward: WARD, since });
    expect(await b.waitFor((m) => m.type === 'subscribed')).toMatchObject({ resumed: true });
    await b.waitFor((m) => m.type === 'vitals' && (m.reading as { seq: number }).seq === missedTo);
    expect(seqsOf(b)).toEqual(Array.from({ length: missedTo - first }, (_, i) => first + 1 + i));
    b.close();
  });

  it('a position older than the history gets a snapshot flagged resynced, not a silent gap', async () => {
    const small = await startGateway({
      config: { ...stack.config, resumeBufferPerPartition: 5 },
      kafka: stack.kafka,
      codec: stack.codec,
      topics: stack.topics,
      log,
      registry: createRegistry('gateway3'),
      auth: { secret: SECRET, issuer: stack.config.jwtIssuer, audience: stack.config.jwtAudience },
    });
    extra.push(small);
    await waitUntil(() => small.healthy(), 30_000, 'small gateway healthy');
    const c = await connect(gatewayUrl(small), await token({ wards: [WARD] }));
    const head = async () => {
      c.messages.length = 0;
      c.send({ type: 'subscribe', ward: WARD });
      return (await c.waitFor((m) => m.type === 'subscribed')) as { partition: number; head: { vitals: string } };
    };
    const before = BigInt((await head()).head.vitals);
    await publish(12); // more than the 5 events this gateway keeps per partition
    await waitUntil(async () => BigInt((await head()).head.vitals) >= before + 12n, 30_000, 'events reached the small gateway');
    const { partition } = await head();
    c.messages.length = 0;
    c.send({ type: 'subscribe', ward: WARD, since: { partition, vitals: '0', alerts: null } });
    expect(await c.waitFor((m) => m.type === 'subscribed')).toMatchObject({ resumed: false, resynced: true });
    const snap = await c.waitFor((m) => m.type === 'snapshot');
    expect(snap.resynced).toBe(true);
    c.close();
  });

  it('rejects a malformed resume position with an error', async () => {
    const c = await connect(gatewayUrl(stack.gateway), await token({ wards: [WARD] }));
    c.send({ type: 'subscribe', ward: WARD, since: { partition: 'x' } });
    expect(await c.waitFor((m) => m.type === 'error')).toMatchObject({ code: 'GATEWAY_ERR_BAD_REQUEST', message: expect.stringContaining('since') });
    c.close();
  });
});
