/**
 * Integration-test helpers. Everything here talks to the real services from global-setup:
 * Kafka, aedes or Mosquitto, and real WebSocket clients (`ws`).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import mqtt from 'mqtt';
import pg from 'pg';
import { inject } from 'vitest';
import WebSocket from 'ws';
import { type Bridge, startBridge } from '../bridge/bridge.ts';
import { type Config, loadConfig } from '../common/config.ts';
import { createKafka, ensureTopics } from '../common/kafka.ts';
import { createLogger } from '../common/log.ts';
import { createRegistry } from '../common/metrics.ts';
import { startMosquitto } from '../deploy/local/mosquitto.ts';
import { createDatabase } from '../deploy/local/postgres.ts';
import { type Role, signToken } from '../gateway/auth.ts';
import { buildClientBundle } from '../gateway/bundle.ts';
import { type Gateway, startGateway } from '../gateway/gateway.ts';
import { migrate } from '../history/db.ts';
import { type Processor, startProcessor } from '../processors/processor.ts';
import { type Codec, localCodec } from '../schemas/codec.ts';
import type { Topics } from '../schemas/topics.ts';

export const SECRET = 'test-secret-'.padEnd(48, 'x');
export const log = createLogger('test', (process.env.TEST_LOG_LEVEL as 'info') ?? 'error');

export function testConfig(over: Partial<Config> = {}): Config {
  return loadConfig(
    {},
    {
      kafkaBrokers: [inject('kafkaBrokers')],
      kafkaTopicPrefix: `t-${randomUUID().slice(0, 8)}.`,
      kafkaPartitions: 4,
      mqttPort: 0,
      port: 0,
      jwtSecret: SECRET,
      processorCommitIntervalMs: 200,
      ...over,
    },
  );
}

export async function setupTopics(config: Config): Promise<{ kafka: Kafka; topics: Topics; codec: Codec }> {
  const kafka = createKafka(config.kafkaBrokers!, 'wardstream-test');
  const admin = kafka.admin();
  await admin.connect();
  const topics = await ensureTopics(admin, config);
  await admin.disconnect();
  return { kafka, topics, codec: localCodec() };
}

export interface Stack {
  config: Config;
  kafka: Kafka;
  topics: Topics;
  codec: Codec;
  bridge: Bridge;
  processor: Processor;
  gateway: Gateway;
  close(): Promise<void>;
}

let staticDir: Promise<string> | undefined;
/** The dashboard's static files (what `npm run build` writes to dist/gateway/public), built once per test process into a temporary directory. */
export function builtStaticDir(): Promise<string> {
  if (!staticDir) {
    const dir = mkdtempSync(path.join(tmpdir(), 'wardstream-static-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    staticDir = buildClientBundle(dir);
  }
  return staticDir;
}

/** Bridge + processor + gateway in this process, against real Kafka and MQTT; `staticDir` for tests that load the page. */
export async function startStack(over: Partial<Config> = {}, o: { staticDir?: string } = {}): Promise<Stack> {
  const config = testConfig(over);
  const { kafka, topics, codec } = await setupTopics(config);
  const registry = createRegistry('test');
  const bridge = await startBridge({ config, kafka, codec, topics, log, registry, clientId: `bridge-${config.kafkaTopicPrefix}` });
  const processor = await startProcessor({ config, kafka, codec, topics, log, registry });
  const gateway = await startGateway({
    config,
    kafka,
    codec,
    topics,
    log,
    registry,
    auth: { secret: SECRET, issuer: config.jwtIssuer, audience: config.jwtAudience },
    dependenciesHealthy: () => bridge.healthy() && processor.healthy(),
    staticDir: o.staticDir,
  });
  await waitUntil(() => gateway.healthy(), 30_000, 'gateway healthy');
  return {
    config,
    kafka,
    topics,
    codec,
    bridge,
    processor,
    gateway,
    async close() {
      await gateway.close();
      await processor.close();
      await bridge.close();
    },
  };
}

export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, pollMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export function token(o: { role?: Role; wards: string[]; ttlSec?: number; now?: number; sub?: string }): Promise<string> {
  return signToken(
    { secret: SECRET, issuer: 'wardstream', audience: 'wardstream-gateway' },
    { sub: o.sub ?? 'tester', role: o.role ?? 'nurse', wards: o.wards, ttlSec: o.ttlSec ?? 600, now: o.now },
  );
}

export interface Client {
  ws: WebSocket;
  messages: Record<string, unknown>[];
  send(m: unknown): void;
  waitFor(pred: (m: Record<string, unknown>) => boolean, timeoutMs?: number, what?: string): Promise<Record<string, unknown>>;
  close(): void;
}

/** A WebSocket client that records everything it receives. Rejects if the upgrade is refused. */
export function connect(url: string, tok?: string, o: { via?: 'header' | 'query'; origin?: string } = {}): Promise<Client> {
  const target = o.via === 'query' && tok ? `${url}?access_token=${encodeURIComponent(tok)}` : url;
  const headers: Record<string, string> = {};
  if (tok && o.via !== 'query') headers.authorization = `Bearer ${tok}`;
  if (o.origin) headers.origin = o.origin;
  const ws = new WebSocket(target, { headers });
  const messages: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (d) => {
    messages.push(JSON.parse(d.toString()) as Record<string, unknown>);
    for (const w of [...waiters]) w();
  });
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode} ${body}`), { status: res.statusCode, body })));
    });
    ws.once('error', reject);
    ws.once('open', () =>
      resolve({
        ws,
        messages,
        send: (m) => ws.send(JSON.stringify(m)),
        waitFor(pred, timeoutMs = 30_000, what = 'message') {
          return new Promise((res, rej) => {
            const check = () => {
              const found = messages.find(pred);
              if (found) {
                clearTimeout(t);
                waiters.splice(waiters.indexOf(check), 1);
                res(found);
              }
            };
            const t = setTimeout(() => {
              waiters.splice(waiters.indexOf(check), 1);
              rej(new Error(`timed out waiting for ${what}; got ${messages.length} messages`));
            }, timeoutMs);
            waiters.push(check);
            check();
          });
        },
        close: () => ws.close(),
      }),
    );
  });
}

/** Reads every record of a topic from the beginning until `done(records)` holds. */
export async function consumeUntil<T>(kafka: Kafka, topic: string, decode: (v: Buffer) => T, done: (all: T[]) => boolean, timeoutMs = 60_000): Promise<T[]> {
  const out: T[] = [];
  const groupId = `test-reader-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let resolveDone!: () => void;
  const finished = new Promise<void>((r) => {
    resolveDone = r;
  });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) if (m.value) out.push(decode(m.value));
      if (done(out)) resolveDone();
    },
  });
  if (done(out)) resolveDone();
  const timer = new Promise<void>((_r, rej) => setTimeout(() => rej(new Error(`timed out reading ${topic}: ${out.length} records`)), timeoutMs));
  try {
    await Promise.race([finished, timer]);
  } finally {
    await consumer.disconnect();
  }
  return out;
}

export async function mqttClient(url: string, clientId = `dev-${randomUUID().slice(0, 8)}`): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(url, { clientId, protocolVersion: 4, clean: true, reconnectPeriod: 200, connectTimeout: 5000 });
}

export function reading(o: { deviceId?: string; seq: number; ts: number; vitals: Record<string, number> }): string {
  return JSON.stringify({ deviceId: o.deviceId ?? 'mon-1', seq: o.seq, ts: o.ts, vitals: o.vitals });
}

/** Records of `topic` that consumer group `groupId` has committed (how far a consumer under test got). */
export async function committed(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offs = await admin.fetchOffsets({ groupId, topics: [topic] });
    return offs[0]!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

export const AUDIT_KEY_HEX = 'a1'.repeat(32);

/** A database of this test file's own on the shared test PostgreSQL, migrated. */
export async function testDatabase(config: Config): Promise<{ url: string; pool: pg.Pool; close(): Promise<void> }> {
  const name = `t_${config.kafkaTopicPrefix.replace(/[^a-z0-9]/gi, '').toLowerCase()}_${randomUUID().slice(0, 6)}`;
  const url = await createDatabase(inject('databaseUrl'), name);
  await migrate(url, log);
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  return { url, pool, close: () => pool.end() };
}

/**
 * A Mosquitto of the calling test file's own (MOSQUITTO_URL, when set, is shared instead: run
 * such files one at a time). A bridge subscribes to every vitals topic of its broker, so two
 * files on one broker would receive each other's readings.
 */
export async function ownMosquitto(): Promise<{ url: string; stop(): Promise<void> }> {
  if (process.env.MOSQUITTO_URL) return { url: process.env.MOSQUITTO_URL, stop: async () => {} };
  return startMosquitto();
}
