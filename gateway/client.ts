/**
 * Typed client for the wardstream WebSocket protocol (docs/protocol.md), used by the dashboard
 * page (bundled by gateway/bundle.ts into the static directory, served at /client.js), the tests
 * and the load tools. Only type imports (the message types of gateway/protocol.ts, erased when
 * bundled): it takes the WebSocket implementation (the browser's, or `ws` in Node).
 *
 * What it adds over a raw socket:
 *  - gap-free resume: it keeps the last position of each stream per subscribed ward and, after
 *    a reconnect, re-subscribes with `since`, so the server replays exactly what was missed (or
 *    says `resynced` and sends a snapshot);
 *  - reconnection with capped exponential backoff; a 1008 close (token expired) stops it unless
 *    `getToken` can supply a fresh token;
 *  - `refresh(token)` on the open connection (no reconnect, no lost position);
 *  - typed events.
 * Delivery: events arrive at most once per connection and resume fills gaps across
 * connections; alert events may repeat after a processor restart and carry the same `eventId`
 * (de-duplicate on it, as the page does).
 */

import type { Position, ServerMessage } from './protocol.ts';

export type { Position, ServerMessage };
/** The last position of each stream of a ward (mutable copy of protocol.ts' ResumePoint). */
export interface Since {
  partition: number;
  vitals: string | null;
  alerts: string | null;
}

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
export type SocketFactory = (url: string, token: string) => SocketLike;

export interface ClientOptions {
  /** ws:// or wss:// URL of the gateway's /ws endpoint. */
  readonly url: string;
  readonly token: string;
  /** Creates the socket (default: the global WebSocket with the token as `access_token`). */
  readonly socket?: SocketFactory;
  /** Asked for a new token when the old one expired (1008); null stops the client. */
  readonly getToken?: () => Promise<string | null> | string | null;
  readonly reconnect?: boolean;
  readonly maxBackoffMs?: number;
}

type Handler<T> = (m: T) => void;
type Of<K extends ServerMessage['type']> = Extract<ServerMessage, { type: K }>;

export class WardstreamClient {
  state: ConnectionState = 'connecting';
  /** Code and reason of the last close (diagnostics). */
  lastClose: { code: number; reason: string } | null = null;
  private ws: SocketLike | null = null;
  private token: string;
  private retry = 0;
  private stopped = false;
  private readonly wards = new Map<string, Since | null>();
  private readonly handlers = new Map<string, Handler<never>[]>();

  constructor(private readonly o: ClientOptions) {
    this.token = o.token;
    this.open();
  }

  on<K extends ServerMessage['type'] | 'state'>(type: K, h: Handler<K extends 'state' ? ConnectionState : Of<Exclude<K, 'state'>>>): this {
    const l = this.handlers.get(type) ?? [];
    l.push(h as Handler<never>);
    this.handlers.set(type, l);
    return this;
  }

  subscribe(ward: string): void {
    if (!this.wards.has(ward)) this.wards.set(ward, null);
    this.send({ type: 'subscribe', ward });
  }

  unsubscribe(ward: string): void {
    this.wards.delete(ward);
    this.send({ type: 'unsubscribe', ward });
  }

  ack(alertId: string): void {
    this.send({ type: 'ack', alertId });
  }
  silence(alertId: string, durationSec: number): void {
    this.send({ type: 'silence', alertId, durationSec });
  }
  ping(): void {
    this.send({ type: 'ping' });
  }

  /** Replaces the token on the open connection (and for later reconnects). */
  refresh(token: string): void {
    this.token = token;
    this.send({ type: 'refresh', token });
  }

  /** Last positions per subscribed ward (what a reconnect resumes from). */
  positions(): ReadonlyMap<string, Since | null> {
    return this.wards;
  }

  /** Drops the connection as a network failure would (tests); the client reconnects and resumes. */
  drop(): void {
    this.ws?.close(4000, 'dropped');
  }

  close(): void {
    this.stopped = true;
    this.setState('closed');
    this.ws?.close(1000, 'bye');
  }

  private emit(type: string, m: unknown): void {
    for (const h of [...(this.handlers.get(type) ?? [])]) (h as Handler<unknown>)(m);
  }

  private setState(s: ConnectionState): void {
    if (this.state === s) return;
    this.state = s;
    this.emit('state', s);
  }

  private send(m: Record<string, unknown>): void {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(m));
  }

  private open(): void {
    const factory: SocketFactory =
      this.o.socket ??
      ((url, token) => {
        const W = (globalThis as unknown as { WebSocket: new (u: string) => SocketLike }).WebSocket;
        return new W(`${url}?access_token=${encodeURIComponent(token)}`);
      });
    const ws = factory(this.o.url, this.token);
    this.ws = ws;
    ws.onmessage = (ev) => this.onMessage(JSON.parse(String(ev.data)) as ServerMessage);
    ws.onerror = () => {
      /* a close follows */
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.lastClose = { code: ev.code, reason: ev.reason ?? '' };
      if (this.stopped || this.o.reconnect === false) {
        this.setState('closed');
        return;
      }
      void this.reopen(ev.code);
    };
  }

  private async reopen(code: number): Promise<void> {
    if (code === 1008) {
      const t = this.o.getToken ? await this.o.getToken() : null;
      if (!t) {
        this.stopped = true;
        this.setState('closed');
        this.emit('error', { type: 'error', code: 'GATEWAY_ERR_UNAUTHORIZED', message: 'token expired' });
        return;
      }
      this.token = t;
    }
    this.setState('reconnecting');
    const delay = Math.min(this.o.maxBackoffMs ?? 5000, 250 * 2 ** this.retry++);
    setTimeout(() => {
      if (!this.stopped) this.open();
    }, delay);
  }

  private onMessage(m: ServerMessage): void {
    switch (m.type) {
      case 'welcome':
        this.retry = 0;
        this.setState('open');
        // (Re)subscribe every ward, resuming from the last positions seen.
        for (const [ward, since] of this.wards) this.send(since ? { type: 'subscribe', ward, since } : { type: 'subscribe', ward });
        break;
      case 'subscribed':
        if (!m.resumed) this.wards.set(m.ward, { partition: m.partition, vitals: m.head.vitals, alerts: m.head.alerts });
        break;
      case 'unsubscribed':
        this.wards.delete(m.ward);
        break;
      case 'vitals':
      case 'alert': {
        const ward = m.type === 'vitals' ? m.reading.wardId : m.alert.wardId;
        const s = this.wards.get(ward);
        if (s && s.partition === m.position.partition) s[m.position.topic] = m.position.offset;
        break;
      }
      default:
        break;
    }
    this.emit(m.type, m);
  }
}
