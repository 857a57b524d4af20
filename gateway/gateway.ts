/**
 * The gateway: a uWebSockets.js HTTP + WebSocket server fed by a `Feed` (Kafka). This module
 * only wires the parts; each algorithm lives in its own pure module:
 *
 *   feed.ts, kafka-feed.ts   records of vitals, alerts, patient-status in; alert actions out
 *   fanout.ts                records → JSON once → resume buffer, caches, uWS ward topics
 *   resume-buffer.ts         contiguous recent events per partition: gap-free resume or `resynced`
 *   snapshot-cache.ts        latest status per patient by ward, open alerts, latest vitals
 *   dedup.ts                 alert events once per eventId
 *   handlers.ts              client messages, one handler per type
 *   conflation.ts            slow clients: conflated vitals, every alert
 *   session.ts               per-connection state, rate limit
 *   http.ts, metrics.ts      /healthz, /metrics, static files; Prometheus series
 *
 *   WS  /ws        token as `Authorization: Bearer …` or `?access_token=…`
 *
 * Delivery: events fan out through uWS topics per ward and kind (v/{ward}, a/{ward}); a socket
 * is subscribed only after its token was checked for that ward, and admin tokens never join
 * vitals topics. Alert events reach a client at most once per connection and gap-free across
 * reconnects (resume from positions, or a snapshot flagged `resynced`).
 *
 * uWebSockets.js rules followed here (MUST): request data is copied synchronously before any
 * await; every async response registers onAborted; writes after an await are corked; memory
 * per socket is bounded by maxBackpressure, and a socket over the limit is closed (it resumes
 * by reconnecting) rather than silently skipped.
 */

import uWS from 'uWebSockets.js';
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { Config } from '../common/config.ts';
import { type ErrorCode, WardstreamError } from '../common/errors.ts';
import type { Logger } from '../common/log.ts';
import type { prom } from '../common/metrics.ts';
import type { Codec } from '../schemas/codec.ts';
import type { Topics } from '../schemas/topics.ts';
import { type AuthConfig, verifyToken } from './auth.ts';
import { CONFLATE_SWEEP_MS, catchUp, sweepSlowSockets } from './conflation.ts';
import { RecentIds } from './dedup.ts';
import { createFanout } from './fanout.ts';
import { type GatewayCore, onClose, onMessage, onOpen } from './handlers.ts';
import { loadStaticFiles, registerRoutes } from './http.ts';
import { createKafkaFeed } from './kafka-feed.ts';
import { createGatewayMetrics } from './metrics.ts';
import { ResumeBuffer } from './resume-buffer.ts';
import { newSession, type Session } from './session.ts';
import { SnapshotCache } from './snapshot-cache.ts';

export { CONFLATE_ABOVE_BYTES, RESUME_BELOW_BYTES } from './conflation.ts';

export interface Gateway {
  readonly port: number;
  readonly url: string;
  healthy(): boolean;
  connections(): number;
  close(): Promise<void>;
}

/** Alert event ids remembered for de-duplication. */
const RECENT_EVENT_IDS = 100_000;

export async function startGateway(o: {
  config: Config;
  kafka: Kafka;
  codec: Codec;
  topics: Topics;
  log: Logger;
  registry: prom.Registry;
  auth: AuthConfig;
  dependenciesHealthy?: () => boolean;
  instanceId?: string;
  /** Where index.html and client.js are served from (default: `public/` beside this module, as built into dist/). */
  staticDir?: string | URL;
}): Promise<Gateway> {
  const { config, log } = o;
  const sockets = new Set<uWS.WebSocket<Session>>();
  const m = createGatewayMetrics(o.registry, sockets);
  const feed = createKafkaFeed({ kafka: o.kafka, codec: o.codec, topics: o.topics, config, log, instanceId: o.instanceId });
  const core: GatewayCore = {
    partitions: config.kafkaPartitions,
    auth: o.auth,
    resume: new ResumeBuffer(config.resumeBufferPerPartition),
    cache: new SnapshotCache(),
    feed,
    metrics: m,
    log,
    now: Date.now,
  };
  const files = loadStaticFiles(o.staticDir ?? new URL('./public/', import.meta.url), log);
  const healthy = () => feed.joined() && (o.dependenciesHealthy?.() ?? true);
  const conflateTimer = setInterval(() => {
    const n = sweepSlowSockets(sockets);
    if (n) m.conflated.inc(n);
  }, CONFLATE_SWEEP_MS);

  // TLS when a certificate is configured (wss:// and https://); plain otherwise (development, or
  // behind a TLS-terminating proxy).
  const tls = config.tlsCertFile && config.tlsKeyFile;
  const app = tls ? uWS.SSLApp({ cert_file_name: config.tlsCertFile!, key_file_name: config.tlsKeyFile! }) : uWS.App();
  app.ws<Session>('/ws', {
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
      res.onAborted(() => {
        aborted = true;
      });
      const refuse = (status: string, code: ErrorCode, message: string) => {
        m.rejected.inc({ code });
        res.cork(() =>
          res
            .writeStatus(status)
            .writeHeader('content-type', 'application/json')
            .end(JSON.stringify({ type: 'error', code, message })),
        );
      };
      if (origin && config.allowedOrigins.length > 0 && !config.allowedOrigins.includes(origin)) {
        refuse('403 Forbidden', 'GATEWAY_ERR_ORIGIN', 'origin not allowed');
        return;
      }
      const bearer = /^Bearer\s+(.+)$/i.exec(authorization)?.[1] ?? query.get('access_token');
      if (!bearer) {
        refuse('401 Unauthorized', 'GATEWAY_ERR_UNAUTHORIZED', 'missing token');
        return;
      }
      verifyToken(bearer, o.auth).then(
        (principal) => {
          if (aborted) return;
          res.cork(() => res.upgrade<Session>(newSession(principal, randomUUID(), Date.now()), secKey, secProtocol, secExtensions, context));
        },
        (err: unknown) => {
          if (aborted) return;
          const e = err instanceof WardstreamError ? err : new WardstreamError('GATEWAY_ERR_UNAUTHORIZED');
          refuse('401 Unauthorized', e.code, e.message);
        },
      );
    },
    open: (ws) => {
      sockets.add(ws);
      m.connections.set(sockets.size);
      onOpen(core, ws);
    },
    message: (ws, raw) => {
      void onMessage(core, ws, raw);
    },
    drain: (ws) => {
      catchUp(ws, core.cache);
    },
    close: (ws, code) => {
      onClose(core, ws.getUserData(), code);
      sockets.delete(ws);
      m.connections.set(sockets.size);
    },
  });
  registerRoutes(app, { registry: o.registry, joined: () => feed.joined(), healthy, files });

  const listenSocket = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
    app.listen(config.host, config.port, (s) => (s ? resolve(s) : reject(new WardstreamError('GATEWAY_ERR_LISTEN', `${config.host}:${config.port}`))));
  });
  const port = uWS.us_socket_local_port(listenSocket);

  await feed.start(
    createFanout({
      resume: core.resume,
      cache: core.cache,
      seen: new RecentIds(RECENT_EVENT_IDS),
      metrics: m,
      log,
      publish: (topic, json) => {
        app.publish(topic, json);
      },
    }),
  );

  return {
    port,
    url: `${tls ? 'https' : 'http'}://${config.host}:${port}`,
    healthy,
    connections: () => sockets.size,
    async close() {
      clearInterval(conflateTimer);
      await feed.close();
      for (const ws of [...sockets]) {
        try {
          ws.end(1001, 'gateway shutting down');
        } catch {
          /* already closed */
        }
      }
      uWS.us_listen_socket_close(listenSocket);
    },
  };
}
