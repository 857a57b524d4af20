/**
 * Gateway authentication over real WebSockets and real Kafka:
 *  - a token refreshed on the open connection keeps subscriptions and position: readings
 *    produced before and after the old token's expiry arrive in order, none missing, no 1008;
 *  - a refresh for another user is refused; one that drops a ward unsubscribes it;
 *  - TLS (wss/https) when a certificate is configured, with ES256 tokens checked against a
 *    local JWKS file.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Config } from '../../common/config.ts';
import { createProducer } from '../../common/kafka.ts';
import { createRegistry } from '../../common/metrics.ts';
import { type Gateway, startGateway } from '../../gateway/gateway.ts';
import type { VitalsReading } from '../../schemas/records.ts';
import { partitionForWard } from '../../schemas/topics.ts';
import { connect, log, SECRET, setupTopics, testConfig, token, waitUntil } from '../helpers.ts';

let config: Config;
let env: Awaited<ReturnType<typeof setupTopics>>;
let gateway: Gateway;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  config = testConfig();
  env = await setupTopics(config);
  gateway = await startGateway({
    ...env,
    config,
    log,
    registry: createRegistry('gateway'),
    auth: { secret: SECRET, issuer: config.jwtIssuer, audience: config.jwtAudience },
  });
  closers.push(() => gateway.close());
  await waitUntil(() => gateway.healthy(), 30_000, 'gateway healthy');
});
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

async function produce(ward: string, seqs: number[]): Promise<void> {
  const producer = createProducer(env.kafka);
  await producer.connect();
  const now = Date.now();
  const rs: VitalsReading[] = seqs.map((seq) => ({
    patientId: `ga-p1`,
    wardId: ward,
    bed: '1',
    deviceId: 'ga-d1',
    seq,
    ts: now + seq,
    receivedAt: now + seq,
    heartRate: 70 + (seq % 10),
    spo2: 97,
    respRate: 16,
    systolicBp: 120,
    diastolicBp: 80,
    temperature: 36.8,
    consciousness: 'A',
    onOxygen: false,
    correlationId: `ga-${seq}`,
  }));
  await producer.send({
    topic: env.topics.vitals,
    acks: -1,
    messages: rs.map((r) => ({ key: r.patientId, value: env.codec.encode('vitals', r), partition: partitionForWard(ward, config.kafkaPartitions) })),
  });
  await producer.disconnect();
}

describe('token refresh on an open connection', () => {
  it('keeps subscriptions and position past the old token expiry: nothing missed, no 1008', async () => {
    const c = await connect(`ws://127.0.0.1:${gateway.port}/ws`, await token({ sub: 'nurse-7', wards: ['ga-1'], ttlSec: 3 }));
    await c.waitFor((m) => m.type === 'welcome');
    c.send({ type: 'subscribe', ward: 'ga-1' });
    await c.waitFor((m) => m.type === 'subscribed');
    let closeCode: number | null = null;
    c.ws.once('close', (code) => {
      closeCode = code;
    });
    await produce('ga-1', [1, 2, 3, 4, 5]);
    await c.waitFor((m) => m.type === 'vitals' && (m.reading as VitalsReading).seq === 5);
    c.send({ type: 'refresh', token: await token({ sub: 'nurse-7', wards: ['ga-1'], ttlSec: 600 }) });
    const refreshed = await c.waitFor((m) => m.type === 'refreshed');
    expect(refreshed.expiresAt).toBeGreaterThan(Date.now() / 1000 + 500);
    await new Promise((r) => setTimeout(r, 4000)); // past the first token's expiry
    await produce('ga-1', [6, 7, 8, 9, 10]);
    await c.waitFor((m) => m.type === 'vitals' && (m.reading as VitalsReading).seq === 10);
    expect(closeCode).toBeNull();
    const seqs = c.messages.filter((m) => m.type === 'vitals').map((m) => (m.reading as VitalsReading).seq);
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    c.close();
  });

  it('refuses a refresh for another user and an invalid token, and keeps the connection', async () => {
    const c = await connect(`ws://127.0.0.1:${gateway.port}/ws`, await token({ sub: 'nurse-8', wards: ['ga-2'] }));
    await c.waitFor((m) => m.type === 'welcome');
    c.send({ type: 'refresh', token: await token({ sub: 'someone-else', wards: ['*'] }) });
    await c.waitFor((m) => m.type === 'error' && m.code === 'GATEWAY_ERR_FORBIDDEN' && /same user/.test(String(m.message)));
    c.send({ type: 'refresh', token: 'eyJhbGciOiJub25lIn0.e30.' });
    await c.waitFor((m) => m.type === 'error' && m.code === 'GATEWAY_ERR_UNAUTHORIZED');
    c.send({ type: 'ping' });
    await c.waitFor((m) => m.type === 'pong');
    c.close();
  });

  it('a refreshed token that no longer grants a ward unsubscribes it', async () => {
    const c = await connect(`ws://127.0.0.1:${gateway.port}/ws`, await token({ sub: 'nurse-9', wards: ['ga-3', 'ga-4'] }));
    await c.waitFor((m) => m.type === 'welcome');
    c.send({ type: 'subscribe', ward: 'ga-3' });
    c.send({ type: 'subscribe', ward: 'ga-4' });
    await c.waitFor((m) => m.type === 'subscribed' && m.ward === 'ga-4');
    c.send({ type: 'refresh', token: await token({ sub: 'nurse-9', wards: ['ga-3'] }) });
    await c.waitFor((m) => m.type === 'unsubscribed' && m.ward === 'ga-4');
    const r = await c.waitFor((m) => m.type === 'refreshed');
    expect(r.wards).toEqual(['ga-3']);
    c.send({ type: 'subscribe', ward: 'ga-4' });
    await c.waitFor((m) => m.type === 'error' && m.code === 'GATEWAY_ERR_FORBIDDEN');
    c.close();
  });
});

describe('TLS and ES256 tokens from a JWKS file', () => {
  it('serves wss and https with the configured certificate and accepts only tokens of the JWKS keys', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wardstream-tls-'));
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const ca = readFileSync(cert);
    const pair = await generateKeyPair('ES256', { extractable: true });
    const jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'idp-1', alg: 'ES256' }] };
    const tlsConfig = { ...config, tlsCertFile: cert, tlsKeyFile: key, jwtSecret: null };
    const tlsGateway = await startGateway({
      ...env,
      config: tlsConfig,
      log,
      registry: createRegistry('gateway-tls'),
      auth: { jwks, issuer: config.jwtIssuer, audience: config.jwtAudience },
    });
    closers.push(() => tlsGateway.close());
    await waitUntil(() => tlsGateway.healthy(), 30_000, 'tls gateway healthy');
    expect(tlsGateway.url).toBe(`https://127.0.0.1:${tlsGateway.port}`);

    const health = await new Promise<string>((resolve, reject) => {
      https
        .get(`${tlsGateway.url}/healthz`, { ca }, (res) => {
          let b = '';
          res.on('data', (d: Buffer) => {
            b += d.toString();
          });
          res.on('end', () => resolve(b));
        })
        .on('error', reject);
    });
    expect(JSON.parse(health)).toMatchObject({ ok: true });

    const es256 = await new SignJWT({ role: 'physician', wards: ['ga-5'] })
      .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
      .setSubject('dr-1')
      .setIssuer(config.jwtIssuer)
      .setAudience(config.jwtAudience)
      .setExpirationTime(Math.floor(Date.now() / 1000) + 600)
      .sign(pair.privateKey);
    const ws = new WebSocket(`wss://127.0.0.1:${tlsGateway.port}/ws`, { ca, headers: { authorization: `Bearer ${es256}` } });
    const welcome = await new Promise<Record<string, unknown>>((resolve, reject) => {
      ws.once('message', (d) => resolve(JSON.parse(d.toString()) as Record<string, unknown>));
      ws.once('error', reject);
    });
    expect(welcome).toMatchObject({ type: 'welcome', user: 'dr-1', role: 'physician' });
    ws.close();

    // The shared-secret token of the other gateway means nothing here.
    const hs = await token({ wards: ['ga-5'] });
    const refused = new WebSocket(`wss://127.0.0.1:${tlsGateway.port}/ws`, { ca, headers: { authorization: `Bearer ${hs}` } });
    const status = await new Promise<number>((resolve) => refused.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(401);
    // Plain ws:// to the TLS port does not get a WebSocket.
    const plain = new WebSocket(`ws://127.0.0.1:${tlsGateway.port}/ws`, { headers: { authorization: `Bearer ${es256}` } });
    await new Promise<void>((resolve) => {
      plain.once('error', () => resolve());
      plain.once('close', () => resolve());
    });
    expect(plain.readyState).not.toBe(WebSocket.OPEN);
  });
});
