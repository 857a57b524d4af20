/**
 * A real single-node Apache Kafka 4.x broker (KRaft, combined broker+controller) for
 * development, tests and benchmarks. Nothing here is a mock: the jars come from Maven
 * Central (resolved by `mvn` from ./pom.xml into a cache folder outside the repository)
 * and run in a child JVM.
 *
 * Lifecycle guarantees:
 * - `startLocalKafka` formats a fresh storage directory (unless `dataDir` already holds a
 *   formatted log) and resolves only once the broker answers a metadata request.
 * - The JVM is spawned in its own process group and killed on `stop()` and on process exit;
 *   the embedding program handles SIGINT/SIGTERM by calling stop(). If the parent dies
 *   without exit hooks (SIGKILL, or a signal it does not handle), a watchdog whose stdin is a
 *   pipe from us sees the pipe close and kills the JVM's process group.
 *
 * Standalone use: `npx tsx deploy/local/kafka/local-kafka.ts [--port 9092] [--data DIR]`.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WardstreamError } from '../../../common/errors.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const KAFKA_VERSION = '4.1.1';

export interface LocalKafkaOptions {
  /** Client listener port; the controller listener takes an ephemeral free port. 0 = any free port. */
  readonly port?: number;
  readonly host?: string;
  /** Log directory. Default: a fresh temporary folder, deleted on stop. */
  readonly dataDir?: string;
  /** Where the jars are cached. Default: $WARDSTREAM_CACHE or ~/.cache/wardstream. */
  readonly cacheDir?: string;
  readonly heapMb?: number;
  readonly log?: (line: string) => void;
}

export interface LocalKafka {
  readonly brokers: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** The broker JVM's pid (tests pause it with SIGSTOP to build a backlog). */
  readonly pid: number;
  stop(): Promise<void>;
}

export function cacheDir(): string {
  return process.env.WARDSTREAM_CACHE ?? path.join(homedir(), '.cache', 'wardstream');
}

const libsDir = (dir: string) => path.join(dir, `kafka-${KAFKA_VERSION}`, 'libs');

/** Whether the broker jars are in the cache already (then Maven is not needed). */
export function kafkaJarsCached(dir = cacheDir()): boolean {
  const libs = libsDir(dir);
  return existsSync(libs) && readdirSync(libs).some((f) => f.startsWith(`kafka_2.13-${KAFKA_VERSION}`));
}

/** Resolves the broker jars with Maven once; later calls reuse the cache. */
export function ensureKafkaJars(dir = cacheDir(), log: (l: string) => void = () => {}): string {
  const libs = libsDir(dir);
  if (kafkaJarsCached(dir)) return libs;
  log(`resolving Apache Kafka ${KAFKA_VERSION} from Maven Central into ${libs} (first run only)…`);
  const mvn = spawnSync(
    'mvn',
    ['-q', '-B', '-f', path.join(here, 'pom.xml'), 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${libs}`],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (mvn.error) throw new WardstreamError('LOCAL_ERR_KAFKA', `could not run mvn (is Maven installed?): ${mvn.error.message}`);
  if (mvn.status !== 0) throw new WardstreamError('LOCAL_ERR_KAFKA', `mvn failed to resolve Kafka jars (exit ${mvn.status})`);
  return libs;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function kraftClusterId(): string {
  // Passed as `--cluster-id=<id>`: a base64url id may start with "-" (1 in 32), which the
  // storage tool's argument parser would read as an option when given as a separate argument.
  return randomBytes(16).toString('base64url');
}

function serverProperties(o: { host: string; port: number; controllerPort: number; logDir: string }): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${o.host}:${o.controllerPort}`,
    `listeners=PLAINTEXT://${o.host}:${o.port},CONTROLLER://${o.host}:${o.controllerPort}`,
    `advertised.listeners=PLAINTEXT://${o.host}:${o.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${o.logDir}`,
    'num.partitions=1',
    'auto.create.topics.enable=false',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=4',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    // Lets processors use a short session (PROCESSOR_SESSION_TIMEOUT_MS) for fast failover; the
    // stock broker minimum is 6 s.
    'group.min.session.timeout.ms=1000',
    // Small segments so compaction of state topics is observable in development.
    'log.cleaner.backoff.ms=5000',
    'log.retention.check.interval.ms=30000',
    '',
  ].join('\n');
}

/** Connects and sends nothing: the broker is "ready" once a Kafka admin call succeeds (checked by the caller). */
async function waitForPort(host: string, port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new WardstreamError('LOCAL_ERR_KAFKA', `Kafka exited early with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, host);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new WardstreamError('LOCAL_ERR_KAFKA', `Kafka did not open ${host}:${port} within ${timeoutMs} ms`);
}

async function waitForMetadata(brokers: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const { Kafka, logLevel } = await import('kafkajs');
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new WardstreamError('LOCAL_ERR_KAFKA', `Kafka exited early with code ${child.exitCode}`);
    const admin = new Kafka({ clientId: 'wardstream-local-kafka', brokers: [brokers], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      await admin.disconnect();
      return;
    } catch (e) {
      last = e;
      await admin.disconnect().catch(() => {});
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new WardstreamError('LOCAL_ERR_KAFKA', `Kafka at ${brokers} not ready within ${timeoutMs} ms: ${String(last)}`);
}

const running = new Set<ChildProcess>();
let exitHooked = false;
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  const killAll = () => {
    for (const c of running) {
      try {
        process.kill(-c.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  };
  // Signals are the embedding program's business (it should stop() and exit); a process
  // that dies without running exit hooks is covered by the watchdog below.
  process.on('exit', killAll);
}

export async function startLocalKafka(opts: LocalKafkaOptions = {}): Promise<LocalKafka> {
  const log = opts.log ?? (() => {});
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port && opts.port > 0 ? opts.port : await freePort(host);
  const controllerPort = await freePort(host);
  const libs = ensureKafkaJars(opts.cacheDir ?? cacheDir(), log);
  const ephemeral = !opts.dataDir;
  const dataDir = opts.dataDir ?? path.join(tmpdir(), `wardstream-kafka-${process.pid}-${Date.now()}`);
  const logDir = path.join(dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const props = path.join(dataDir, 'server.properties');
  writeFileSync(props, serverProperties({ host, port, controllerPort, logDir }));
  const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const cp = `${libs}/*`;
  const log4j = `-Dlog4j2.configurationFile=${path.join(here, 'log4j2.properties')}`;

  if (!existsSync(path.join(logDir, 'meta.properties'))) {
    const fmt = spawnSync(java, ['-cp', cp, log4j, 'kafka.tools.StorageTool', 'format', `--cluster-id=${kraftClusterId()}`, '-c', props], { encoding: 'utf8' });
    if (fmt.error) throw new WardstreamError('LOCAL_ERR_KAFKA', `could not run java (Java 17+ required): ${fmt.error.message}`);
    if (fmt.status !== 0) throw new WardstreamError('LOCAL_ERR_KAFKA', `kafka storage format failed: ${fmt.stderr || fmt.stdout}`);
  }

  const logFile = path.join(dataDir, 'kafka.log');
  const out = openSync(logFile, 'a');
  const heap = opts.heapMb ?? 768;
  hookExit();
  const child = spawn(
    java,
    [
      `-Xms${Math.min(256, heap)}m`,
      `-Xmx${heap}m`,
      '-XX:+UseG1GC',
      '-XX:TieredStopAtLevel=1',
      '-Djava.awt.headless=true',
      log4j,
      '-cp',
      cp,
      'kafka.Kafka',
      props,
    ],
    { stdio: ['ignore', out, out], detached: true },
  );
  // Watchdog: a tiny shell that blocks reading our pipe and kills the JVM's process group when
  // the pipe closes, i.e. when this process dies even by SIGKILL (exit hooks cannot run then).
  const watchdog = spawn('sh', ['-c', `cat >/dev/null; kill -9 -${child.pid} 2>/dev/null`], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void }).unref?.();
  running.add(child);
  child.once('exit', () => running.delete(child));
  const brokers = `${host}:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        try {
          process.kill(-child.pid!, 'SIGTERM');
        } catch {
          resolve();
        }
        const t = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            /* gone */
          }
        }, 5000);
        child.once('exit', () => clearTimeout(t));
      });
    }
    running.delete(child);
    watchdog.stdin?.end();
    if (ephemeral) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitForPort(host, port, child, 60_000);
    await waitForMetadata(brokers, child, 60_000);
  } catch (e) {
    await stop();
    throw new WardstreamError('LOCAL_ERR_KAFKA', `${e instanceof WardstreamError ? e.detail : (e as Error).message} (see ${logFile})`, { cause: e });
  }
  log(`Kafka ${KAFKA_VERSION} (KRaft) ready on ${brokers}`);
  return { brokers, dataDir, logFile, pid: child.pid!, stop };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const k = await startLocalKafka({ port: Number(arg('--port') ?? 9092), dataDir: arg('--data'), log: (l) => console.error(l) });
  console.log(k.brokers);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => void k.stop().then(() => process.exit(0)));
}
