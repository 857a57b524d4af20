/** `wardstream gateway`: HTTP and WebSocket server for the ward dashboards, on HOST:PORT. Needs KAFKA_BROKERS. */
import type { Command } from 'commander';
import { runComponents } from '../components.ts';
import type { CliContext } from '../context.ts';

export function registerGateway(program: Command, ctx: CliContext): void {
  program
    .command('gateway')
    .description('HTTP and WebSocket server for the ward dashboards, on HOST:PORT')
    .action(() => runComponents('gateway', ctx));
}
