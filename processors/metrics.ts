import { LATENCY_BUCKETS, prom } from '../common/metrics.ts';

export function processorMetrics(registry: prom.Registry) {
  const registers = [registry];
  return {
    readings: new prom.Counter({
      name: 'wardstream_processor_readings_total',
      help: 'Readings consumed by the processor, by verdict (new, duplicate, stale, restart, late)',
      labelNames: ['verdict'],
      registers,
    }),
    alertEvents: new prom.Counter({
      name: 'wardstream_processor_alert_events_total',
      help: 'Alert lifecycle events produced, by phase and priority',
      labelNames: ['phase', 'priority'],
      registers,
    }),
    deviceToAlert: new prom.Histogram({
      name: 'wardstream_device_to_alert_seconds',
      help: 'Device timestamp of the reading that caused an alert event to its production to Kafka',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    batchSeconds: new prom.Histogram({
      name: 'wardstream_processor_batch_seconds',
      help: 'Processing plus produce plus commit of one consumed batch',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    restoreSeconds: new prom.Histogram({
      name: 'wardstream_processor_restore_seconds',
      help: 'State restore from the changelog',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    patients: new prom.Gauge({ name: 'wardstream_processor_patients', help: 'Patients with state held by this processor', registers }),
    lag: new prom.Gauge({
      name: 'wardstream_processor_consumer_lag',
      help: 'High watermark minus the next offset, per partition of vitals',
      labelNames: ['partition'],
      registers,
    }),
  };
}
export type ProcessorMetrics = ReturnType<typeof processorMetrics>;
