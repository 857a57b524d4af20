import { describe, expect, it } from 'vitest';
import { createRegistry, prom } from '../../common/metrics.ts';
import { healthResponse, metricsResponse, probeResponse, startMetricsServer } from '../../common/metrics-server.ts';

describe('metrics and health responses', () => {
  it('healthz: 200 or 503 with the details, as JSON', () => {
    expect(healthResponse(true)).toEqual({ status: 200, statusLine: '200 OK', contentType: 'application/json', body: '{"ok":true}' });
    expect(healthResponse(false, { gatewayConsumer: false })).toEqual({
      status: 503,
      statusLine: '503 Service Unavailable',
      contentType: 'application/json',
      body: '{"ok":false,"gatewayConsumer":false}',
    });
  });

  it('metrics: the registry in Prometheus text format; 500 when collecting fails', async () => {
    const registry = createRegistry('unit');
    new prom.Counter({ name: 'wardstream_unit_total', help: 'a counter', registers: [registry] }).inc(3);
    const r = await metricsResponse(registry);
    expect(r.status).toBe(200);
    expect(r.contentType).toBe(registry.contentType);
    expect(r.body).toMatch(/wardstream_unit_total\{component="unit"\} 3/);
    const broken = { metrics: () => Promise.reject(new Error('collect failed')), contentType: 'text/plain' } as unknown as prom.Registry;
    expect((await metricsResponse(broken)).status).toBe(500);
    expect(await probeResponse('/other', registry, () => true)).toBeNull();
  });

  it('the server answers both paths on loopback and 404 otherwise', async () => {
    let ok = true;
    const srv = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: createRegistry('unit'), healthy: () => ok });
    try {
      const get = (p: string) => fetch(`http://127.0.0.1:${srv.port}${p}`);
      expect((await get('/healthz')).status).toBe(200);
      ok = false;
      const down = await get('/healthz');
      expect([down.status, await down.json()]).toEqual([503, { ok: false }]);
      expect(await (await get('/metrics')).text()).toMatch(/process_cpu_user_seconds_total/);
      expect((await get('/nope')).status).toBe(404);
    } finally {
      await srv.close();
    }
  });
});
