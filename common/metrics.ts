/**
 * Prometheus metrics shared plumbing. One registry per process; components register their
 * series on it. Latency buckets resolve 1 ms to 10 s. Labels are bounded: never a patient id.
 */
import client from 'prom-client';

export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createRegistry(component: string): client.Registry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ component });
  client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  return registry;
}

export { client as prom };
