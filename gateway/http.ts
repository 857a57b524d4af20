/**
 * The gateway's HTTP routes (beside the WebSocket endpoint `/ws`):
 *
 *   GET /healthz     200 only when the feed's readers joined and every dependency reports healthy
 *   GET /metrics     Prometheus text format
 *   GET /            the ward dashboard page (`index.html` of the static directory)
 *   GET /client.js   the dashboard's protocol client (gateway/client.ts bundled by `buildClientBundle`)
 *   any other        404 with a protocol error body
 *
 * Static files are read once at start from the directory the gateway is given (`staticDir`);
 * nothing is compiled at start. uWS MUST: a response answered after an await (/metrics)
 * registers onAborted and is corked.
 */

import type uWS from 'uWebSockets.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from '../common/log.ts';
import type { prom } from '../common/metrics.ts';
import { healthResponse, metricsResponse, type ProbeResponse } from '../common/metrics-server.ts';

export interface StaticFiles {
  readonly page: Buffer;
  /** Null when the directory holds no client bundle (a source tree not built): /client.js is then a 404. */
  readonly clientJs: Buffer | null;
}

const FALLBACK_PAGE = '<!doctype html><title>wardstream</title><p>wardstream gateway';

/** Reads `index.html` and `client.js` from `dir` (a path, or a file: URL ending in a slash). */
export function loadStaticFiles(dir: string | URL, log: Logger): StaticFiles {
  const read = (name: string) => {
    try {
      return readFileSync(new URL(name, asDirUrl(dir)));
    } catch {
      return null;
    }
  };
  const clientJs = read('client.js');
  if (!clientJs) log.warn('dashboard client bundle missing: /client.js answers 404 (npm run build writes it)', { staticDir: String(dir) });
  return { page: read('index.html') ?? Buffer.from(FALLBACK_PAGE), clientJs };
}

function asDirUrl(dir: string | URL): URL {
  const href = dir instanceof URL ? dir.href : pathToFileURL(path.resolve(dir)).href;
  return new URL(href.endsWith('/') ? href : `${href}/`);
}

const notFound = (res: uWS.HttpResponse) => {
  res
    .writeStatus('404 Not Found')
    .writeHeader('content-type', 'application/json')
    .end(JSON.stringify({ type: 'error', code: 'GATEWAY_ERR_BAD_REQUEST', message: 'not found' }));
};

export function registerRoutes(app: uWS.TemplatedApp, o: { registry: prom.Registry; joined: () => boolean; healthy: () => boolean; files: StaticFiles }): void {
  const { registry, files } = o;
  // The same response builders as every other component's METRICS_PORT server.
  const answer = (res: uWS.HttpResponse, r: ProbeResponse) => res.writeStatus(r.statusLine).writeHeader('content-type', r.contentType).end(r.body);
  app.get('/healthz', (res) => {
    answer(res, healthResponse(o.healthy(), { gatewayConsumer: o.joined() }));
  });
  app.get('/metrics', (res) => {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    void metricsResponse(registry).then((r) => {
      if (!aborted) res.cork(() => answer(res, r));
    });
  });
  app.get('/', (res) => {
    res.writeHeader('content-type', 'text/html; charset=utf-8').end(files.page);
  });
  app.get('/client.js', (res) => {
    if (!files.clientJs) {
      notFound(res);
      return;
    }
    res.writeHeader('content-type', 'text/javascript; charset=utf-8').writeHeader('cache-control', 'no-cache').end(files.clientJs);
  });
  app.any('/*', notFound);
}
