/**
 * The gateway's logic without uWS or Kafka: a fake socket (records what it is sent, the topics it
 * joined, how it was ended), an in-memory pub/sub standing in for uWS' app.publish, the
 * in-memory feed, and the same core, fan-out and handlers the gateway wires.
 */
import { createLogger } from '../../../common/log.ts';
import { prom } from '../../../common/metrics.ts';
import { type Principal, type Role, signToken } from '../../../gateway/auth.ts';
import { RecentIds } from '../../../gateway/dedup.ts';
import { createFanout } from '../../../gateway/fanout.ts';
import { type GatewayCore, onClose, onMessage, onOpen } from '../../../gateway/handlers.ts';
import { createGatewayMetrics } from '../../../gateway/metrics.ts';
import { ResumeBuffer } from '../../../gateway/resume-buffer.ts';
import { type ClientSocket, newSession, type Session } from '../../../gateway/session.ts';
import { SnapshotCache } from '../../../gateway/snapshot-cache.ts';
import type { AlertEvent, PatientStatus, VitalsReading } from '../../../schemas/records.ts';
import { MemoryFeed } from './memory-feed.ts';

export const AUTH = { secret: 'unit-secret-'.padEnd(48, 'x'), issuer: 'wardstream', audience: 'wardstream-gateway' };
export const PARTITIONS = 4;

export class FakeSocket implements ClientSocket {
  readonly sent: string[] = [];
  readonly topics = new Set<string>();
  ended: { code: number | undefined; reason: string | undefined } | null = null;
  buffered = 0;
  constructor(
    private readonly data: Session,
    readonly hub: Hub,
  ) {
    hub.sockets.add(this);
  }
  send(message: string): number {
    this.sent.push(message);
    return 1;
  }
  subscribe(topic: string): boolean {
    this.topics.add(topic);
    return true;
  }
  unsubscribe(topic: string): boolean {
    return this.topics.delete(topic);
  }
  cork(cb: () => void): this {
    cb();
    return this;
  }
  end(code?: number, reason?: string): void {
    this.ended = { code, reason };
  }
  getBufferedAmount(): number {
    return this.buffered;
  }
  getUserData(): Session {
    return this.data;
  }
  /** Everything received, parsed. */
  messages(): Record<string, unknown>[] {
    return this.sent.map((s) => JSON.parse(s) as Record<string, unknown>);
  }
  ofType(type: string): Record<string, unknown>[] {
    return this.messages().filter((m) => m.type === type);
  }
  last(): Record<string, unknown> {
    return this.messages().at(-1)!;
  }
  clear(): void {
    this.sent.length = 0;
  }
}

/** uWS' topic fan-out, in memory: a message published to a topic reaches every socket subscribed to it. */
export class Hub {
  readonly sockets = new Set<FakeSocket>();
  publish(topic: string, json: string): void {
    for (const s of this.sockets) if (s.topics.has(topic)) s.send(json);
  }
}

export interface Harness {
  core: GatewayCore;
  feed: MemoryFeed;
  hub: Hub;
  metrics: ReturnType<typeof createGatewayMetrics>;
  registry: prom.Registry;
  /** The clock the handlers see (ms); tests move it. */
  clock: { now: number };
  connect(p?: Partial<Principal>): FakeSocket;
  /** A client message (object or raw text) through rate limit, parser and handler. */
  send(ws: FakeSocket, msg: unknown): Promise<void>;
  close(ws: FakeSocket, code?: number): void;
}

export async function harness(o: { bufferPerPartition?: number; floors?: number[] } = {}): Promise<Harness> {
  const registry = new prom.Registry();
  const hub = new Hub();
  const metrics = createGatewayMetrics(registry, hub.sockets);
  const feed = new MemoryFeed(o.floors ?? [0, 1, 2, 3]);
  const clock = { now: Date.now() };
  const core: GatewayCore = {
    partitions: PARTITIONS,
    auth: AUTH,
    resume: new ResumeBuffer(o.bufferPerPartition ?? 100),
    cache: new SnapshotCache(),
    feed,
    metrics,
    log: createLogger('unit', 'error'),
    now: () => clock.now,
  };
  const publish = (t: string, j: string) => hub.publish(t, j);
  await feed.start(createFanout({ resume: core.resume, cache: core.cache, seen: new RecentIds(1000), metrics, log: core.log, publish }));
  return {
    core,
    feed,
    hub,
    metrics,
    registry,
    clock,
    connect(p = {}) {
      const principal: Principal = { sub: 'nurse-1', role: 'nurse', wards: ['w1'], exp: Math.floor(clock.now / 1000) + 600, ...p };
      const ws = new FakeSocket(newSession(principal, `s-${hub.sockets.size}`, clock.now), hub);
      onOpen(core, ws);
      return ws;
    },
    async send(ws, msg) {
      await onMessage(core, ws, typeof msg === 'string' ? msg : JSON.stringify(msg));
    },
    close(ws, code = 1000) {
      onClose(core, ws.getUserData(), code);
      hub.sockets.delete(ws);
    },
  };
}

export function token(o: { sub?: string; role?: Role; wards: string[]; ttlSec?: number }): Promise<string> {
  return signToken(AUTH, { sub: o.sub ?? 'nurse-1', role: o.role ?? 'nurse', wards: o.wards, ttlSec: o.ttlSec ?? 600 });
}

let seq = 0;
export function reading(o: { patientId: string; wardId: string; heartRate?: number }): VitalsReading {
  seq++;
  return {
    patientId: o.patientId,
    wardId: o.wardId,
    bed: null,
    deviceId: `dev-${o.patientId}`,
    seq,
    ts: 1_700_000_000_000 + seq,
    receivedAt: 1_700_000_000_000 + seq,
    heartRate: o.heartRate ?? 70,
    spo2: 97,
    respRate: null,
    systolicBp: null,
    diastolicBp: null,
    temperature: null,
    consciousness: null,
    onOxygen: null,
    correlationId: `c-${seq}`,
  };
}

export function alert(o: { alertId: string; patientId: string; wardId: string; eventId?: string; state?: AlertEvent['state'] }): AlertEvent {
  return {
    eventId: o.eventId ?? `${o.alertId}-${++seq}`,
    alertId: o.alertId,
    patientId: o.patientId,
    wardId: o.wardId,
    bed: null,
    rule: 'hr-high',
    priority: 'high',
    phase: o.state === 'inactive' ? 'end' : 'start',
    state: o.state ?? 'active',
    parameter: 'heartRate',
    value: 140,
    threshold: 130,
    onsetTs: 1_700_000_000_000,
    eventTs: 1_700_000_000_000,
    message: 'HR high',
    ruleVersion: 'v1',
    correlationId: 'c',
    details: null,
    notify: ['nurse'],
    actor: null,
    actorRole: null,
    groupedWith: null,
    silencedUntil: null,
  };
}

export function status(o: { patientId: string; wardId: string; alerts?: PatientStatus['activeAlerts'] }): PatientStatus {
  return {
    patientId: o.patientId,
    wardId: o.wardId,
    bed: '1',
    updatedTs: 1_700_000_000_000,
    vitals: { heartRate: { value: 72, ts: 1_700_000_000_000 } },
    consciousness: 'A',
    onOxygen: false,
    news2Total: 1,
    news2Level: 'low',
    news2SubScores: { heartRate: 0 },
    activeAlerts: o.alerts ?? [],
  };
}

/** The value of a counter or gauge series with these labels (0 when absent). */
type Series = { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> };
export async function metricValue(metric: Series, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await metric.get();
  return values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))?.value ?? 0;
}
