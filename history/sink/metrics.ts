/** The sink's Prometheus series (docs/operations.md lists them); no label carries a patient id. */
import { LATENCY_BUCKETS, prom } from '../../common/metrics.ts';

export type SinkMetrics = ReturnType<typeof sinkMetrics>;

export function sinkMetrics(registry: prom.Registry) {
  const registers = [registry];
  return {
    rows: new prom.Counter({
      name: 'wardstream_sink_records_total',
      help: 'Records consumed by the history sink, by table (rows already present count too: inserts are idempotent)',
      labelNames: ['table'],
      registers,
    }),
    undecodable: new prom.Counter({
      name: 'wardstream_sink_undecodable_total',
      help: 'Records the sink could not decode (logged, skipped)',
      labelNames: ['topic'],
      registers,
    }),
    failures: new prom.Counter({
      name: 'wardstream_sink_write_failures_total',
      help: 'Failed database writes of the sink, by registry code (retriable ones are retried, the others counted towards dead-lettering)',
      labelNames: ['code'],
      registers,
    }),
    deadLetters: new prom.Counter({
      name: 'wardstream_sink_dead_letters_total',
      help: 'Records the database refused, sent to history.dlq, by reason',
      labelNames: ['reason'],
      registers,
    }),
    batchSeconds: new prom.Histogram({
      name: 'wardstream_sink_batch_seconds',
      help: 'Decode plus database transaction plus offset commit of one batch',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    lag: new prom.Gauge({
      name: 'wardstream_sink_consumer_lag',
      help: 'High watermark minus the next offset, per topic and partition',
      labelNames: ['topic', 'partition'],
      registers,
    }),
  };
}
