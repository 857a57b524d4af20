/**
 * Structured JSON logs, one object per line on stderr. Callers pass a correlation id where a
 * reading is concerned; they must never pass tokens, secrets or raw patient identifiers
 * (`redact` removes the usual suspects as a second line of defence).
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEYS = /token|secret|password|authorization|patientid/i;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_KEYS.test(k)) out[k] = '[redacted]';
    else if (v instanceof Error) out[k] = { name: v.name, message: v.message, code: (v as { code?: unknown }).code };
    else out[k] = v;
  }
  return out;
}

const stderrSink = (line: string) => { process.stderr.write(line); };

/** `sink` receives each line (default stderr; tests capture). */
export function createLogger(component: string, level: Level = (process.env.LOG_LEVEL as Level) || 'info', base: Record<string, unknown> = {}, sink: (line: string) => void = stderrSink): Logger {
  const min = ORDER[level] ?? ORDER.info;
  const write = (lvl: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < min) return;
    sink(`${JSON.stringify({ time: new Date().toISOString(), level: lvl, component, msg, ...base, ...(fields ? redact(fields) : {}) })}\n`);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (f) => createLogger(component, level, { ...base, ...redact(f) }, sink),
  };
}
