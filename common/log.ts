/**
 * Structured JSON logs, one object per line on stderr, written by pino:
 *
 *   {"level":"warn","time":"2026-11-25T08:00:00.000Z","component":"bridge","part":"ingest","correlationId":"…","msg":"…"}
 *
 * Callers pass a correlation id where a reading is concerned; they must never pass tokens,
 * secrets or raw patient identifiers. `redact` is the second line of defence, applied to every
 * field before pino sees it: keys that look like secrets are replaced, credentials in URLs are
 * masked, and errors are reduced to name, message and code (no stack in the log).
 */
import { pino } from 'pino';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: readonly Level[] = ['debug', 'info', 'warn', 'error'];
const SECRET_KEYS = /token|secret|password|authorization|patientid/i;
/** scheme://user:password@host → scheme://user:***@host */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/:@]*):[^\s/@]*@/gi;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** Masks the password of every URL in `s` (connection strings in messages and fields). */
export function redactUrls(s: string): string {
  return s.includes('://') ? s.replace(URL_CREDENTIALS, '$1:***@') : s;
}

export function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_KEYS.test(k)) out[k] = '[redacted]';
    else if (v instanceof Error) out[k] = { name: v.name, message: redactUrls(v.message), code: (v as { code?: unknown }).code };
    else if (typeof v === 'string') out[k] = redactUrls(v);
    else out[k] = v;
  }
  return out;
}

const stderrSink = (line: string) => {
  process.stderr.write(line);
};
const noop = () => {};

/**
 * `level` defaults to LOG_LEVEL (unknown values: info); `base` fields go on every line; `sink`
 * receives each line (default stderr; tests capture).
 */
export function createLogger(
  component: string,
  level: Level = (process.env.LOG_LEVEL as Level) || 'info',
  base: Record<string, unknown> = {},
  sink: (line: string) => void = stderrSink,
): Logger {
  const min = LEVELS.includes(level) ? level : 'info';
  const root = pino(
    {
      level: min,
      base: { component, ...redact(base) },
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Errors are already reduced by `redact`; pino's own serializer would add the stack back.
      serializers: { err: (e: unknown) => e },
    },
    { write: sink },
  );
  return wrap(root);
}

function wrap(p: pino.Logger): Logger {
  // A disabled level costs one call to a no-op: no field redaction on the hot path (the bridge
  // logs every reading at debug).
  const at = (lvl: Level) =>
    p.isLevelEnabled(lvl) ? (msg: string, fields?: Record<string, unknown>) => p[lvl](fields ? redact(fields) : {}, redactUrls(msg)) : noop;
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (f) => wrap(p.child(redact(f))),
  };
}
