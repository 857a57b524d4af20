#!/usr/bin/env -S npx tsx
/**
 * wardstream command line.
 *
 *   wardstream start [--no-simulate] [--no-history] [--patients 40] [--wards 4] [--rate 1] [--scenario mixed] [--seed 1]
 *   wardstream bridge | processor | gateway | sink   one component (needs KAFKA_BROKERS; sink: DATABASE_URL or embedded)
 *   wardstream admit --patient P --ward W [--bed B]   write a patient-assignments record
 *   wardstream discharge --patient P                  tombstone the assignment
 *   wardstream token --role nurse --ward icu-1 [--ward …] [--ttl 1h] [--sub name]
 *   wardstream replay --from T [--to T] [--ward W …] [--patients P,…] [--rules FILE] [--source postgres|kafka]
 *                     [--name N] [--warmup MIN] [--out DIR] [--publish] [--timelines 6]
 *   wardstream simulate --patients 200 --wards 4 --rate 1 [--seed N] [--scenario S] [--duration SEC] [--url mqtt://…]
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { startBridge } from '../bridge/bridge.ts';
import { loadConfig, type Config } from '../common/config.ts';
import { WardstreamError } from '../common/errors.ts';
import { createProducer } from '../common/kafka.ts';
import { createLogger } from '../common/log.ts';
import { createRegistry } from '../common/metrics.ts';
import { startRuntime } from '../common/runtime.ts';
import { startLocalPostgres } from '../deploy/local/postgres.ts';
import { ROLES, parseTtl, signToken, type AuthConfig, type Role } from '../gateway/auth.ts';
import { startGateway } from '../gateway/gateway.ts';
import { auditKeyOf, openHistory, registerAuditKey, type History } from '../history/db.ts';
import { parseReplayArgs } from '../history/replay/args.ts';
import { publishReplay, runReplay } from '../history/replay/replay.ts';
import { diffCsv, toCsv, toHtml, toJson, toTable } from '../history/replay/report.ts';
import { startSink } from '../history/sink/sink.ts';
import { DEFAULT_RULE_FILE, loadRuleFile, type RuleBook } from '../processors/rulebook.ts';
import { localCodec } from '../schemas/codec.ts';
import { startProcessor } from '../processors/processor.ts';
import { partitionForWard } from '../schemas/topics.ts';
import { runSimulator, SCENARIOS, type Scenario } from '../tools/simulator.ts';

const USAGE = `usage: wardstream <start|bridge|processor|gateway|sink|replay|admit|discharge|token|simulate> [options]
  start      the whole pipeline on embedded defaults (local Kafka, embedded MQTT, embedded PostgreSQL) with a simulator
             [--no-simulate] [--no-history: without PostgreSQL and the sink]
  sink       write vitals, alerts, actions and the audit trail to PostgreSQL (DATABASE_URL or embedded)
  replay     --from T [--to T] [--ward W …] [--patients P,…] [--rules new.yaml] [--source postgres|kafka] [--name N]
             [--warmup 30] [--out DIR] [--publish] [--timelines 6] [--workers N]   (T: ISO 8601, epoch ms, now, now-24h)
  admit      --patient P --ward W [--bed B]
  discharge  --patient P
  token      --role ${ROLES.join('|')} --ward W [--ward W2 …] [--ttl 1h] [--sub NAME]
  simulate   [--patients 200] [--wards 4] [--rate 1] [--seed N] [--scenario ${SCENARIOS.join('|')}|mixed] [--duration SEC] [--url mqtt://…]
See README.md and docs/ for configuration (environment variables).`;

const OPTIONS = {
  patient: { type: 'string' }, ward: { type: 'string', multiple: true }, bed: { type: 'string' },
  role: { type: 'string' }, ttl: { type: 'string', default: '1h' }, sub: { type: 'string' },
  patients: { type: 'string' }, wards: { type: 'string' }, rate: { type: 'string' }, seed: { type: 'string' },
  scenario: { type: 'string' }, duration: { type: 'string' }, url: { type: 'string' },
  from: { type: 'string' }, to: { type: 'string' }, rules: { type: 'string' }, source: { type: 'string' }, name: { type: 'string' },
  warmup: { type: 'string' }, out: { type: 'string' }, workers: { type: 'string' }, publish: { type: 'boolean', default: false }, timelines: { type: 'string' },
  'no-simulate': { type: 'boolean', default: false }, 'no-history': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false },
} as const;

function usage(msg: string): never {
  throw new WardstreamError('CLI_ERR_USAGE', `${msg}\n${USAGE}`);
}

function int(v: string | undefined, name: string, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) usage(`--${name} must be a number >= ${min}, got "${v}"`);
  return n;
}

function scenarioOf(v: string | undefined): Scenario | 'mixed' | null {
  if (v === undefined) return null;
  if (v === 'mixed' || (SCENARIOS as readonly string[]).includes(v)) return v as Scenario | 'mixed';
  return usage(`--scenario must be one of ${SCENARIOS.join(', ')}, mixed`);
}

function authOf(config: Config): AuthConfig {
  const base = { issuer: config.jwtIssuer, audience: config.jwtAudience };
  const read = (file: string, what: string) => { try { return readFileSync(file, 'utf8'); } catch (e) { throw new WardstreamError('CONFIG_ERR_INVALID', `${what}: cannot read ${file} (${(e as Error).message})`); } };
  if (config.jwksFile) {
    try { return { ...base, jwks: JSON.parse(read(config.jwksFile, 'WARDSTREAM_JWKS_FILE')) as AuthConfig['jwks'] }; } catch (e) { if (e instanceof WardstreamError) throw e; throw new WardstreamError('CONFIG_ERR_INVALID', `WARDSTREAM_JWKS_FILE is not JSON: ${(e as Error).message}`); }
  }
  if (config.jwtPublicKeyFile) return { ...base, publicKey: { pem: read(config.jwtPublicKeyFile, 'WARDSTREAM_JWT_PUBLIC_KEY_FILE'), alg: config.jwtAlg } };
  if (!config.jwtSecret) throw new WardstreamError('CONFIG_ERR_INVALID', 'WARDSTREAM_JWT_SECRET is not set (npm start prints a development secret)');
  return { ...base, secret: config.jwtSecret };
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h') { console.log(USAGE); return; }
  let a: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; strict: true; allowPositionals: false }>>['values'];
  try { a = parseArgs({ args: rest, options: OPTIONS, strict: true, allowPositionals: false }).values; } catch (e) { return usage((e as Error).message.split('\n')[0]!); }
  if (a.help) { console.log(USAGE); return; }
  const log = createLogger(cmd);

  switch (cmd) {
    case 'token': {
      const config = loadConfig();
      const role = a.role as Role | undefined;
      if (!role || !(ROLES as readonly string[]).includes(role)) usage(`--role must be one of ${ROLES.join(', ')}`);
      if (!a.ward?.length) usage('--ward is required (repeat it for several wards, or --ward "*")');
      console.log(await signToken(authOf(config), { sub: a.sub ?? `${role}-dev`, role, wards: a.ward, ttlSec: parseTtl(a.ttl!) }));
      return;
    }
    case 'admit':
    case 'discharge': {
      if (!a.patient) usage('--patient is required');
      if (cmd === 'admit' && a.ward?.length !== 1) usage('admit needs exactly one --ward');
      const config = loadConfig();
      if (!config.kafkaBrokers) usage('KAFKA_BROKERS must point at the cluster (npm start prints it)');
      const rt = await startRuntime(config, log, { clientId: 'wardstream-cli', startLocalKafka: false });
      const producer = createProducer(rt.kafka);
      await producer.connect();
      const value = cmd === 'admit' ? rt.codec.encode('assignment', { patientId: a.patient, wardId: a.ward![0]!, bed: a.bed ?? null, assignedAt: Date.now() }) : null;
      await producer.send({ topic: rt.topics.assignments, acks: -1, messages: [{ key: a.patient, value }] });
      await producer.disconnect();
      console.log(cmd === 'admit' ? `admitted ${a.patient} to ${a.ward![0]}${a.bed ? ` bed ${a.bed}` : ''} (partition ${partitionForWard(a.ward![0]!, config.kafkaPartitions)})` : `discharged ${a.patient}`);
      return;
    }
    case 'replay': {
      // --patients is the simulator's count elsewhere; for replay it lists patient ids (comma-separated).
      const args = parseReplayArgs({ ...a, patients: a.patients ? [a.patients] : [] }, Date.now());
      const config = loadConfig();
      let book: RuleBook;
      try { book = loadRuleFile(args.rulesFile ?? config.rulesFile ?? DEFAULT_RULE_FILE); } catch (e) { throw new WardstreamError('CLI_ERR_USAGE', `--rules: ${(e as Error).message}`); }
      const needKafka = args.source === 'kafka' || args.publish;
      if (needKafka && !config.kafkaBrokers) usage('KAFKA_BROKERS must point at the cluster for --source kafka or --publish');
      const rt = needKafka ? await startRuntime(config, log, { clientId: 'wardstream-replay', startLocalKafka: false }) : null;
      const history = args.source === 'postgres' ? await openHistory(config, log, { launcher: startLocalPostgres }) : null;
      const bar = new SingleBar({ format: 'replay |{bar}| {percentage}% {value}/{total} readings {speed}/s eta {eta_formatted}', stream: process.stderr, hideCursor: true, etaBuffer: 20 }, Presets.shades_classic);
      const t0 = performance.now();
      let barStarted = false;
      try {
        const res = await runReplay(args, {
          config, codec: rt?.codec ?? localCodec(), log, book, kafka: rt?.kafka, topics: rt?.topics, pool: history?.pool, databaseUrl: history?.url,
          workers: a.workers ? int(a.workers, 'workers', 1) : undefined,
          progress: (done, total) => {
            const speed = Math.round(done / Math.max(0.001, (performance.now() - t0) / 1000)).toLocaleString('en');
            // The total can arrive after the first readings (PostgreSQL counts while streaming).
            if (!barStarted) { barStarted = true; bar.start(Math.max(total, 1), done, { speed }); return; }
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
        process.stdout.write(toTable(res.report));
        console.log(`${res.report.readings.toLocaleString('en')} readings in ${secs.toFixed(1)} s (${Math.round(res.report.readings / secs).toLocaleString('en')}/s)`);
        console.log(`report: ${path.join(args.out, 'report.html')} (also report.json, report.csv, differences.csv)`);
        if (args.publish && rt) console.log(`proposed alerts written to ${await publishReplay(rt.kafka, config, rt.codec, args.name, res.proposed)}`);
      } finally {
        bar.stop();
        await history?.close();
      }
      return;
    }
    case 'simulate': {
      const config = loadConfig();
      const url = a.url ?? config.mqttUrl ?? `mqtt://${config.mqttHost}:${config.mqttPort}`;
      const sim = await runSimulator({
        url, patients: int(a.patients, 'patients', 200), wards: int(a.wards, 'wards', 4), rate: int(a.rate, 'rate', 1, 0.01),
        seed: int(a.seed, 'seed', 1, 0), scenario: scenarioOf(a.scenario), start: Date.now(),
        durationSec: a.duration ? int(a.duration, 'duration', 60) : undefined, log: (s) => log.warn(s),
      });
      const timer = setInterval(() => process.stderr.write(`published ${sim.published()} readings\r`), 1000);
      const stop = async () => { clearInterval(timer); await sim.stop(); console.error(`\npublished ${sim.published()} readings`); process.exit(0); };
      process.on('SIGINT', () => void stop());
      process.on('SIGTERM', () => void stop());
      if (a.duration) { await new Promise((r) => setTimeout(r, int(a.duration, 'duration', 60) * 1000 + 500)); await stop(); }
      return;
    }
    case 'start':
    case 'bridge':
    case 'processor':
    case 'sink':
    case 'gateway': {
      let config = loadConfig();
      let generatedSecret = false;
      if (!config.jwtSecret && !config.jwtPublicKeyFile && !config.jwksFile && (cmd === 'start' || cmd === 'gateway')) {
        if (cmd === 'gateway') throw new WardstreamError('CONFIG_ERR_INVALID', 'the gateway needs a token key: WARDSTREAM_JWT_SECRET, WARDSTREAM_JWT_PUBLIC_KEY_FILE or WARDSTREAM_JWKS_FILE');
        config = loadConfig(process.env, { jwtSecret: randomBytes(32).toString('hex') });
        generatedSecret = true;
      }
      const registry = createRegistry(cmd === 'start' ? 'wardstream' : cmd);
      const rt = await startRuntime(config, log, { clientId: `wardstream-${cmd}`, startLocalKafka: cmd === 'start' });
      // Stopped in this order on SIGINT/SIGTERM: traffic first, then what it feeds, storage last.
      const closers: { part: string; close: () => Promise<void> }[] = [];
      const bridge = cmd === 'start' || cmd === 'bridge' ? await startBridge({ config, kafka: rt.kafka, codec: rt.codec, topics: rt.topics, log: log.child({ part: 'bridge' }), registry }) : null;
      if (bridge) closers.unshift({ part: 'bridge', close: () => bridge.close() });
      const processor = cmd === 'start' || cmd === 'processor' ? await startProcessor({ config, kafka: rt.kafka, codec: rt.codec, topics: rt.topics, log: log.child({ part: 'processor' }), registry }) : null;
      if (processor) closers.unshift({ part: 'processor', close: () => processor.close() });
      const gateway = cmd === 'start' || cmd === 'gateway'
        ? await startGateway({
          config, kafka: rt.kafka, codec: rt.codec, topics: rt.topics, log: log.child({ part: 'gateway' }), registry, auth: authOf(config),
          dependenciesHealthy: () => (bridge ? bridge.healthy() : true) && (processor ? processor.healthy() : true),
        })
        : null;
      if (gateway) closers.unshift({ part: 'gateway', close: () => gateway.close() });
      let history: History | null = null;
      let sink: Awaited<ReturnType<typeof startSink>> | null = null;
      if ((cmd === 'start' && !a['no-history']) || cmd === 'sink') {
        const auditKey = auditKeyOf(config);
        history = await openHistory(config, log.child({ part: 'history' }), { launcher: startLocalPostgres });
        closers.push({ part: 'history', close: () => history!.close() }); // after the sink has stopped
        await registerAuditKey(history.pool, auditKey);
        sink = await startSink({ config, kafka: rt.kafka, codec: rt.codec, topics: rt.topics, log: log.child({ part: 'sink' }), pool: history.pool, auditKey, registry });
        closers.unshift({ part: 'sink', close: () => sink!.close() });
      }
      if (!gateway && config.metricsPort !== null) {
        // Bridge and processor processes have no HTTP server of their own: a small one for SREs.
        const healthy = () => (bridge ? bridge.healthy() : true) && (processor ? processor.healthy() : true) && (sink ? sink.healthy() : true);
        const srv = http.createServer((req, res) => {
          if (req.url === '/metrics') {
            registry.metrics().then((text) => { res.writeHead(200, { 'content-type': registry.contentType }); res.end(text); }, () => { res.writeHead(500); res.end(); });
          } else if (req.url === '/healthz') {
            const ok = healthy();
            res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ ok }));
          } else { res.writeHead(404); res.end(); }
        });
        await new Promise<void>((r) => srv.listen(config.metricsPort!, config.host, () => r()));
        closers.unshift({ part: 'metrics', close: () => new Promise<void>((r) => srv.close(() => r())) });
      }
      let sim: Awaited<ReturnType<typeof runSimulator>> | null = null;
      if (cmd === 'start' && !a['no-simulate'] && bridge) {
        sim = await runSimulator({
          url: bridge.mqttUrl, patients: int(a.patients, 'patients', 40), wards: int(a.wards, 'wards', 4), rate: int(a.rate, 'rate', 1, 0.01),
          seed: int(a.seed, 'seed', 1, 0), scenario: scenarioOf(a.scenario ?? 'mixed'), start: Date.now(), log: (s) => log.warn(s),
        });
        closers.unshift({ part: 'simulator', close: () => sim!.stop() });
      }
      if (cmd === 'start' && gateway) {
        // A development token only with the shared secret; asymmetric setups bring their own tokens.
        const token = config.jwtSecret ? await signToken(authOf(config), { sub: 'dev-charge-nurse', role: 'charge_nurse', wards: ['*'], ttlSec: 12 * 3600 }) : '<your token>';
        console.log([
          '',
          'wardstream is running',
          `  dashboard   ${gateway.url}/#access_token=${token}`,
          `  websocket   ${gateway.url.replace(/^http/, 'ws')}/ws   (send {"type":"subscribe","ward":"ward-1"})`,
          `  health      ${gateway.url}/healthz     metrics ${gateway.url}/metrics`,
          `  kafka       ${rt.brokers.join(',')}${rt.localKafka ? ' (local)' : ''}     mqtt ${bridge!.mqttUrl}`,
          // The embedded server is a development database on loopback: its URL is printed like the dev secret, for `replay`.
          history ? (history.embedded ? `  postgres    DATABASE_URL=${history.url}   (embedded, ${history.embedded.dataDir})` : `  postgres    ${history.url.replace(/:[^:@/]+@/, ':***@')}`) : '',
          generatedSecret ? `  dev secret  WARDSTREAM_JWT_SECRET=${config.jwtSecret}   (generated for this run)` : '',
          `  dev token   ${token}`,
          sim ? '  simulator   40 patients in ward-1..ward-4, some with scripted deteriorations' : '',
          'Ctrl-C stops everything.',
          '',
        ].filter(Boolean).join('\n'));
      } else {
        log.info(`${cmd} running`, { brokers: rt.brokers.join(','), port: gateway?.port, mqtt: bridge?.mqttUrl });
      }
      let stopping = false;
      const shutdown = async (sig: string) => {
        if (stopping) return;
        stopping = true;
        log.info('shutting down', { signal: sig });
        // A part that cannot stop in time (e.g. its dependency is already gone) must not keep the
        // process alive: after SHUTDOWN_PART_MS it is left behind, logged, and the rest stops.
        for (const c of closers) {
          const t0 = performance.now();
          let timer: NodeJS.Timeout | undefined;
          const outcome = await Promise.race([
            c.close().then(() => 'stopped', (e: unknown) => { log.warn('error while stopping', { part: c.part, err: e as Error }); return 'failed'; }),
            new Promise<string>((r) => { timer = setTimeout(() => r('timeout'), SHUTDOWN_PART_MS); }),
          ]);
          clearTimeout(timer);
          if (outcome === 'timeout') log.error('did not stop in time; left behind', { part: c.part, waitedMs: SHUTDOWN_PART_MS });
          else log.info('stopped', { part: c.part, ms: Math.round(performance.now() - t0) });
        }
        await rt.localKafka?.stop();
        process.exit(0);
      };
      process.on('SIGINT', () => void shutdown('SIGINT'));
      process.on('SIGTERM', () => void shutdown('SIGTERM'));
      return;
    }
    default:
      usage(`unknown command "${cmd}"`);
  }
}

/** How long one part may take to stop before shutdown moves on without it. */
const SHUTDOWN_PART_MS = 10_000;

main(process.argv.slice(2)).catch((e: unknown) => {
  const err = e as Error & { code?: string };
  console.error(err instanceof WardstreamError ? `wardstream: ${err.code}: ${err.message}` : `wardstream: ${err.stack ?? err.message}`);
  process.exit(2);
});
