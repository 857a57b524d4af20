/** `wardstream simulate`: a deterministic cohort of bedside monitors publishing over MQTT. */
import type { Command } from 'commander';
import { loadConfig } from '../../common/config.ts';
import { createLogger } from '../../common/log.ts';
import { runSimulator } from '../../tools/simulator.ts';
import type { CliContext } from '../context.ts';
import { type CohortValues, cohortOptions, numberAtLeast, scenarioOption } from '../options.ts';

export function registerSimulate(program: Command, ctx: CliContext): void {
  const cmd = program.command('simulate').description("publish simulated patients' vitals to an MQTT broker (default: the embedded one of npm start)");
  for (const o of cohortOptions({ patients: 200, wards: 4 })) cmd.addOption(o);
  cmd
    .addOption(scenarioOption())
    .option('--duration <seconds>', 'stop after this long (default: until Ctrl-C)', numberAtLeast(1))
    .option('--url <url>', 'broker (default MQTT_URL, or mqtt://MQTT_HOST:MQTT_PORT)')
    .action((o: CohortValues & { duration?: number; url?: string }) => simulate(o, ctx));
}

async function simulate(o: CohortValues & { duration?: number; url?: string }, ctx: CliContext): Promise<void> {
  const config = loadConfig(ctx.env);
  const log = createLogger('simulate');
  const url = o.url ?? config.mqttUrl ?? `mqtt://${config.mqttHost}:${config.mqttPort}`;
  const sim = await runSimulator({
    url,
    patients: o.patients,
    wards: o.wards,
    rate: o.rate,
    seed: o.seed,
    scenario: o.scenario ?? null,
    start: Date.now(),
    durationSec: o.duration,
    log: (s) => log.warn(s),
  });
  const timer = setInterval(() => ctx.err(`published ${sim.published()} readings\r`), 1000);
  const stop = async () => {
    clearInterval(timer);
    await sim.stop();
    ctx.err(`\npublished ${sim.published()} readings\n`);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  if (o.duration) {
    await new Promise((r) => setTimeout(r, o.duration! * 1000 + 500));
    await stop();
  }
}
