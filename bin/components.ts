/**
 * Runs components in this process: `wardstream start` (all of them, on embedded defaults, with
 * a simulator) or one of `bridge`, `processor`, `gateway`, `sink`. Each part that starts is
 * registered for shutdown; bin/shutdown.ts stops them in one explicit order on SIGINT/SIGTERM.
 */
import { randomBytes } from 'node:crypto';
import { startBridge } from '../bridge/bridge.ts';
import { loadConfig } from '../common/config.ts';
import { WardstreamError } from '../common/errors.ts';
import { createLogger } from '../common/log.ts';
import { createRegistry } from '../common/metrics.ts';
import { startMetricsServer } from '../common/metrics-server.ts';
import { startRuntime } from '../common/runtime.ts';
import { signToken } from '../gateway/auth.ts';
import { startGateway } from '../gateway/gateway.ts';
import { auditKeyOf, type History, openHistory, registerAuditKey } from '../history/db.ts';
import { startSink } from '../history/sink/sink.ts';
import { startProcessor } from '../processors/processor.ts';
import { runSimulator } from '../tools/simulator.ts';
import { authOf } from './auth.ts';
import type { CliContext } from './context.ts';
import { launchLocalKafka, launchLocalPostgres } from './launchers.ts';
import type { CohortValues } from './options.ts';
import { beginShutdown, type Part, stopAll } from './shutdown.ts';

export type Component = 'bridge' | 'processor' | 'gateway' | 'sink';

/** What `start` adds to running every component. */
export interface StartOptions {
  readonly simulate: boolean;
  readonly history: boolean;
  readonly cohort: CohortValues;
}

export async function runComponents(cmd: 'start' | Component, ctx: CliContext, start?: StartOptions): Promise<void> {
  const log = createLogger(cmd);
  const runs = (c: Component) => cmd === 'start' || cmd === c;
  let config = loadConfig(ctx.env);
  let generatedSecret = false;
  if (!config.jwtSecret && !config.jwtPublicKeyFile && !config.jwksFile && runs('gateway')) {
    if (cmd === 'gateway')
      throw new WardstreamError(
        'CONFIG_ERR_INVALID',
        'the gateway needs a token key: WARDSTREAM_JWT_SECRET, WARDSTREAM_JWT_PUBLIC_KEY_FILE or WARDSTREAM_JWKS_FILE',
      );
    config = loadConfig(ctx.env, { jwtSecret: randomBytes(32).toString('hex') });
    generatedSecret = true;
  }
  const registry = createRegistry(cmd === 'start' ? 'wardstream' : cmd);
  const parts: Part[] = [];
  const rt = await startRuntime(config, log, { clientId: `wardstream-${cmd}`, launchKafka: cmd === 'start' ? launchLocalKafka : undefined });
  const localKafka = rt.localKafka;
  if (localKafka) parts.push({ part: 'kafka', close: () => localKafka.stop() });
  const shared = { config, kafka: rt.kafka, codec: rt.codec, topics: rt.topics, registry };

  const bridge = runs('bridge') ? await startBridge({ ...shared, log: log.child({ part: 'bridge' }) }) : null;
  if (bridge) parts.push({ part: 'bridge', close: () => bridge.close() });
  const processor = runs('processor') ? await startProcessor({ ...shared, log: log.child({ part: 'processor' }) }) : null;
  if (processor) parts.push({ part: 'processor', close: () => processor.close() });
  const gateway = runs('gateway')
    ? await startGateway({
        ...shared,
        log: log.child({ part: 'gateway' }),
        auth: authOf(config),
        dependenciesHealthy: () => (bridge ? bridge.healthy() : true) && (processor ? processor.healthy() : true),
      })
    : null;
  if (gateway) parts.push({ part: 'gateway', close: () => gateway.close() });
  let history: History | null = null;
  let sink: Awaited<ReturnType<typeof startSink>> | null = null;
  if ((cmd === 'start' && start?.history !== false) || cmd === 'sink') {
    const auditKey = auditKeyOf(config);
    const h = await openHistory(config, log.child({ part: 'history' }), { launcher: launchLocalPostgres });
    history = h;
    parts.push({ part: 'history', close: () => h.close() });
    await registerAuditKey(h.pool, auditKey);
    const s = await startSink({ ...shared, log: log.child({ part: 'sink' }), pool: h.pool, auditKey });
    sink = s;
    parts.push({ part: 'sink', close: () => s.close() });
  }
  if (!gateway && config.metricsPort !== null) {
    // Bridge, processor and sink processes have no HTTP server of their own: a small one for SREs.
    const healthy = () => (bridge ? bridge.healthy() : true) && (processor ? processor.healthy() : true) && (sink ? sink.healthy() : true);
    const srv = await startMetricsServer({ host: config.host, port: config.metricsPort, registry, healthy });
    parts.push({ part: 'metrics', close: () => srv.close() });
  }
  const cohort = start?.cohort;
  const sim =
    cmd === 'start' && start?.simulate && bridge && cohort
      ? await runSimulator({
          url: bridge.mqttUrl,
          patients: cohort.patients,
          wards: cohort.wards,
          rate: cohort.rate,
          seed: cohort.seed,
          scenario: cohort.scenario ?? 'mixed',
          start: Date.now(),
          log: (s) => log.warn(s),
        })
      : null;
  if (sim) parts.push({ part: 'simulator', close: () => sim.stop() });

  if (cmd === 'start' && gateway) {
    // A development token only with the shared secret; asymmetric setups bring their own tokens.
    const token = config.jwtSecret
      ? await signToken(authOf(config), { sub: 'dev-charge-nurse', role: 'charge_nurse', wards: ['*'], ttlSec: 12 * 3600 })
      : '<your token>';
    ctx.out(
      `${[
        '',
        'wardstream is running',
        `  dashboard   ${gateway.url}/#access_token=${token}`,
        `  websocket   ${gateway.url.replace(/^http/, 'ws')}/ws   (send {"type":"subscribe","ward":"ward-1"})`,
        `  health      ${gateway.url}/healthz     metrics ${gateway.url}/metrics`,
        `  kafka       ${rt.brokers.join(',')}${rt.localKafka ? ' (local)' : ''}     mqtt ${bridge!.mqttUrl}`,
        // The embedded server is a development database on loopback: its URL is printed like the dev secret, for `replay`.
        history
          ? history.embedded
            ? `  postgres    DATABASE_URL=${history.url}   (embedded, ${history.embedded.dataDir})`
            : `  postgres    ${history.url.replace(/:[^:@/]+@/, ':***@')}`
          : '',
        generatedSecret ? `  dev secret  WARDSTREAM_JWT_SECRET=${config.jwtSecret}   (generated for this run)` : '',
        `  dev token   ${token}`,
        sim && cohort ? `  simulator   ${cohort.patients} patients in ward-1..ward-${cohort.wards}, some with scripted deteriorations` : '',
        'Ctrl-C stops everything.',
        '',
      ]
        .filter(Boolean)
        .join('\n')}\n`,
    );
  } else {
    log.info(`${cmd} running`, { brokers: rt.brokers.join(','), port: gateway?.port, mqtt: bridge?.mqttUrl });
  }

  const shutdown = async (signal: string) => {
    if (!beginShutdown(signal)) return;
    log.info('shutting down', { signal });
    await stopAll(parts, log);
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}
