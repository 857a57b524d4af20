/**
 * `wardstream replay` arguments, validated once (pure; unit-tested). Times are ISO 8601
 * ("2026-11-25T08:00Z", "2026-11-25"), epoch milliseconds, `now`, or relative to now
 * ("now-24h", "now-30m", "now-7d"; also "-24h" as `--from=-24h`).
 */
import { WardstreamError } from '../../common/errors.ts';

export interface ReplayArgs {
  readonly from: number;
  readonly to: number;
  readonly wards: readonly string[];
  readonly patients: readonly string[];
  readonly rulesFile: string | null;
  readonly source: 'kafka' | 'postgres';
  readonly name: string;
  readonly warmupMs: number;
  readonly publish: boolean;
  readonly out: string;
  readonly timelines: number;
}

const bad = (msg: string): never => {
  throw new WardstreamError('CLI_ERR_USAGE', msg);
};

export function parseTime(s: string, now: number, what: string): number {
  const v = s.trim();
  if (v === 'now') return now;
  const rel = /^(?:now)?-(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(v);
  if (rel) return now - Number(rel[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd'];
  if (/^\d{12,}$/.test(v)) return Number(v);
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v)) {
    const t = Date.parse(v.length === 10 ? `${v}T00:00:00Z` : /Z|[+-]\d{2}:?\d{2}$/.test(v) ? v : `${v}Z`);
    if (Number.isFinite(t)) return t;
  }
  return bad(`${what} "${s}" is not a time (ISO 8601 like 2026-11-25T08:00Z, epoch ms, now, or now-24h / now-30m / now-7d)`);
}

export function parseReplayArgs(
  a: {
    from?: string;
    to?: string;
    ward?: readonly string[];
    patients?: readonly string[];
    rules?: string;
    source?: string;
    name?: string;
    warmup?: string;
    publish?: boolean;
    out?: string;
    timelines?: string;
  },
  now: number,
): ReplayArgs {
  if (!a.from) bad('--from is required');
  const from = parseTime(a.from!, now, '--from');
  const to = a.to ? parseTime(a.to, now, '--to') : now;
  if (!(from < to)) bad(`--from (${new Date(from).toISOString()}) must be before --to (${new Date(to).toISOString()})`);
  const source = a.source ?? 'postgres';
  if (source !== 'kafka' && source !== 'postgres') bad(`--source must be kafka or postgres, got "${source}"`);
  const name = a.name ?? 'proposed';
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(name)) bad(`--name "${name}" may only use letters, digits, ".", "_" and "-" (it names the alerts.replay.<name> topic)`);
  const warmupMin = a.warmup === undefined ? 30 : Number(a.warmup);
  if (!Number.isFinite(warmupMin) || warmupMin < 0) bad(`--warmup must be minutes >= 0, got "${a.warmup}"`);
  const timelines = a.timelines === undefined ? 6 : Number(a.timelines);
  if (!Number.isInteger(timelines) || timelines < 0 || timelines > 100) bad(`--timelines must be an integer 0..100, got "${a.timelines}"`);
  const patients = (a.patients ?? [])
    .flatMap((p) => p.split(','))
    .map((p) => p.trim())
    .filter(Boolean);
  return {
    from,
    to,
    wards: [...new Set(a.ward ?? [])],
    patients: [...new Set(patients)],
    rulesFile: a.rules ?? null,
    source: source as 'kafka' | 'postgres',
    name,
    warmupMs: warmupMin * 60_000,
    publish: a.publish ?? false,
    out: a.out ?? `replay-${name}`,
    timelines,
  };
}
