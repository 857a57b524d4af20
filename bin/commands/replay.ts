/**
 * `wardstream replay`: runs a rule file over recorded history (PostgreSQL, or Kafka) with the
 * live engine and reports what would have changed (report.html, .json, .csv, differences.csv).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { type Command, Option } from 'commander';
import { loadConfig } from '../../common/config.ts';
import { WardstreamError } from '../../common/errors.ts';
import { createLogger } from '../../common/log.ts';
import { startRuntime } from '../../common/runtime.ts';
import { openHistory } from '../../history/db.ts';
import { parseReplayArgs } from '../../history/replay/args.ts';
import { publishReplay, runReplay } from '../../history/replay/replay.ts';
import { diffCsv, toCsv, toHtml, toJson, toTable } from '../../history/replay/report.ts';
import { DEFAULT_RULE_FILE, loadRuleFile, type RuleBook } from '../../processors/rulebook.ts';
import { localCodec } from '../../schemas/codec.ts';
import type { CliContext } from '../context.ts';
import { launchLocalPostgres } from '../launchers.ts';
import { collect, numberAtLeast } from '../options.ts';

interface ReplayOptions {
  readonly from: string;
  readonly to?: string;
  readonly ward?: string[];
  readonly patients?: string[];
  readonly rules?: string;
  readonly source?: string;
  readonly name?: string;
  readonly warmup?: string;
  readonly out?: string;
  readonly publish: boolean;
  readonly timelines?: string;
  readonly workers?: number;
}

export function registerReplay(program: Command, ctx: CliContext): void {
  program
    .command('replay')
    .description('run proposed rules over recorded history and report what would have changed')
    .requiredOption('--from <time>', 'start: ISO 8601 (2026-11-25T08:00Z), epoch ms, now, now-24h, now-30m')
    .option('--to <time>', 'end (default now)')
    .option('--ward <ward>', 'only this ward (repeatable)', collect)
    .option('--patients <ids>', 'only these patients (comma-separated; repeatable)', collect)
    .option('--rules <file>', 'proposed rule file (default WARDSTREAM_RULES or rules/default.yaml)')
    .addOption(new Option('--source <source>', 'where the history is read').choices(['postgres', 'kafka']))
    .option('--name <name>', 'name of the proposal: replay-<name>/, alerts.replay.<name>')
    .option('--warmup <minutes>', 'history before --from that only builds state (default 30)')
    .option('--out <dir>', 'report directory (default replay-<name>)')
    .option('--publish', 'write the proposed alerts to the alerts.replay.<name> topic', false)
    .option('--timelines <n>', 'patient timelines in the report, 0..100 (default 6)')
    .option('--workers <n>', 'worker threads', numberAtLeast(1))
    .action((o: ReplayOptions) => replay(o, ctx));
}

async function replay(o: ReplayOptions, ctx: CliContext): Promise<void> {
  const args = parseReplayArgs({ ...o, patients: o.patients ?? [] }, Date.now());
  const config = loadConfig(ctx.env);
  const log = createLogger('replay');
  let book: RuleBook;
  try {
    book = loadRuleFile(args.rulesFile ?? config.rulesFile ?? DEFAULT_RULE_FILE);
  } catch (e) {
    throw new WardstreamError('CLI_ERR_USAGE', `--rules: ${(e as Error).message}`);
  }
  const needKafka = args.source === 'kafka' || args.publish;
  if (needKafka && !config.kafkaBrokers) throw new WardstreamError('CLI_ERR_USAGE', 'KAFKA_BROKERS must point at the cluster for --source kafka or --publish');
  const rt = needKafka ? await startRuntime(config, log, { clientId: 'wardstream-replay' }) : null;
  const history = args.source === 'postgres' ? await openHistory(config, log, { launcher: launchLocalPostgres }) : null;
  const bar = new SingleBar(
    { format: 'replay |{bar}| {percentage}% {value}/{total} readings {speed}/s eta {eta_formatted}', stream: process.stderr, hideCursor: true, etaBuffer: 20 },
    Presets.shades_classic,
  );
  const t0 = performance.now();
  let barStarted = false;
  try {
    const res = await runReplay(args, {
      config,
      codec: rt?.codec ?? localCodec(),
      log,
      book,
      kafka: rt?.kafka,
      topics: rt?.topics,
      pool: history?.pool,
      databaseUrl: history?.url,
      workers: o.workers,
      progress: (done, total) => {
        const speed = Math.round(done / Math.max(0.001, (performance.now() - t0) / 1000)).toLocaleString('en');
        // The total can arrive after the first readings (PostgreSQL counts while streaming).
        if (!barStarted) {
          barStarted = true;
          bar.start(Math.max(total, 1), done, { speed });
          return;
        }
        if (total > 0 && total !== bar.getTotal()) bar.setTotal(total);
        bar.update(done, { speed });
      },
    });
    bar.stop();
    const secs = (performance.now() - t0) / 1000;
    mkdirSync(args.out, { recursive: true });
    writeFileSync(path.join(args.out, 'report.json'), toJson(res.report));
    writeFileSync(path.join(args.out, 'report.csv'), toCsv(res.report));
    writeFileSync(path.join(args.out, 'differences.csv'), diffCsv(res.report));
    writeFileSync(path.join(args.out, 'report.html'), toHtml(res.report));
    ctx.out(toTable(res.report));
    ctx.out(
      `${res.report.readings.toLocaleString('en')} readings in ${secs.toFixed(1)} s (${Math.round(res.report.readings / secs).toLocaleString('en')}/s)\n`,
    );
    ctx.out(`report: ${path.join(args.out, 'report.html')} (also report.json, report.csv, differences.csv)\n`);
    if (args.publish && rt) ctx.out(`proposed alerts written to ${await publishReplay(rt.kafka, config, rt.codec, args.name, res.proposed)}\n`);
  } finally {
    bar.stop();
    await history?.close();
  }
}
