/**
 * `wardstream start` (`npm start`): the whole pipeline on embedded defaults — a local Kafka
 * (unless KAFKA_BROKERS), the embedded MQTT broker, an embedded PostgreSQL (unless
 * DATABASE_URL), every component, and a simulator feeding it.
 */
import type { Command } from 'commander';
import { runComponents } from '../components.ts';
import type { CliContext } from '../context.ts';
import { type CohortValues, cohortOptions, scenarioOption } from '../options.ts';

export function registerStart(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('start')
    .description('the whole pipeline on embedded defaults (local Kafka, embedded MQTT, embedded PostgreSQL) with a simulator');
  cmd.option('--no-simulate', 'without the simulator').option('--no-history', 'without PostgreSQL and the sink');
  for (const o of cohortOptions({ patients: 40, wards: 4 })) cmd.addOption(o);
  cmd
    .addOption(scenarioOption('mixed'))
    .action((o: CohortValues & { simulate: boolean; history: boolean }) =>
      runComponents('start', ctx, { simulate: o.simulate, history: o.history, cohort: o }),
    );
}
