/** `wardstream sink`: write vitals, alerts, actions and the audit trail to PostgreSQL (DATABASE_URL, or an embedded server). Needs KAFKA_BROKERS; METRICS_PORT serves /metrics and /healthz. */
import type { Command } from 'commander';
import { runComponents } from '../components.ts';
import type { CliContext } from '../context.ts';

export function registerSink(program: Command, ctx: CliContext): void {
  program
    .command('sink')
    .description('write vitals, alerts, actions and the audit trail to PostgreSQL (DATABASE_URL, or an embedded server)')
    .action(() => runComponents('sink', ctx));
}
