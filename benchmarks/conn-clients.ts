/**
 * One load-generator process for benchmarks/connections.ts: opens `--count` authenticated
 * connections with the typed protocol client (gateway/client.ts) from `--local` (a 127.0.0.x
 * source address, so several processes do not share one ephemeral port range), subscribes each
 * to one of `--wards` wards, and reports to its parent over IPC: progress, then the delivery
 * latency (receive time − alert eventTs) of every alert it receives. `--protocol centrifugo`
 * does the same against Centrifugo (the fan-out peer).
 */

import WebSocket from 'ws';
import { signToken } from '../gateway/auth.ts';
import { WardstreamClient } from '../gateway/client.ts';
import { arg } from './util.ts';

const url = arg('--url', '');
const count = Number(arg('--count', '1000'));
const local = arg('--local', '127.0.0.1');
const wards = Number(arg('--wards', '20'));
const offset = Number(arg('--offset', '0'));
const send = (m: unknown) => process.send!(m);
const auth = { secret: process.env.WARDSTREAM_JWT_SECRET!, issuer: 'wardstream', audience: 'wardstream-gateway' };
const tokens = await Promise.all(
  Array.from({ length: wards }, (_, w) => signToken(auth, { sub: `load-${w}`, role: 'nurse', wards: [`lw-${w}`], ttlSec: 3600 })),
);

const protocol = arg('--protocol', 'wardstream');
const clients: { close(): void }[] = [];
const latencies: number[] = [];
let subscribed = 0;
let failed = 0;
const INFLIGHT = 200;
let next = 0;

/**
 * The Centrifugo peer (benchmarks/peers/centrifugo.ts) speaks Centrifugo's client protocol (v2,
 * JSON): a connect command with the token, a subscribe command, publications pushed as
 * `{"push":{"channel","pub":{"data"}}}`; an empty message is the server's ping and is answered
 * with an empty message (or the server disconnects the client).
 */
function centrifugoClient(w: number, finish: (ok: boolean) => void): { close(): void } {
  const ws = new WebSocket(url, { localAddress: local, perMessageDeflate: false });
  ws.on('open', () =>
    ws.send(
      `${JSON.stringify({ id: 1, connect: { token: tokens[w], name: 'wardstream-bench' } })}\n${JSON.stringify({ id: 2, subscribe: { channel: `lw-${w}` } })}`,
    ),
  );
  ws.on('message', (data: Buffer) => {
    for (const line of data.toString('utf8').split('\n')) {
      if (!line) continue;
      const m = JSON.parse(line) as { id?: number; error?: unknown; push?: { pub?: { data?: { eventTs?: number } } } };
      if (m.id === undefined && !m.push) {
        ws.send('{}');
        continue;
      } // ping → pong
      if (m.error) {
        if (failed < 5) console.error(`centrifugo command ${m.id}: ${JSON.stringify(m.error)}`);
        finish(false);
        ws.close();
        continue;
      }
      if (m.id === 2) finish(true);
      const ts = m.push?.pub?.data?.eventTs;
      if (typeof ts === 'number') latencies.push(Date.now() - ts);
    }
  });
  ws.on('close', () => finish(false));
  ws.on('error', () => finish(false));
  return { close: () => ws.close() };
}

await new Promise<void>((resolve) => {
  const openOne = () => {
    if (next >= count) {
      if (subscribed + failed >= count) resolve();
      return;
    }
    const i = next++;
    const w = (offset + i) % wards;
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      if (ok) subscribed++;
      else failed++;
      if ((subscribed + failed) % 500 === 0) send({ type: 'progress', subscribed, failed });
      if (subscribed + failed >= count) resolve();
      else openOne();
    };
    if (protocol === 'centrifugo') {
      clients.push(centrifugoClient(w, finish));
      return;
    }
    const c = new WardstreamClient({
      url,
      token: tokens[w]!,
      reconnect: false,
      socket: (u, t) => new WebSocket(u, { localAddress: local, headers: { authorization: `Bearer ${t}` }, perMessageDeflate: false }) as never,
    });
    c.on('welcome', () => c.subscribe(`lw-${w}`));
    c.on('subscribed', () => finish(true));
    c.on('state', (s) => {
      if (s === 'closed') {
        if (!done && failed < 5) console.error(`connection ${i} closed before subscribing: ${JSON.stringify(c.lastClose)}`);
        finish(false);
      }
    });
    c.on('alert', (m) => {
      const ts = m.alert.eventTs;
      latencies.push(Date.now() - ts);
    });
    clients.push(c);
  };
  for (let k = 0; k < Math.min(INFLIGHT, count); k++) openOne();
});
send({ type: 'ready', subscribed, failed });
process.on('message', (m: { type: string }) => {
  if (m.type === 'report') {
    send({ type: 'latencies', latencies: latencies.splice(0) });
  }
  if (m.type === 'stop') {
    for (const c of clients) c.close();
    setTimeout(() => process.exit(0), 500);
  }
});
