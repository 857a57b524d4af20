/** `wardstream bridge`: MQTT in, Kafka out: the embedded broker (or a subscription to MQTT_URL) feeding the vitals topic. Needs KAFKA_BROKERS; METRICS_PORT serves /metrics and /healthz. */
import type { Command } from 'commander';
import { runComponents } from '../components.ts';
import type { CliContext } from '../context.ts';

export function registerBridge(program: Command, ctx: CliContext): void {
  program
    .command('bridge')
    .description('MQTT in, Kafka out: the embedded broker (or a subscription to MQTT_URL) feeding the vitals topic')
    .action(() => runComponents('bridge', ctx));
}
