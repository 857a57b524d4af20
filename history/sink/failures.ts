/**
 * What a failed sink write means, decided in one place (pure; unit-tested): every failure
 * becomes a registry error whose `retriable` flag is the sink's decision.
 *
 *   HISTORY_ERR_DB_UNAVAILABLE  retriable  the connection or the server (SQLSTATE classes 08, 53,
 *                                          57, 58, XX; 40001, 40P01, 55P03, 55006; socket errors):
 *                                          wait and write again, never dead-letter
 *   HISTORY_ERR_DB_SETUP        retriable  the database is not as the sink expects (classes 42,
 *                                          28, 3D, 3F, F0: a missing table, privilege or database):
 *                                          wait for an operator, never dead-letter
 *   HISTORY_ERR_ROW_REFUSED     fatal      the data (classes 22 and 23, including a partition DDL
 *                                          refused for an impossible date): after the attempts,
 *                                          the refused rows are dead-lettered
 *   HISTORY_ERR_WRITE_FAILED    fatal      anything else, unknown errors included: treated like a
 *                                          refused batch, never assumed to be transient
 * A redelivered row is not a failure at all: the inserts are ON CONFLICT DO NOTHING on the
 * rows' keys, so unique violations (23505) do not reach this module on the keyed paths.
 */
import { type ErrorCode, WardstreamError } from '../../common/errors.ts';

type SinkCode = Extract<ErrorCode, 'HISTORY_ERR_DB_UNAVAILABLE' | 'HISTORY_ERR_DB_SETUP' | 'HISTORY_ERR_ROW_REFUSED' | 'HISTORY_ERR_WRITE_FAILED'>;

/** SQLSTATE (https://www.postgresql.org/docs/current/errcodes-appendix.html) → code: exact codes first, then classes. */
const BY_SQLSTATE: Readonly<Record<string, SinkCode>> = {
  '40001': 'HISTORY_ERR_DB_UNAVAILABLE', // serialization_failure
  '40P01': 'HISTORY_ERR_DB_UNAVAILABLE', // deadlock_detected
  '55P03': 'HISTORY_ERR_DB_UNAVAILABLE', // lock_not_available
  '55006': 'HISTORY_ERR_DB_UNAVAILABLE', // object_in_use
};
const BY_CLASS: Readonly<Record<string, SinkCode>> = {
  '08': 'HISTORY_ERR_DB_UNAVAILABLE', // connection exception
  '53': 'HISTORY_ERR_DB_UNAVAILABLE', // insufficient resources (disk full, out of memory, too many connections)
  '57': 'HISTORY_ERR_DB_UNAVAILABLE', // operator intervention (shutdown, cannot connect now, query canceled)
  '58': 'HISTORY_ERR_DB_UNAVAILABLE', // system error (I/O)
  XX: 'HISTORY_ERR_DB_UNAVAILABLE', // internal error
  '42': 'HISTORY_ERR_DB_SETUP', // syntax error or access rule violation (undefined table, insufficient privilege)
  '28': 'HISTORY_ERR_DB_SETUP', // invalid authorization
  '3D': 'HISTORY_ERR_DB_SETUP', // invalid catalog name (no such database)
  '3F': 'HISTORY_ERR_DB_SETUP', // invalid schema name
  F0: 'HISTORY_ERR_DB_SETUP', // configuration file error
  '22': 'HISTORY_ERR_ROW_REFUSED', // data exception (value out of range, invalid text, NUL byte)
  '23': 'HISTORY_ERR_ROW_REFUSED', // integrity constraint violation (not null, check, no partition for the row)
};

/** Socket errors of the driver's connection (Node system error codes). */
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** node-postgres' own connection failures (plain errors without a code). */
const DRIVER_CONNECTION = /connection terminated|connection error|not queryable|timeout exceeded when trying to connect/i;

/** The SQLSTATE of a PostgreSQL error (the server's errors have a severity), else null. */
export function sqlStateOf(e: unknown): string | null {
  const x = (e instanceof WardstreamError ? e.cause : e) as { code?: unknown; severity?: unknown } | null | undefined;
  return x && typeof x.code === 'string' && typeof x.severity === 'string' && /^[0-9A-Z]{5}$/.test(x.code) ? x.code : null;
}

/** The registry error for a failed write; its `retriable` flag says whether to wait or to count the attempt. */
export function classifyWriteError(e: unknown): WardstreamError {
  if (e instanceof WardstreamError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const state = sqlStateOf(e);
  if (state)
    return new WardstreamError(BY_SQLSTATE[state] ?? BY_CLASS[state.slice(0, 2)] ?? 'HISTORY_ERR_WRITE_FAILED', `SQLSTATE ${state}: ${message}`, { cause: e });
  const sys = (e as { code?: unknown } | null)?.code;
  if ((typeof sys === 'string' && SOCKET_ERRORS.has(sys)) || DRIVER_CONNECTION.test(message))
    return new WardstreamError('HISTORY_ERR_DB_UNAVAILABLE', message, { cause: e });
  return new WardstreamError('HISTORY_ERR_WRITE_FAILED', message, { cause: e });
}
