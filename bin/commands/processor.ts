/** `wardstream processor`: the clinical rules: vitals in, alert events out, state in the changelog (share partitions by running several). Needs KAFKA_BROKERS; METRICS_PORT serves /metrics and /healthz. */
import type { Command } from 'commander';
import { runComponents } from '../components.ts';
import type { CliContext } from '../context.ts';

export function registerProcessor(program: Command, ctx: CliContext): void {
  program
    .command('processor')
    .description('the clinical rules: vitals in, alert events out, state in the changelog (share partitions by running several)')
    .action(() => runComponents('processor', ctx));
}
