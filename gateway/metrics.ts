/**
 * The gateway's Prometheus series (on the process registry). Labels are bounded: kinds,
 * reasons, outcomes and error codes, never a patient, ward or user.
 */
import { LATENCY_BUCKETS, prom } from '../common/metrics.ts';

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;

/** @param sockets the open connections, whose buffered bytes are summed when scraped. */
export function createGatewayMetrics(registry: prom.Registry, sockets: Iterable<{ getBufferedAmount(): number }>) {
  const registers = [registry];
  return {
    connections: new prom.Gauge({ name: 'wardstream_gateway_connections', help: 'Open WebSocket connections', registers }),
    subscriptions: new prom.Gauge({ name: 'wardstream_gateway_subscriptions', help: 'Ward subscriptions across connections', registers }),
    sent: new prom.Counter({ name: 'wardstream_gateway_events_total', help: 'Events published to ward topics, by kind', labelNames: ['kind'], registers }),
    rejected: new prom.Counter({ name: 'wardstream_gateway_rejected_total', help: 'Refused upgrades and messages, by code', labelNames: ['code'], registers }),
    disconnects: new prom.Counter({ name: 'wardstream_gateway_disconnects_total', help: 'Connections closed, by reason', labelNames: ['reason'], registers }),
    conflated: new prom.Counter({
      name: 'wardstream_gateway_conflated_total',
      help: 'Times a slow client was switched to conflated vitals (latest per patient)',
      registers,
    }),
    bufferedBytes: new prom.Gauge({
      name: 'wardstream_gateway_buffered_bytes',
      help: 'Bytes buffered for WebSocket clients, all connections',
      registers,
      collect() {
        let n = 0;
        for (const ws of sockets) {
          try {
            n += ws.getBufferedAmount();
          } catch {
            /* closed */
          }
        }
        this.set(n);
      },
    }),
    resumed: new prom.Counter({
      name: 'wardstream_gateway_resumes_total',
      help: 'Resubscriptions with a position, by outcome (resumed without gap, or resynced from a snapshot)',
      labelNames: ['outcome'],
      registers,
    }),
    deviceToGateway: new prom.Histogram({
      name: 'wardstream_device_to_gateway_seconds',
      help: 'Device timestamp to gateway send, by kind',
      labelNames: ['kind'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
  };
}
