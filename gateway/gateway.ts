/**
 * The gateway: uWebSockets.js HTTP + WebSocket server fed by Kafka.
 *
 *   GET /healthz   200 only when every dependency reports healthy (Kafka, MQTT, consumers)
 *   GET /metrics   Prometheus text format
 *   GET /          the ward dashboard page
 *   WS  /ws        token as `Authorization: Bearer …` or `?access_token=…`
 *
 * Delivery: each gateway instance reads `vitals` and `alerts` with its own consumer group,
 * from the latest offsets at start; alert events are de-duplicated on eventId (the processors
 * are at-least-once). Events fan out through uWS topics per ward and kind (v/{ward},
 * a/{ward}); a socket is subscribed only after its token was checked for that ward, and admin
 * tokens never join vitals topics.
 *
 * uWebSockets.js rules followed here (MUST): request data is copied synchronously before any
 * await; every async response registers onAborted; writes after an await are corked; memory
 * per socket is bounded by maxBackpressure, and a socket over the limit is closed (it resumes
 * by reconnecting) rather than silently skipped.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { transformSync } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kafka } from 'kafkajs';
import uWS from 'uWebSockets.js';
import type { Config } from '../common/config.ts';
import { WardstreamError, type ErrorCode } from '../common/errors.ts';
import type { Logger } from '../common/log.ts';
import { LATENCY_BUCKETS, prom } from '../common/metrics.ts';
import type { Codec } from '../schemas/codec.ts';
import type { Topics } from '../schemas/topics.ts';
import { canActOnAlerts, canSeeVitals, canSeeWard, verifyToken, type AuthConfig, type Principal } from './auth.ts';
import { createProducer, whenReady } from '../common/kafka.ts';
import { partitionForWard } from '../schemas/topics.ts';
import type { AlertEvent, PatientStatus } from '../schemas/records.ts';
import { alertsTopic, parseClientMessage, vitalsTopic, type PatientSnapshot, type ServerMessage } from './protocol.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

interface SocketData {
  principal: Principal;
  id: string;
  wards: Set<string>;
  expiryTimer: NodeJS.Timeout | null;
  tokens: number;
  lastRefill: number;
  closed: boolean;
  /** Slow client: vitals are withheld (conflated to the latest per patient) until it drains. */
  conflating: boolean;
  /** Wards whose vitals this socket receives (clinical roles). */
  vitalsWards: Set<string>;
}

/** Above this many buffered bytes a socket stops getting every reading (alerts still flow). */
export const CONFLATE_ABOVE_BYTES = 256 * 1024;
/** …and gets the latest reading per patient, then the live stream again, below this. */
export const RESUME_BELOW_BYTES = 64 * 1024;

export interface Gateway {
  readonly port: number;
  readonly url: string;
  healthy(): boolean;
  connections(): number;
  close(): Promise<void>;
}

/** Bounded set of recently seen ids (FIFO eviction). */
class RecentIds {
  private readonly set = new Set<string>();
  constructor(private readonly max: number) {}
  addIfNew(id: string): boolean {
    if (this.set.has(id)) return false;
    this.set.add(id);
    if (this.set.size > this.max) this.set.delete(this.set.values().next().value!);
    return true;
  }
}

/**
 * Recent events per (stream, partition), for gap-free resume. It holds a contiguous run of
 * offsets from `floor` on (every event of the partition, whatever its ward), so it can tell
 * whether a client's position can be served without a gap; bounded per partition.
 */
class History {
  private readonly runs = new Map<string, { offset: bigint; ward: string; json: string }[]>();
  private readonly floors = new Map<string, bigint>();
  constructor(private readonly max: number) {}
  setFloor(topic: string, partition: number, offset: bigint): void { this.floors.set(`${topic}:${partition}`, offset); }
  add(topic: string, partition: number, offset: bigint, ward: string, json: string): void {
    const k = `${topic}:${partition}`;
    let run = this.runs.get(k);
    if (!run) this.runs.set(k, (run = []));
    const last = run.at(-1);
    if (last && offset <= last.offset) return; // re-read after a seek: already held
    if (!last && offset > (this.floors.get(k) ?? 0n)) this.floors.set(k, offset); // contiguous only from here
    run.push({ offset, ward, json });
    if (run.length > this.max) { const gone = run.splice(0, run.length - this.max); this.floors.set(k, gone.at(-1)!.offset + 1n); }
  }
  /** The offset a client is at when it has seen everything held: the last one, or the one before the floor. */
  head(topic: string, partition: number): string {
    const k = `${topic}:${partition}`;
    const last = this.runs.get(k)?.at(-1);
    return (last ? last.offset : (this.floors.get(k) ?? 0n) - 1n).toString();
  }
  /** Events of `ward` after offset `after`; null when events after it are no longer held (a gap). */
  since(topic: string, partition: number, ward: string, after: string | null): string[] | null {
    const k = `${topic}:${partition}`;
    const from = after === null ? null : BigInt(after) + 1n;
    const floor = this.floors.get(k);
    if (from === null || floor === undefined || from < floor) return null;
    return (this.runs.get(k) ?? []).filter((e) => e.offset >= from && e.ward === ward).map((e) => e.json);
  }
}

const RATE_PER_SEC = 20;
const RATE_BURST = 40;

export async function startGateway(o: {
  config: Config; kafka: Kafka; codec: Codec; topics: Topics; log: Logger; registry: prom.Registry;
  auth: AuthConfig; dependenciesHealthy?: () => boolean; instanceId?: string;
}): Promise<Gateway> {
  const { config, log, codec, topics } = o;
  const registers = [o.registry];
  const m = {
    connections: new prom.Gauge({ name: 'wardstream_gateway_connections', help: 'Open WebSocket connections', registers }),
    subscriptions: new prom.Gauge({ name: 'wardstream_gateway_subscriptions', help: 'Ward subscriptions across connections', registers }),
    sent: new prom.Counter({ name: 'wardstream_gateway_events_total', help: 'Events published to ward topics, by kind', labelNames: ['kind'], registers }),
    rejected: new prom.Counter({ name: 'wardstream_gateway_rejected_total', help: 'Refused upgrades and messages, by code', labelNames: ['code'], registers }),
    disconnects: new prom.Counter({ name: 'wardstream_gateway_disconnects_total', help: 'Connections closed, by reason', labelNames: ['reason'], registers }),
    conflated: new prom.Counter({ name: 'wardstream_gateway_conflated_total', help: 'Times a slow client was switched to conflated vitals (latest per patient)', registers }),
    bufferedBytes: new prom.Gauge({ name: 'wardstream_gateway_buffered_bytes', help: 'Bytes buffered for WebSocket clients, all connections', registers, collect() { let n = 0; for (const ws of sockets) { try { n += ws.getBufferedAmount(); } catch { /* closed */ } } this.set(n); } }),
    resumed: new prom.Counter({ name: 'wardstream_gateway_resumes_total', help: 'Resubscriptions with a position, by outcome (resumed without gap, or resynced from a snapshot)', labelNames: ['outcome'], registers }),
    deviceToGateway: new prom.Histogram({ name: 'wardstream_device_to_gateway_seconds', help: 'Device timestamp to gateway send, by kind', labelNames: ['kind'], buckets: LATENCY_BUCKETS, registers }),
  };
  const sockets = new Set<uWS.WebSocket<SocketData>>();
  const seenAlertEvents = new RecentIds(100_000);
  const history = new History(config.resumeBufferPerPartition);
  /** Latest vitals event per patient, by ward: what a conflating client gets when it catches up. */
  const latestVitals = new Map<string, Map<string, string>>();
  // Backpressure: every 100 ms, sockets over CONFLATE_ABOVE_BYTES leave their wards' vitals
  // topics (alerts keep flowing, bounded by maxBackpressure, beyond which the socket is closed
  // and the client resumes). Memory per socket stays bounded whatever the client does.
  const conflateTimer = setInterval(() => {
    for (const ws of sockets) {
      const d = ws.getUserData();
      if (d.closed || d.conflating || d.vitalsWards.size === 0 || ws.getBufferedAmount() <= CONFLATE_ABOVE_BYTES) continue;
      d.conflating = true;
      for (const ward of d.vitalsWards) ws.unsubscribe(vitalsTopic(ward));
      m.conflated.inc();
    }
  }, 100);
  // Caches (the gateway is otherwise stateless): latest status per patient, by ward, from the
  // compacted patient-status topic; open alerts by id, so an action can be checked against the
  // ward it belongs to before it is written.
  const statusByWard = new Map<string, Map<string, PatientStatus>>();
  const openAlerts = new Map<string, Pick<AlertEvent, 'alertId' | 'patientId' | 'wardId' | 'state'>>();
  const actions = createProducer(o.kafka);
  await actions.connect();
  /** Alerts raised before this gateway started are known from patient-status. */
  const findInStatus = (alertId: string) => {
    for (const map of statusByWard.values()) {
      for (const st of map.values()) {
        const a = st.activeAlerts.find((x) => x.alertId === alertId);
        if (a) return { alertId, patientId: st.patientId, wardId: st.wardId, state: a.state };
      }
    }
    return undefined;
  };
  const snapshotOf = (ward: string, vitals: boolean): PatientSnapshot[] => [...(statusByWard.get(ward)?.values() ?? [])].map((st) => (vitals
    ? { patientId: st.patientId, bed: st.bed, updatedTs: st.updatedTs, vitals: st.vitals, news2Total: st.news2Total, news2Level: st.news2Level, news2SubScores: st.news2SubScores, activeAlerts: st.activeAlerts }
    : { patientId: st.patientId, bed: st.bed, updatedTs: st.updatedTs, activeAlerts: st.activeAlerts }));
  let consumerJoined = false;
  const page = (() => { try { return readFileSync(path.join(here, 'public', 'index.html')); } catch { return Buffer.from('<!doctype html><title>wardstream</title><p>wardstream gateway'); } })();
  // The page's protocol client is gateway/client.ts itself, type-stripped once at start (no build step).
  const clientJs = transformSync(readFileSync(path.join(here, 'client.ts'), 'utf8'), { loader: 'ts', format: 'esm', target: 'es2020' }).code;

  const send = (ws: uWS.WebSocket<SocketData>, msg: ServerMessage) => { if (!ws.getUserData().closed) ws.send(JSON.stringify(msg)); };
  const sendError = (ws: uWS.WebSocket<SocketData>, code: ErrorCode, message: string) => { m.rejected.inc({ code }); send(ws, { type: 'error', code, message }); };

  // TLS when a certificate is configured (wss:// and https://); plain otherwise (development, or
  // behind a TLS-terminating proxy).
  const tls = config.tlsCertFile && config.tlsKeyFile;
  /** Token expiry is enforced on open connections too: close with 1008 (policy violation). */
  const armExpiry = (ws: uWS.WebSocket<SocketData>, d: SocketData) => {
    if (d.expiryTimer) clearTimeout(d.expiryTimer);
    d.expiryTimer = setTimeout(() => { if (!d.closed) { m.disconnects.inc({ reason: 'token_expired' }); ws.end(1008, 'token expired'); } }, Math.max(0, d.principal.exp * 1000 - Date.now()));
  };
  /** Unsubscribe, by request or because a refreshed token no longer grants the ward. */
  const leaveWard = (ws: uWS.WebSocket<SocketData>, d: SocketData, ward: string) => {
    ws.unsubscribe(alertsTopic(ward));
    ws.unsubscribe(vitalsTopic(ward));
    d.vitalsWards.delete(ward);
    if (d.wards.delete(ward)) m.subscriptions.dec();
    send(ws, { type: 'unsubscribed', ward });
  };
  const app = tls ? uWS.SSLApp({ cert_file_name: config.tlsCertFile!, key_file_name: config.tlsKeyFile! }) : uWS.App();
  app.ws<SocketData>('/ws', {
    maxPayloadLength: 16 * 1024,
    idleTimeout: 60,
    sendPingsAutomatically: true,
    maxBackpressure: 4 * 1024 * 1024,
    closeOnBackpressureLimit: 1,
    upgrade: (res, req, context) => {
      // MUST: copy everything from req synchronously; req is invalid after the first await.
      const secKey = req.getHeader('sec-websocket-key');
      const secProtocol = req.getHeader('sec-websocket-protocol');
      const secExtensions = req.getHeader('sec-websocket-extensions');
      const authorization = req.getHeader('authorization');
      const origin = req.getHeader('origin');
      const query = new URLSearchParams(req.getQuery() ?? '');
      let aborted = false;
      res.onAborted(() => { aborted = true; });
      const refuse = (status: string, code: ErrorCode, message: string) => {
        m.rejected.inc({ code });
        res.cork(() => res.writeStatus(status).writeHeader('content-type', 'application/json').end(JSON.stringify({ type: 'error', code, message })));
      };
      if (origin && config.allowedOrigins.length > 0 && !config.allowedOrigins.includes(origin)) {
        refuse('403 Forbidden', 'GATEWAY_ERR_ORIGIN', 'origin not allowed');
        return;
      }
      const bearer = /^Bearer\s+(.+)$/i.exec(authorization)?.[1] ?? query.get('access_token');
      if (!bearer) { refuse('401 Unauthorized', 'GATEWAY_ERR_UNAUTHORIZED', 'missing token'); return; }
      verifyToken(bearer, o.auth).then(
        (principal) => {
          if (aborted) return;
          res.cork(() => res.upgrade<SocketData>({
            principal, id: randomUUID(), wards: new Set(), expiryTimer: null, tokens: RATE_BURST, lastRefill: Date.now(), closed: false, conflating: false, vitalsWards: new Set(),
          }, secKey, secProtocol, secExtensions, context));
        },
        (err: unknown) => {
          if (aborted) return;
          const e = err instanceof WardstreamError ? err : new WardstreamError('GATEWAY_ERR_UNAUTHORIZED');
          refuse('401 Unauthorized', e.code, e.message);
        },
      );
    },
    open: (ws) => {
      const d = ws.getUserData();
      sockets.add(ws);
      m.connections.set(sockets.size);
      armExpiry(ws, d);
      send(ws, { type: 'welcome', user: d.principal.sub, role: d.principal.role, wards: d.principal.wards, expiresAt: d.principal.exp });
    },
    message: (ws, raw) => {
      const d = ws.getUserData();
      const now = Date.now();
      d.tokens = Math.min(RATE_BURST, d.tokens + ((now - d.lastRefill) / 1000) * RATE_PER_SEC);
      d.lastRefill = now;
      if (d.tokens < 1) { sendError(ws, 'GATEWAY_ERR_RATE_LIMIT', `more than ${RATE_PER_SEC} messages/s`); return; }
      d.tokens -= 1;
      const parsed = parseClientMessage(raw);
      if (!parsed.ok) { sendError(ws, parsed.code, parsed.message); return; }
      const msg = parsed.msg;
      switch (msg.type) {
        case 'ping':
          send(ws, { type: 'pong' });
          return;
        case 'refresh': {
          // A new token for the same user, before the old one expires: subscriptions, positions
          // and buffered events stay; only what the new token grants is kept.
          verifyToken(msg.token, o.auth).then((p) => {
            if (d.closed) return;
            if (p.sub !== d.principal.sub) { sendError(ws, 'GATEWAY_ERR_FORBIDDEN', 'refresh must carry a token of the same user'); return; }
            d.principal = p;
            armExpiry(ws, d);
            ws.cork(() => {
              for (const ward of [...d.wards]) {
                if (!canSeeWard(p, ward)) leaveWard(ws, d, ward);
              }
              if (!canSeeVitals(p)) for (const ward of [...d.vitalsWards]) { ws.unsubscribe(vitalsTopic(ward)); d.vitalsWards.delete(ward); }
              send(ws, { type: 'refreshed', expiresAt: p.exp, role: p.role, wards: p.wards });
            });
          }, (err: unknown) => {
            if (d.closed) return;
            const e = err instanceof WardstreamError ? err : new WardstreamError('GATEWAY_ERR_UNAUTHORIZED');
            sendError(ws, e.code, e.message); // the current token stays valid until it expires
          });
          return;
        }
        case 'subscribe': {
          // Authorization on every subscription, not only at connect.
          if (d.principal.exp * 1000 <= now) { ws.end(1008, 'token expired'); return; }
          if (!canSeeWard(d.principal, msg.ward)) { sendError(ws, 'GATEWAY_ERR_FORBIDDEN', `token does not grant ward ${msg.ward}`); return; }
          const vitals = canSeeVitals(d.principal);
          const partition = partitionForWard(msg.ward, config.kafkaPartitions);
          // Resume: replay what the client missed, or say plainly that it cannot (resynced).
          let replay: string[] | null = null;
          if (msg.since && msg.since.partition === partition) {
            const a = history.since('alerts', partition, msg.ward, msg.since.alerts);
            const v = vitals ? history.since('vitals', partition, msg.ward, msg.since.vitals) : [];
            if (a !== null && v !== null) replay = [...a, ...v];
          }
          const resumed = replay !== null;
          const resynced = msg.since !== undefined && !resumed;
          // Subscribing, snapshot/replay and live events happen in this one synchronous handler:
          // nothing published can fall between the replay and the live stream.
          ws.subscribe(alertsTopic(msg.ward));
          if (vitals) { d.vitalsWards.add(msg.ward); if (!d.conflating) ws.subscribe(vitalsTopic(msg.ward)); }
          if (!d.wards.has(msg.ward)) { d.wards.add(msg.ward); m.subscriptions.inc(); }
          ws.cork(() => {
            send(ws, { type: 'subscribed', ward: msg.ward, vitals, partition, resumed, resynced, head: { vitals: history.head('vitals', partition), alerts: history.head('alerts', partition) } });
            if (resumed) { for (const j of replay!) ws.send(j); m.resumed.inc({ outcome: 'resumed' }); }
            else {
              // Snapshot, then deltas: the latest known state of every patient of the ward.
              send(ws, { type: 'snapshot', ward: msg.ward, patients: snapshotOf(msg.ward, vitals), resynced });
              if (resynced) m.resumed.inc({ outcome: 'resynced' });
            }
          });
          return;
        }
        case 'ack':
        case 'silence': {
          // Authorization on every action: a clinical role, a live token, and the alert's ward.
          if (d.principal.exp * 1000 <= now) { ws.end(1008, 'token expired'); return; }
          if (!canActOnAlerts(d.principal)) { sendError(ws, 'GATEWAY_ERR_FORBIDDEN', `role ${d.principal.role} cannot ${msg.type} alerts`); return; }
          const alert = openAlerts.get(msg.alertId) ?? findInStatus(msg.alertId);
          if (!alert) { sendError(ws, 'GATEWAY_ERR_BAD_REQUEST', `no open alert ${msg.alertId}`); return; }
          if (!canSeeWard(d.principal, alert.wardId)) { sendError(ws, 'GATEWAY_ERR_FORBIDDEN', `token does not grant ward ${alert.wardId}`); return; }
          const actionId = randomUUID();
          const action = { actionId, alertId: alert.alertId, patientId: alert.patientId, wardId: alert.wardId, action: msg.type, durationMs: msg.type === 'silence' ? msg.durationSec * 1000 : null, user: d.principal.sub, role: d.principal.role, ts: now };
          // Delivery: acks=all before we confirm; the processors apply an actionId once.
          actions.send({ topic: topics.alertActions, acks: -1, messages: [{ key: alert.patientId, value: codec.encode('action', action), partition: partitionForWard(alert.wardId, config.kafkaPartitions) }] }).then(
            () => { if (!d.closed) ws.cork(() => send(ws, { type: 'action-accepted', actionId, alertId: alert.alertId, action: msg.type })); },
            (e: Error) => { log.error('alert action not written', { err: e }); if (!d.closed) ws.cork(() => sendError(ws, 'GATEWAY_ERR_BAD_REQUEST', 'action could not be recorded; try again')); },
          );
          return;
        }
        case 'unsubscribe':
          leaveWard(ws, d, msg.ward);
          return;
      }
    },
    drain: (ws) => {
      // A conflating client caught up: the latest reading of every patient of its wards, then live.
      const d = ws.getUserData();
      if (!d.conflating || ws.getBufferedAmount() > RESUME_BELOW_BYTES) return;
      d.conflating = false;
      ws.cork(() => {
        for (const ward of d.vitalsWards) {
          for (const json of latestVitals.get(ward)?.values() ?? []) ws.send(json);
          ws.subscribe(vitalsTopic(ward));
        }
      });
    },
    close: (ws, code) => {
      const d = ws.getUserData();
      d.closed = true;
      if (d.expiryTimer) clearTimeout(d.expiryTimer);
      m.subscriptions.dec(d.wards.size);
      sockets.delete(ws);
      m.connections.set(sockets.size);
      if (code !== 1008) m.disconnects.inc({ reason: code === 1006 ? 'abnormal' : 'closed' });
    },
  });
  app.get('/healthz', (res) => {
    const ok = consumerJoined && (o.dependenciesHealthy?.() ?? true);
    res.writeStatus(ok ? '200 OK' : '503 Service Unavailable').writeHeader('content-type', 'application/json').end(JSON.stringify({ ok, gatewayConsumer: consumerJoined }));
  });
  app.get('/metrics', (res) => {
    let aborted = false;
    res.onAborted(() => { aborted = true; });
    o.registry.metrics().then((text) => {
      if (aborted) return;
      res.cork(() => res.writeHeader('content-type', o.registry.contentType).end(text));
    }, () => { if (!aborted) res.cork(() => res.writeStatus('500 Internal Server Error').end()); });
  });
  app.get('/', (res) => { res.writeHeader('content-type', 'text/html; charset=utf-8').end(page); });
  app.get('/client.js', (res) => { res.writeHeader('content-type', 'text/javascript; charset=utf-8').writeHeader('cache-control', 'no-cache').end(clientJs); });
  app.any('/*', (res) => { res.writeStatus('404 Not Found').writeHeader('content-type', 'application/json').end(JSON.stringify({ type: 'error', code: 'GATEWAY_ERR_BAD_REQUEST', message: 'not found' })); });

  const listenSocket = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
    app.listen(config.host, config.port, (s) => (s ? resolve(s) : reject(new Error(`gateway could not listen on ${config.host}:${config.port}`))));
  });
  const port = uWS.us_socket_local_port(listenSocket);

  // patient-status → snapshot cache (compacted topic, read from the beginning).
  const statusConsumer = o.kafka.consumer({ groupId: `${config.kafkaTopicPrefix}wardstream-gateway-status-${o.instanceId ?? randomUUID()}`, maxWaitTimeInMs: 500 });
  await statusConsumer.connect();
  await statusConsumer.subscribe({ topic: topics.patientStatus, fromBeginning: true });
  await statusConsumer.run({
    autoCommit: false,
    eachMessage: async ({ message }) => {
      if (!message.value || !message.key) return;
      try {
        const st = codec.decode('status', message.value);
        for (const [w, map] of statusByWard) if (w !== st.wardId) map.delete(st.patientId); // moved wards
        let map = statusByWard.get(st.wardId);
        if (!map) statusByWard.set(st.wardId, (map = new Map()));
        map.set(st.patientId, st);
      } catch (e) { log.error('undecodable patient status skipped', { err: e as Error }); }
    },
  });

  // Kafka → ward topics.
  // A fetch returns as soon as a record arrives, so the wait only bounds idle polling: 10 ms
  // here cost ~8 % of a core in an idle gateway, with the same delivery latency (A/B in
  // benchmarks/README.md §7).
  const consumer = o.kafka.consumer({ groupId: `${config.kafkaTopicPrefix}wardstream-gateway-${o.instanceId ?? randomUUID()}`, maxWaitTimeInMs: 500, sessionTimeout: 10_000, heartbeatInterval: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.vitals, topics.alerts], fromBeginning: false });
  // Start RESUME_WINDOW_MS back, so a client resuming from another (or a restarted) gateway
  // finds its position here too: gateways are stateless apart from this cache.
  const backfill = new Map<string, { partition: number; offset: string }[]>();
  {
    const admin = o.kafka.admin();
    await admin.connect();
    for (const t of [topics.vitals, topics.alerts]) {
      const offs = await whenReady(() => admin.fetchTopicOffsetsByTimestamp(t, Date.now() - config.resumeWindowMs));
      backfill.set(t, offs.map((x) => ({ partition: x.partition, offset: x.offset })));
      for (const x of offs) history.setFloor(t === topics.alerts ? 'alerts' : 'vitals', x.partition, BigInt(x.offset));
    }
    await admin.disconnect();
  }
  consumer.on(consumer.events.GROUP_JOIN, () => { consumerJoined = true; });
  consumer.on(consumer.events.CRASH, (e) => { consumerJoined = false; log.error('gateway consumer crashed', { err: e.payload.error }); });
  await consumer.run({
    // Offsets are not committed: a gateway starts at the live end, and resume is served from
    // positions carried in each event. (Committing per batch also cost a round trip per fetch.)
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const isAlerts = batch.topic === topics.alerts;
      const now = Date.now();
      for (const msg of batch.messages) {
        if (!msg.value) continue;
        const position = { topic: isAlerts ? 'alerts' as const : 'vitals' as const, partition: batch.partition, offset: msg.offset };
        try {
          if (isAlerts) {
            const alert = codec.decode('alert', msg.value);
            if (!seenAlertEvents.addIfNew(alert.eventId)) continue;
            if (alert.state === 'inactive') openAlerts.delete(alert.alertId);
            else {
              openAlerts.set(alert.alertId, { alertId: alert.alertId, patientId: alert.patientId, wardId: alert.wardId, state: alert.state });
              if (openAlerts.size > 200_000) openAlerts.delete(openAlerts.keys().next().value!);
            }
            const json = JSON.stringify({ type: 'alert', position, alert: { id: alert.alertId, ...alert } } satisfies ServerMessage);
            history.add('alerts', batch.partition, BigInt(msg.offset), alert.wardId, json);
            app.publish(alertsTopic(alert.wardId), json);
            log.debug('alert sent to ward subscribers', { alertId: alert.alertId, phase: alert.phase, wardId: alert.wardId, correlationId: alert.correlationId });
            m.sent.inc({ kind: 'alert' });
            m.deviceToGateway.observe({ kind: 'alert' }, Math.max(0, now - alert.eventTs) / 1000);
          } else {
            const reading = codec.decode('vitals', msg.value);
            const json = JSON.stringify({ type: 'vitals', position, reading } satisfies ServerMessage);
            history.add('vitals', batch.partition, BigInt(msg.offset), reading.wardId, json);
            let lw = latestVitals.get(reading.wardId);
            if (!lw) latestVitals.set(reading.wardId, (lw = new Map()));
            lw.set(reading.patientId, json);
            app.publish(vitalsTopic(reading.wardId), json);
            m.sent.inc({ kind: 'vitals' });
            m.deviceToGateway.observe({ kind: 'vitals' }, Math.max(0, now - reading.ts) / 1000);
          }
        } catch (e) {
          log.error('undecodable record skipped by gateway', { err: e as Error, topic: batch.topic, partition: batch.partition, offset: msg.offset });
        }
      }
    },
  });

  for (const [topic, offs] of backfill) for (const x of offs) consumer.seek({ topic, partition: x.partition, offset: x.offset });

  return {
    port,
    url: `${tls ? 'https' : 'http'}://${config.host}:${port}`,
    healthy: () => consumerJoined && (o.dependenciesHealthy?.() ?? true),
    connections: () => sockets.size,
    async close() {
      clearInterval(conflateTimer);
      await consumer.disconnect();
      await statusConsumer.disconnect();
      await actions.disconnect();
      for (const ws of [...sockets]) { try { ws.end(1001, 'gateway shutting down'); } catch { /* already closed */ } }
      uWS.us_listen_socket_close(listenSocket);
    },
  };
}
