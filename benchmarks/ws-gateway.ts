/**
 * The gateway's connection path on `ws` instead of uWebSockets.js, for the comparison in
 * benchmarks/connections.ts: the same token check at upgrade (verifyToken), the same client
 * protocol parsing and ward authorization, the same `welcome` / `subscribed` messages, and the
 * same fan-out of `alerts` and `vitals` records from Kafka to the subscribers of their ward
 * (one JSON serialization per record, sent to every subscriber). Not a product: no resume
 * history, snapshot, backpressure policy or actions.
 *
 *   KAFKA_BROKERS=… KAFKA_TOPIC_PREFIX=… WARDSTREAM_JWT_SECRET=… PORT=… npx tsx benchmarks/ws-gateway.ts
 */

import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';
import { loadConfig } from '../common/config.ts';
import { createKafka } from '../common/kafka.ts';
import { type AuthConfig, canSeeWard, type Principal, verifyToken } from '../gateway/auth.ts';
import { parseClientMessage } from '../gateway/protocol.ts';
import { localCodec } from '../schemas/codec.ts';
import { partitionForWard, topicNames } from '../schemas/topics.ts';

const config = loadConfig();
const auth: AuthConfig = { secret: config.jwtSecret, issuer: config.jwtIssuer, audience: config.jwtAudience };
const topics = topicNames(config.kafkaTopicPrefix);
const codec = localCodec();
const byWard = new Map<string, Set<WebSocket>>();
const server = http.createServer((_req, res) => {
  res.writeHead(404);
  res.end();
});
const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024, perMessageDeflate: false });

server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? url.searchParams.get('access_token');
  if (url.pathname !== '/ws' || !bearer) {
    socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
    return;
  }
  verifyToken(bearer, auth).then(
    (p) => wss.handleUpgrade(req, socket, head, (ws) => onOpen(ws, p)),
    () => socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n'),
  );
});

function onOpen(ws: WebSocket, p: Principal): void {
  const wards = new Set<string>();
  ws.send(JSON.stringify({ type: 'welcome', user: p.sub, role: p.role, wards: p.wards, expiresAt: p.exp }));
  ws.on('message', (raw: Buffer) => {
    const parsed = parseClientMessage(raw.toString('utf8'));
    if (!parsed.ok) {
      ws.send(JSON.stringify({ type: 'error', code: parsed.code, message: parsed.message }));
      return;
    }
    const m = parsed.msg;
    if (m.type === 'ping') ws.send('{"type":"pong"}');
    else if (m.type === 'subscribe') {
      if (!canSeeWard(p, m.ward)) {
        ws.send(JSON.stringify({ type: 'error', code: 'GATEWAY_ERR_FORBIDDEN', message: 'ward' }));
        return;
      }
      let s = byWard.get(m.ward);
      if (!s) byWard.set(m.ward, (s = new Set()));
      s.add(ws);
      wards.add(m.ward);
      ws.send(
        JSON.stringify({
          type: 'subscribed',
          ward: m.ward,
          vitals: true,
          partition: partitionForWard(m.ward, config.kafkaPartitions),
          resumed: false,
          resynced: false,
          head: { vitals: '0', alerts: '0' },
        }),
      );
    }
  });
  ws.on('close', () => {
    for (const w of wards) byWard.get(w)?.delete(ws);
  });
}

const kafka = createKafka(config.kafkaBrokers!, 'ws-gateway');
const consumer = kafka.consumer({ groupId: `${config.kafkaTopicPrefix}ws-gateway-${randomUUID()}`, maxWaitTimeInMs: 10 });
await consumer.connect();
await consumer.subscribe({ topics: [topics.alerts, topics.vitals], fromBeginning: false });
await consumer.run({
  autoCommit: false,
  eachBatch: async ({ batch }) => {
    const isAlerts = batch.topic === topics.alerts;
    for (const msg of batch.messages) {
      if (!msg.value) continue;
      const position = { topic: isAlerts ? 'alerts' : 'vitals', partition: batch.partition, offset: msg.offset };
      const rec = isAlerts ? codec.decode('alert', msg.value) : codec.decode('vitals', msg.value);
      const json = isAlerts
        ? JSON.stringify({ type: 'alert', position, alert: { id: (rec as { alertId: string }).alertId, ...rec } })
        : JSON.stringify({ type: 'vitals', position, reading: rec });
      for (const ws of byWard.get(rec.wardId) ?? []) ws.send(json);
    }
  },
});
server.listen(config.port, config.host, () => console.error(`ws gateway listening on ${config.host}:${(server.address() as { port: number }).port}`));
