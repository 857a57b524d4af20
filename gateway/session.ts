/**
 * One WebSocket connection's state (uWS user data) and the socket surface the gateway's logic
 * uses: the handlers, conflation and tests see a `ClientSocket`, which a uWS WebSocket is and a
 * fake socket in the unit tests imitates. Pure apart from the types.
 */
import type { Principal } from './auth.ts';

export interface Session {
  /** Replaced by a refresh with a token of the same user. */
  principal: Principal;
  readonly id: string;
  /** Subscribed wards (alerts, and vitals for clinical roles). */
  readonly wards: Set<string>;
  expiryTimer: NodeJS.Timeout | null;
  /** Rate limit: a token bucket, refilled on each message. */
  tokens: number;
  lastRefill: number;
  /** Set by uWS' close handler; nothing is sent after it. */
  closed: boolean;
  /** Slow client: vitals are withheld (conflated to the latest per patient) until it drains. */
  conflating: boolean;
  /** Wards whose vitals this socket receives (clinical roles). */
  readonly vitalsWards: Set<string>;
}

/** What the gateway calls on a connection (a subset of uWS' WebSocket). */
export interface ClientSocket {
  send(message: string): number;
  subscribe(topic: string): boolean;
  unsubscribe(topic: string): boolean;
  cork(cb: () => void): unknown;
  end(code?: number, reason?: string): void;
  getBufferedAmount(): number;
  getUserData(): Session;
}

/** Client messages per second, sustained, and the burst allowed above it. */
export const RATE_PER_SEC = 20;
export const RATE_BURST = 40;

export function newSession(principal: Principal, id: string, now: number): Session {
  return { principal, id, wards: new Set(), expiryTimer: null, tokens: RATE_BURST, lastRefill: now, closed: false, conflating: false, vitalsWards: new Set() };
}

/** Refills the bucket for the time since the last message and takes one token; false when the client is over the limit. */
export function takeToken(s: Session, now: number): boolean {
  s.tokens = Math.min(RATE_BURST, s.tokens + ((now - s.lastRefill) / 1000) * RATE_PER_SEC);
  s.lastRefill = now;
  if (s.tokens < 1) return false;
  s.tokens -= 1;
  return true;
}
