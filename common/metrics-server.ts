/**
 * The one metrics and health endpoint. `probeResponse` builds the responses of
 *
 *   GET /metrics   Prometheus text format of the process's registry (500 if collecting fails)
 *   GET /healthz   200 {"ok":true,…} when every part of the process reports healthy, else 503
 *
 * for any HTTP server: the gateway answers them on its own port (uWebSockets.js) from these
 * same functions; bridge, processor and sink processes have no HTTP server of their own and
 * get `startMetricsServer` on METRICS_PORT.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { prom } from './metrics.ts';

export interface ProbeResponse {
  readonly status: number;
  /** e.g. "503 Service Unavailable" (what uWebSockets.js' writeStatus takes). */
  readonly statusLine: string;
  readonly contentType: string;
  readonly body: string;
}

const response = (status: number, contentType: string, body: string): ProbeResponse => ({
  status,
  statusLine: `${status} ${http.STATUS_CODES[status]}`,
  contentType,
  body,
});

/** GET /healthz: `{"ok":…}` plus any details the component adds (never patient data). */
export function healthResponse(ok: boolean, details: Readonly<Record<string, unknown>> = {}): ProbeResponse {
  return response(ok ? 200 : 503, 'application/json', JSON.stringify({ ok, ...details }));
}

/** GET /metrics. */
export async function metricsResponse(registry: prom.Registry): Promise<ProbeResponse> {
  try {
    return response(200, registry.contentType, await registry.metrics());
  } catch {
    return response(500, 'text/plain', '');
  }
}

/** The response for `path`, or null when it is neither /metrics nor /healthz. */
export async function probeResponse(path: string | undefined, registry: prom.Registry, healthy: () => boolean): Promise<ProbeResponse | null> {
  if (path === '/metrics') return metricsResponse(registry);
  if (path === '/healthz') return healthResponse(healthy());
  return null;
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** A small HTTP server answering /metrics and /healthz (404 for anything else). */
export async function startMetricsServer(o: { host: string; port: number; registry: prom.Registry; healthy: () => boolean }): Promise<MetricsServer> {
  const srv = http.createServer((req, res) => {
    void probeResponse(req.url, o.registry, o.healthy).then((r) => {
      if (!r) {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(r.status, { 'content-type': r.contentType });
      res.end(r.body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(o.port, o.host, () => resolve());
  });
  return {
    port: (srv.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => srv.close(() => r())),
  };
}
