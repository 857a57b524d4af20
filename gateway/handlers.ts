/**
 * Client messages (docs/protocol.md), one handler per message type in `HANDLERS`, keyed on the
 * parsed message's `type`. A handler gets the gateway's state (`GatewayCore`), the socket, its
 * session and the message; it needs neither uWS nor Kafka (the unit tests drive it with a fake
 * socket and an in-memory feed).
 *
 * Rules every handler keeps:
 *  - authorization on every message, not only at connect: a live token, the ward, the role;
 *  - uWS MUST: a write after an await (a token check, a Kafka write) is corked and skipped when
 *    the socket closed meanwhile (`closed` is set by uWS' close handler);
 *  - subscribing, the replay or snapshot, and the live stream happen in one synchronous call,
 *    so nothing published can fall between them (gap-free resume);
 *  - an action is confirmed (`action-accepted`) only after the feed made it durable.
 * Asynchronous handlers return their promise (it never rejects) so tests can await them.
 */
import { randomUUID } from 'node:crypto';
import { type ErrorCode, WardstreamError } from '../common/errors.ts';
import type { Logger } from '../common/log.ts';
import { partitionForWard } from '../schemas/topics.ts';
import { type AuthConfig, canActOnAlerts, canSeeVitals, canSeeWard, verifyToken } from './auth.ts';
import type { Feed } from './feed.ts';
import type { GatewayMetrics } from './metrics.ts';
import { alertsTopic, type ClientMessage, parseClientMessage, type ServerMessage, vitalsTopic } from './protocol.ts';
import type { ResumeBuffer } from './resume-buffer.ts';
import { type ClientSocket, RATE_PER_SEC, type Session, takeToken } from './session.ts';
import type { SnapshotCache } from './snapshot-cache.ts';

/** What the handlers work on: the gateway's caches, its feed's writer, metrics and clock. */
export interface GatewayCore {
  /** Partitions of every ward topic (config `kafkaPartitions`): a ward's partition is the same in each. */
  readonly partitions: number;
  readonly auth: AuthConfig;
  readonly resume: ResumeBuffer;
  readonly cache: SnapshotCache;
  readonly feed: Pick<Feed, 'writeAction'>;
  readonly metrics: Pick<GatewayMetrics, 'rejected' | 'subscriptions' | 'resumed' | 'disconnects'>;
  readonly log: Logger;
  readonly now: () => number;
}

type Of<K extends ClientMessage['type']> = Extract<ClientMessage, { type: K }>;
export type Handler<K extends ClientMessage['type']> = (core: GatewayCore, ws: ClientSocket, d: Session, msg: Of<K>, now: number) => void | Promise<void>;

export function send(ws: ClientSocket, msg: ServerMessage): void {
  if (!ws.getUserData().closed) ws.send(JSON.stringify(msg));
}

export function sendError(core: GatewayCore, ws: ClientSocket, code: ErrorCode, message: string): void {
  core.metrics.rejected.inc({ code });
  send(ws, { type: 'error', code, message });
}

/** Token expiry is enforced on open connections too: close with 1008 (policy violation). */
export function armExpiry(core: GatewayCore, ws: ClientSocket, d: Session): void {
  if (d.expiryTimer) clearTimeout(d.expiryTimer);
  d.expiryTimer = setTimeout(
    () => {
      if (!d.closed) {
        core.metrics.disconnects.inc({ reason: 'token_expired' });
        ws.end(1008, 'token expired');
      }
    },
    Math.max(0, d.principal.exp * 1000 - core.now()),
  );
}

/** A new connection: its expiry is armed and it is welcomed with what its token grants. */
export function onOpen(core: GatewayCore, ws: ClientSocket): void {
  const d = ws.getUserData();
  armExpiry(core, ws, d);
  send(ws, { type: 'welcome', user: d.principal.sub, role: d.principal.role, wards: d.principal.wards, expiresAt: d.principal.exp });
}

/** A closed connection (uWS close handler): nothing is sent to it any more. */
export function onClose(core: GatewayCore, d: Session, code: number): void {
  d.closed = true;
  if (d.expiryTimer) clearTimeout(d.expiryTimer);
  core.metrics.subscriptions.dec(d.wards.size);
  if (code !== 1008) core.metrics.disconnects.inc({ reason: code === 1006 ? 'abnormal' : 'closed' });
}

/** A client message: rate limit, parse, then the handler of its type. */
export function onMessage(core: GatewayCore, ws: ClientSocket, raw: ArrayBuffer | string): void | Promise<void> {
  const d = ws.getUserData();
  const now = core.now();
  if (!takeToken(d, now)) {
    sendError(core, ws, 'GATEWAY_ERR_RATE_LIMIT', `more than ${RATE_PER_SEC} messages/s`);
    return;
  }
  const parsed = parseClientMessage(raw);
  if (!parsed.ok) {
    sendError(core, ws, parsed.code, parsed.message);
    return;
  }
  const handler = HANDLERS[parsed.msg.type] as Handler<ClientMessage['type']>;
  return handler(core, ws, d, parsed.msg, now);
}

/** Unsubscribe, by request or because a refreshed token no longer grants the ward. */
function leaveWard(core: GatewayCore, ws: ClientSocket, d: Session, ward: string): void {
  ws.unsubscribe(alertsTopic(ward));
  ws.unsubscribe(vitalsTopic(ward));
  d.vitalsWards.delete(ward);
  if (d.wards.delete(ward)) core.metrics.subscriptions.dec();
  send(ws, { type: 'unsubscribed', ward });
}

const ping: Handler<'ping'> = (_core, ws) => {
  send(ws, { type: 'pong' });
};

/**
 * A new token for the same user, before the old one expires: subscriptions, positions and
 * buffered events stay; only what the new token grants is kept. A refused token leaves the
 * current one valid until it expires.
 */
const refresh: Handler<'refresh'> = (core, ws, d, msg) =>
  verifyToken(msg.token, core.auth).then(
    (p) => {
      if (d.closed) return;
      if (p.sub !== d.principal.sub) {
        sendError(core, ws, 'GATEWAY_ERR_FORBIDDEN', 'refresh must carry a token of the same user');
        return;
      }
      d.principal = p;
      armExpiry(core, ws, d);
      ws.cork(() => {
        for (const ward of [...d.wards]) {
          if (!canSeeWard(p, ward)) leaveWard(core, ws, d, ward);
        }
        if (!canSeeVitals(p))
          for (const ward of [...d.vitalsWards]) {
            ws.unsubscribe(vitalsTopic(ward));
            d.vitalsWards.delete(ward);
          }
        send(ws, { type: 'refreshed', expiresAt: p.exp, role: p.role, wards: p.wards });
      });
    },
    (err: unknown) => {
      if (d.closed) return;
      const e = err instanceof WardstreamError ? err : new WardstreamError('GATEWAY_ERR_UNAUTHORIZED');
      sendError(core, ws, e.code, e.message);
    },
  );

/**
 * Subscribe to a ward: alerts always, vitals for clinical roles (unless the socket is
 * conflating). With `since`, the events missed after it are replayed (`resumed`), or, when they
 * are no longer held, a snapshot flagged `resynced` says so; without it, a snapshot.
 */
const subscribe: Handler<'subscribe'> = (core, ws, d, msg, now) => {
  if (d.principal.exp * 1000 <= now) {
    ws.end(1008, 'token expired');
    return;
  }
  if (!canSeeWard(d.principal, msg.ward)) {
    sendError(core, ws, 'GATEWAY_ERR_FORBIDDEN', `token does not grant ward ${msg.ward}`);
    return;
  }
  const { resume, cache, metrics: m } = core;
  const vitals = canSeeVitals(d.principal);
  const partition = partitionForWard(msg.ward, core.partitions);
  let replay: string[] | null = null;
  if (msg.since && msg.since.partition === partition) {
    const a = resume.since('alerts', partition, msg.ward, msg.since.alerts);
    const v = vitals ? resume.since('vitals', partition, msg.ward, msg.since.vitals) : [];
    if (a !== null && v !== null) replay = [...a, ...v];
  }
  const resumed = replay !== null;
  const resynced = msg.since !== undefined && !resumed;
  ws.subscribe(alertsTopic(msg.ward));
  if (vitals) {
    d.vitalsWards.add(msg.ward);
    if (!d.conflating) ws.subscribe(vitalsTopic(msg.ward));
  }
  if (!d.wards.has(msg.ward)) {
    d.wards.add(msg.ward);
    m.subscriptions.inc();
  }
  ws.cork(() => {
    const head = { vitals: resume.head('vitals', partition), alerts: resume.head('alerts', partition) };
    send(ws, { type: 'subscribed', ward: msg.ward, vitals, partition, resumed, resynced, head });
    if (resumed) {
      for (const j of replay!) ws.send(j);
      m.resumed.inc({ outcome: 'resumed' });
    } else {
      send(ws, { type: 'snapshot', ward: msg.ward, patients: cache.snapshot(msg.ward, vitals), resynced });
      if (resynced) m.resumed.inc({ outcome: 'resynced' });
    }
  });
};

/** Acknowledge or silence an alert: a clinical role, a live token, and the alert's ward; written to the feed before it is confirmed. */
function act(core: GatewayCore, ws: ClientSocket, d: Session, msg: Of<'ack' | 'silence'>, now: number): void | Promise<void> {
  if (d.principal.exp * 1000 <= now) {
    ws.end(1008, 'token expired');
    return;
  }
  if (!canActOnAlerts(d.principal)) {
    sendError(core, ws, 'GATEWAY_ERR_FORBIDDEN', `role ${d.principal.role} cannot ${msg.type} alerts`);
    return;
  }
  const alert = core.cache.findAlert(msg.alertId);
  if (!alert) {
    sendError(core, ws, 'GATEWAY_ERR_BAD_REQUEST', `no open alert ${msg.alertId}`);
    return;
  }
  if (!canSeeWard(d.principal, alert.wardId)) {
    sendError(core, ws, 'GATEWAY_ERR_FORBIDDEN', `token does not grant ward ${alert.wardId}`);
    return;
  }
  const actionId = randomUUID();
  const action = {
    actionId,
    alertId: alert.alertId,
    patientId: alert.patientId,
    wardId: alert.wardId,
    action: msg.type,
    durationMs: msg.type === 'silence' ? msg.durationSec * 1000 : null,
    user: d.principal.sub,
    role: d.principal.role,
    ts: now,
  };
  return core.feed.writeAction(action).then(
    () => {
      if (!d.closed) ws.cork(() => send(ws, { type: 'action-accepted', actionId, alertId: alert.alertId, action: msg.type }));
    },
    (e: Error) => {
      core.log.error('alert action not written', { err: e });
      if (!d.closed) ws.cork(() => sendError(core, ws, 'GATEWAY_ERR_BAD_REQUEST', 'action could not be recorded; try again'));
    },
  );
}

const unsubscribe: Handler<'unsubscribe'> = (core, ws, d, msg) => {
  leaveWard(core, ws, d, msg.ward);
};

export const HANDLERS: { readonly [K in ClientMessage['type']]: Handler<K> } = { subscribe, unsubscribe, ack: act, silence: act, refresh, ping };
