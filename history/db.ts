/**
 * The history database: a pool on DATABASE_URL, or, when it is unset, a development PostgreSQL
 * started by the launcher the caller passes (bin/ passes deploy/local/postgres.ts: runtime code
 * does not import the development launchers). Migrations (history/migrations, node-pg-migrate,
 * SQL files) run on open, under node-pg-migrate's advisory lock, so several sinks may start at once.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import type { Config } from '../common/config.ts';
import { WardstreamError } from '../common/errors.ts';
import type { Logger } from '../common/log.ts';
import { type AuditKey, fingerprint, parseAuditKey, sameFingerprint } from './pseudonym.ts';

export const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

// pg returns bigint (int8) as strings; every bigint here (seq, duration) fits a double.
pg.types.setTypeParser(20, (v) => Number(v));

/** A PostgreSQL this process started (and stops with the history). */
export interface EmbeddedPostgres {
  readonly url: string;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/** Starts a development PostgreSQL: data kept in `dataDir`, or temporary without one. */
export type PostgresLauncher = (o: { dataDir?: string; log: (line: string) => void }) => Promise<EmbeddedPostgres>;

export interface History {
  readonly pool: pg.Pool;
  readonly url: string;
  readonly embedded: EmbeddedPostgres | null;
  close(): Promise<void>;
}

export async function migrate(url: string, log: Logger): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const ran = await runner({
      dbClient: client,
      dir: MIGRATIONS_DIR,
      direction: 'up',
      migrationsTable: 'pgmigrations',
      checkOrder: true,
      logger: { info: () => {}, warn: (m) => log.warn(m), error: (m) => log.error(m), debug: () => {} },
    });
    if (ran.length) log.info('database migrated', { applied: ran.map((m) => m.name).join(',') });
    return ran.map((m) => m.name);
  } finally {
    await client.end();
  }
}

export async function openHistory(
  config: Config,
  log: Logger,
  o: { poolSize?: number; ephemeral?: boolean; launcher?: PostgresLauncher } = {},
): Promise<History> {
  let embedded: EmbeddedPostgres | null = null;
  let url = config.databaseUrl;
  if (!url) {
    if (!o.launcher) throw new WardstreamError('CONFIG_ERR_INVALID', 'DATABASE_URL is unset and no embedded PostgreSQL can be started here: set DATABASE_URL');
    embedded = await o.launcher({ dataDir: o.ephemeral ? undefined : config.pgDataDir, log: (l) => log.info(l) });
    url = embedded.url;
  }
  try {
    await migrate(url, log);
  } catch (e) {
    await embedded?.stop();
    throw e;
  }
  const pool = new pg.Pool({ connectionString: url, max: o.poolSize ?? 4 });
  // An idle client that loses its server emits 'error' on the pool; the next query reconnects.
  pool.on('error', (err) => log.warn('postgres connection lost', { err }));
  return {
    pool,
    url,
    embedded,
    async close() {
      await pool.end();
      await embedded?.stop();
    },
  };
}

/**
 * The audit pseudonym key: WARDSTREAM_AUDIT_KEY, or for the embedded development database a
 * key generated once and kept beside its data directory (never in the database). A remote
 * database without a configured key is refused: pseudonyms must survive restarts.
 */
export function auditKeyOf(config: Config): AuditKey {
  if (config.auditKey) return parseAuditKey(config.auditKeyId, config.auditKey);
  if (config.databaseUrl)
    throw new WardstreamError('CONFIG_ERR_INVALID', 'WARDSTREAM_AUDIT_KEY is required with DATABASE_URL (hex, >= 32 bytes; see docs/operations.md)');
  const file = `${path.resolve(config.pgDataDir)}.audit-key`;
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  }
  return parseAuditKey(config.auditKeyId, readFileSync(file, 'utf8').trim());
}

/** Records the key's fingerprint on first use; refuses a different key under a known id. */
export async function registerAuditKey(pool: pg.Pool, key: AuditKey): Promise<void> {
  const fp = fingerprint(key);
  await pool.query('INSERT INTO audit_keys (key_id, fingerprint) VALUES ($1, $2) ON CONFLICT (key_id) DO NOTHING', [key.id, fp]);
  const r = await pool.query<{ fingerprint: string }>('SELECT fingerprint FROM audit_keys WHERE key_id = $1', [key.id]);
  if (!sameFingerprint(r.rows[0]!.fingerprint, fp)) {
    throw new WardstreamError(
      'CONFIG_ERR_INVALID',
      `WARDSTREAM_AUDIT_KEY does not match the key "${key.id}" already used in this database; a new key needs a new WARDSTREAM_AUDIT_KEY_ID (docs/operations.md, key rotation)`,
    );
  }
}
