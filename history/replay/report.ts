/**
 * Replay report: what the proposed rules would have raised compared with what was actually
 * raised ("current"), per rule and priority, plus the alert-by-alert difference. Pure: the
 * same events in give byte-identical JSON, CSV, table and HTML out (no clock, no randomness,
 * everything sorted), which the determinism test relies on.
 *
 * Definitions (docs/operations.md, "Replay"):
 *   alert         an alert episode (its `start` event)
 *   notification  what makes a sound or a page: a `start` not grouped with a louder open alert,
 *                 or an `escalate` (as in benchmarks/alarm-fatigue.ts)
 *   time-to-alert `start` event time minus the condition's onset (sustain delay), seconds
 *   difference    episodes matched per (patient, rule) when their active spans overlap:
 *                 added (proposed only), removed (current only), earlier / later / same start
 */
import type { AlertEvent, VitalName, VitalsReading } from '../../schemas/records.ts';

export interface Span {
  readonly alertId: string;
  readonly patientId: string;
  readonly wardId: string;
  readonly rule: string;
  readonly priority: string;
  readonly start: number;
  readonly end: number | null;
  readonly onset: number;
}

export interface RuleRow {
  readonly rule: string;
  readonly priority: string;
  readonly current: Stats;
  readonly proposed: Stats;
}
export interface Stats {
  readonly alerts: number;
  readonly notifications: number;
  readonly perPatientDay: number;
  readonly ttaMedianSec: number | null;
  readonly ttaP90Sec: number | null;
}

export interface DiffItem {
  readonly kind: 'added' | 'removed' | 'earlier' | 'later';
  readonly patientId: string;
  readonly rule: string;
  readonly currentStart: number | null;
  readonly proposedStart: number | null;
  readonly deltaSec: number | null;
}

export interface Timeline {
  readonly patientId: string;
  /** [ts, value] per vital, downsampled to one point per minute (last value). */
  readonly series: Readonly<Record<string, readonly (readonly [number, number])[]>>;
  readonly current: readonly Span[];
  readonly proposed: readonly Span[];
}

export interface ReplayReport {
  readonly name: string;
  readonly source: 'kafka' | 'postgres';
  readonly from: number;
  readonly to: number;
  readonly wards: readonly string[];
  readonly patients: number;
  readonly patientDays: number;
  readonly readings: number;
  readonly rules: { readonly current: readonly string[]; readonly proposed: string };
  readonly byRule: readonly RuleRow[];
  readonly totals: { readonly current: Stats; readonly proposed: Stats };
  readonly diff: {
    readonly added: number;
    readonly removed: number;
    readonly earlier: number;
    readonly later: number;
    readonly same: number;
    readonly items: readonly DiffItem[];
  };
  /** Width of the `buckets`: an hour, or 5 / 15 min for periods under 12 h (readable charts). */
  readonly bucketMs: number;
  /** Alert starts per rule and time bucket (`start` = bucket start, epoch ms). */
  readonly buckets: readonly {
    readonly start: number;
    readonly current: Readonly<Record<string, number>>;
    readonly proposed: Readonly<Record<string, number>>;
  }[];
  readonly timelines: readonly Timeline[];
}

export const isNotification = (e: AlertEvent): boolean => (e.phase === 'start' && e.groupedWith === null) || e.phase === 'escalate';

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
export const eventOrder = (a: AlertEvent, b: AlertEvent): number => a.eventTs - b.eventTs || cmp(a.eventId, b.eventId);

export function spansOf(events: readonly AlertEvent[]): Span[] {
  const open = new Map<string, { e: AlertEvent; end: number | null }>();
  for (const e of [...events].sort(eventOrder)) {
    if (e.phase === 'start' && !open.has(e.alertId)) open.set(e.alertId, { e, end: null });
    else if (e.phase === 'end') {
      const s = open.get(e.alertId);
      if (s && s.end === null) s.end = e.eventTs;
    }
  }
  return [...open.values()]
    .map(({ e, end }) => ({
      alertId: e.alertId,
      patientId: e.patientId,
      wardId: e.wardId,
      rule: e.rule,
      priority: e.priority,
      start: e.eventTs,
      end,
      onset: e.onsetTs,
    }))
    .sort((a, b) => a.start - b.start || cmp(a.alertId, b.alertId));
}

function quantile(xs: readonly number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

function stats(events: readonly AlertEvent[], patientDays: number): Stats {
  const starts = events.filter((e) => e.phase === 'start');
  const notifications = events.filter(isNotification).length;
  const tta = starts.map((e) => (e.eventTs - e.onsetTs) / 1000);
  const r = (x: number) => Math.round(x * 100) / 100;
  return {
    alerts: starts.length,
    notifications,
    perPatientDay: patientDays > 0 ? r(notifications / patientDays) : 0,
    ttaMedianSec: quantile(tta, 0.5),
    ttaP90Sec: quantile(tta, 0.9),
  };
}

/** Matches episodes of the same patient and rule whose spans overlap (greedy, in start order). */
export function diffSpans(current: readonly Span[], proposed: readonly Span[], to: number): ReplayReport['diff'] {
  const key = (s: Span) => `${s.patientId}\u0000${s.rule}`;
  const group = (xs: readonly Span[]) => {
    const m = new Map<string, Span[]>();
    for (const s of xs) {
      const k = key(s);
      const l = m.get(k);
      if (l) l.push(s);
      else m.set(k, [s]);
    }
    return m;
  };
  const cur = group(current);
  const prop = group(proposed);
  const items: DiffItem[] = [];
  let same = 0;
  for (const k of [...new Set([...cur.keys(), ...prop.keys()])].sort()) {
    const a = cur.get(k) ?? [];
    const b = prop.get(k) ?? [];
    const used = new Set<number>();
    for (const x of a) {
      const xEnd = x.end ?? to;
      const j = b.findIndex((y, i) => !used.has(i) && y.start <= xEnd && (y.end ?? to) >= x.start);
      if (j < 0) {
        items.push({ kind: 'removed', patientId: x.patientId, rule: x.rule, currentStart: x.start, proposedStart: null, deltaSec: null });
        continue;
      }
      used.add(j);
      const y = b[j]!;
      if (y.start === x.start) same++;
      else
        items.push({
          kind: y.start < x.start ? 'earlier' : 'later',
          patientId: x.patientId,
          rule: x.rule,
          currentStart: x.start,
          proposedStart: y.start,
          deltaSec: (y.start - x.start) / 1000,
        });
    }
    b.forEach((y, i) => {
      if (!used.has(i)) items.push({ kind: 'added', patientId: y.patientId, rule: y.rule, currentStart: null, proposedStart: y.start, deltaSec: null });
    });
  }
  items.sort(
    (p, q) =>
      (p.currentStart ?? p.proposedStart!) - (q.currentStart ?? q.proposedStart!) ||
      cmp(p.patientId, q.patientId) ||
      cmp(p.rule, q.rule) ||
      cmp(p.kind, q.kind),
  );
  const n = (k: DiffItem['kind']) => items.filter((i) => i.kind === k).length;
  return { added: n('added'), removed: n('removed'), earlier: n('earlier'), later: n('later'), same, items };
}

/** The vitals a timeline draws (one y scale: the four whose ranges share it well). */
export const TIMELINE_VITALS = ['heartRate', 'spo2', 'respRate', 'systolicBp'] as const satisfies readonly VitalName[];

export function downsample(readings: readonly VitalsReading[], names: readonly VitalName[] = TIMELINE_VITALS): Record<string, [number, number][]> {
  const out: Record<string, [number, number][]> = {};
  for (const n of names) {
    const pts: [number, number][] = [];
    for (const r of readings) {
      const v = r[n];
      if (v === null || v === undefined) continue;
      const m = r.ts - (r.ts % 60_000);
      if (pts.length && pts.at(-1)![0] === m) pts[pts.length - 1] = [m, v];
      else pts.push([m, v]);
    }
    if (pts.length) out[n] = pts;
  }
  return out;
}

/**
 * The patients whose timelines the report shows, at most `n`: those with the most differences
 * first (10 points per difference item), then the most alert episodes (1 per span, current and
 * proposed); ties by id.
 */
export function timelinePatients(diff: ReplayReport['diff'], current: readonly Span[], proposed: readonly Span[], n: number): string[] {
  const score = new Map<string, number>();
  for (const i of diff.items) score.set(i.patientId, (score.get(i.patientId) ?? 0) + 10);
  for (const s of [...current, ...proposed]) score.set(s.patientId, (score.get(s.patientId) ?? 0) + 1);
  return [...score]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, n)
    .map(([id]) => id);
}

/** One patient's timeline: its readings from `from` on, downsampled, and its spans on both sides. */
export function timelineOf(patientId: string, readings: readonly VitalsReading[], from: number, current: readonly Span[], proposed: readonly Span[]): Timeline {
  return {
    patientId,
    series: downsample(readings.filter((r) => r.ts >= from)),
    current: current.filter((s) => s.patientId === patientId),
    proposed: proposed.filter((s) => s.patientId === patientId),
  };
}

export function buildReport(o: {
  name: string;
  source: 'kafka' | 'postgres';
  from: number;
  to: number;
  wards: readonly string[];
  patients: number;
  readings: number;
  current: readonly AlertEvent[];
  proposed: readonly AlertEvent[];
  proposedVersion: string;
  timelines?: readonly Timeline[];
}): ReplayReport {
  const inRange = (e: AlertEvent) => e.eventTs >= o.from && e.eventTs < o.to;
  const current = o.current.filter(inRange).sort(eventOrder);
  const proposed = o.proposed.filter(inRange).sort(eventOrder);
  const patientDays = Math.round(o.patients * ((o.to - o.from) / 86_400_000) * 1000) / 1000;
  const rules = new Map<string, { rule: string; priority: string }>();
  for (const e of [...current, ...proposed]) if (e.phase === 'start') rules.set(`${e.rule}\u0000${e.priority}`, { rule: e.rule, priority: e.priority });
  const PRI: Record<string, number> = { high: 0, medium: 1, low: 2 };
  const byRule: RuleRow[] = [...rules.values()]
    .sort((a, b) => cmp(a.rule, b.rule) || (PRI[a.priority] ?? 9) - (PRI[b.priority] ?? 9))
    .map(({ rule, priority }) => {
      const pick = (xs: readonly AlertEvent[]) => xs.filter((e) => e.rule === rule && e.priority === priority);
      return { rule, priority, current: stats(pick(current), patientDays), proposed: stats(pick(proposed), patientDays) };
    });
  const span = o.to - o.from;
  const bucketMs = span >= 12 * 3_600_000 ? 3_600_000 : span >= 3 * 3_600_000 ? 900_000 : 300_000;
  const buckets = new Map<number, { current: Record<string, number>; proposed: Record<string, number> }>();
  for (let t = o.from - (o.from % bucketMs); t < o.to; t += bucketMs) buckets.set(t, { current: {}, proposed: {} });
  const count = (xs: readonly AlertEvent[], side: 'current' | 'proposed') => {
    for (const e of xs) {
      if (e.phase !== 'start') continue;
      const b = buckets.get(e.eventTs - (e.eventTs % bucketMs));
      if (b) b[side][e.rule] = (b[side][e.rule] ?? 0) + 1;
    }
  };
  count(current, 'current');
  count(proposed, 'proposed');
  return {
    name: o.name,
    source: o.source,
    from: o.from,
    to: o.to,
    wards: [...o.wards].sort(),
    patients: o.patients,
    patientDays,
    readings: o.readings,
    rules: { current: [...new Set(current.map((e) => e.ruleVersion))].sort(), proposed: o.proposedVersion },
    byRule,
    totals: { current: stats(current, patientDays), proposed: stats(proposed, patientDays) },
    diff: diffSpans(spansOf(current), spansOf(proposed), o.to),
    bucketMs,
    buckets: [...buckets].map(([start, v]) => ({ start, ...v })),
    timelines: o.timelines ?? [],
  };
}

// ------------------------------------------------------------------------- renderings

const iso = (t: number | null) => (t === null ? '' : new Date(t).toISOString().replace('.000Z', 'Z'));
const num = (x: number | null) => (x === null ? '–' : String(x));

export function toTable(r: ReplayReport): string {
  const head = ['rule', 'priority', 'alerts now', 'alerts new', 'notif/pt-day now', 'notif/pt-day new', 'TTA p50 s now', 'TTA p50 s new'];
  const rows = [
    ...r.byRule.map((x) =>
      [
        x.rule,
        x.priority,
        x.current.alerts,
        x.proposed.alerts,
        x.current.perPatientDay,
        x.proposed.perPatientDay,
        num(x.current.ttaMedianSec),
        num(x.proposed.ttaMedianSec),
      ].map(String),
    ),
    [
      'all',
      '',
      r.totals.current.alerts,
      r.totals.proposed.alerts,
      r.totals.current.perPatientDay,
      r.totals.proposed.perPatientDay,
      num(r.totals.current.ttaMedianSec),
      num(r.totals.proposed.ttaMedianSec),
    ].map(String),
  ];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [
    `replay "${r.name}" from ${iso(r.from)} to ${iso(r.to)} (${r.source}; ${r.readings.toLocaleString('en')} readings, ${r.patients} patients, ${r.patientDays} patient-days${r.wards.length ? `; wards ${r.wards.join(', ')}` : ''})`,
    `rules: current ${r.rules.current.join(', ') || '(no alerts)'} → proposed ${r.rules.proposed}`,
    '',
    line(head),
    w.map((n) => '-'.repeat(n)).join('  '),
    ...rows.slice(0, -1).map(line),
    w.map((n) => '-'.repeat(n)).join('  '),
    line(rows.at(-1)!),
    '',
    `difference: ${r.diff.added} added, ${r.diff.removed} removed, ${r.diff.earlier} earlier, ${r.diff.later} later, ${r.diff.same} unchanged`,
    '',
  ].join('\n');
}

const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function toCsv(r: ReplayReport): string {
  const head = [
    'rule',
    'priority',
    'current_alerts',
    'proposed_alerts',
    'current_notifications',
    'proposed_notifications',
    'current_per_patient_day',
    'proposed_per_patient_day',
    'current_tta_p50_s',
    'proposed_tta_p50_s',
    'current_tta_p90_s',
    'proposed_tta_p90_s',
  ];
  const rows = r.byRule.map((x) => [
    x.rule,
    x.priority,
    x.current.alerts,
    x.proposed.alerts,
    x.current.notifications,
    x.proposed.notifications,
    x.current.perPatientDay,
    x.proposed.perPatientDay,
    x.current.ttaMedianSec,
    x.proposed.ttaMedianSec,
    x.current.ttaP90Sec,
    x.proposed.ttaP90Sec,
  ]);
  return `${[head, ...rows].map((row) => row.map(csvCell).join(',')).join('\n')}\n`;
}

export function diffCsv(r: ReplayReport): string {
  return `${[
    ['kind', 'patient_id', 'rule', 'current_start', 'proposed_start', 'delta_s'],
    ...r.diff.items.map((d) => [d.kind, d.patientId, d.rule, iso(d.currentStart), iso(d.proposedStart), d.deltaSec]),
  ]
    .map((row) => row.map(csvCell).join(','))
    .join('\n')}\n`;
}

export const toJson = (r: ReplayReport): string => `${JSON.stringify(r, null, 2)}\n`;

// ------------------------------------------------------------------------- HTML page

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const COLORS = ['#2f6fb0', '#d9822b', '#3a9b5c', '#a83279', '#7a7a7a', '#b0a02f', '#2fb0a8', '#6b4fb0'];

/** Alerts per time bucket, current vs proposed (two stacked-bar panels sharing the y scale). */
function bucketChart(r: ReplayReport): string {
  const rules = [...new Set(r.buckets.flatMap((h) => [...Object.keys(h.current), ...Object.keys(h.proposed)]))].sort();
  const W = 900,
    H = 220,
    left = 40,
    bottom = 24;
  const n = Math.max(1, r.buckets.length);
  const max = Math.max(
    1,
    ...r.buckets.flatMap((h) => [Object.values(h.current).reduce((a, b) => a + b, 0), Object.values(h.proposed).reduce((a, b) => a + b, 0)]),
  );
  const bw = (W - left - 10) / n;
  const panel = (side: 'current' | 'proposed', y0: number) => {
    const bars = r.buckets
      .map((h, i) => {
        let y = y0 + H - bottom;
        return rules
          .map((rule, ri) => {
            const v = h[side][rule] ?? 0;
            if (!v) return '';
            const hgt = (v / max) * (H - bottom - 20);
            y -= hgt;
            return `<rect class="bar" x="${(left + i * bw + 1).toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${hgt.toFixed(1)}" fill="${COLORS[ri % COLORS.length]}"><title>${esc(`${iso(h.start)} ${rule}: ${v}`)}</title></rect>`;
          })
          .join('');
      })
      .join('');
    const ticks = r.buckets
      .map((h, i) =>
        i % Math.ceil(n / 10) === 0
          ? `<text x="${(left + i * bw).toFixed(1)}" y="${y0 + H - 6}" font-size="10">${new Date(h.start).toISOString().slice(5, 16).replace('T', ' ')}</text>`
          : '',
      )
      .join('');
    return (
      `<text x="${left}" y="${y0 + 14}" font-weight="bold">${side === 'current' ? 'Current (actually raised)' : 'Proposed rules'}</text>` +
      `<line x1="${left}" y1="${y0 + H - bottom}" x2="${W - 10}" y2="${y0 + H - bottom}" stroke="#999"/><text x="4" y="${y0 + 30}" font-size="10">${max}</text>${bars}${ticks}`
    );
  };
  const legend = rules
    .map(
      (rule, i) =>
        `<rect x="${left + i * 130}" y="${2 * H + 8}" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/><text x="${left + i * 130 + 14}" y="${2 * H + 17}" font-size="11">${esc(rule)}</text>`,
    )
    .join('');
  return `<svg class="chart" id="alerts-over-time" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${2 * H + 30}" font-family="sans-serif" font-size="12">${panel('current', 0)}${panel('proposed', H)}${legend}</svg>`;
}

function timelineChart(t: Timeline, from: number, to: number): string {
  const W = 900,
    H = 170,
    left = 40,
    top = 20;
  const x = (ts: number) => left + ((ts - from) / Math.max(1, to - from)) * (W - left - 10);
  const names = Object.keys(t.series);
  const all = names.flatMap((n) => t.series[n]!.map((p) => p[1]));
  const lo = Math.min(0, ...all),
    hi = Math.max(1, ...all);
  const y = (v: number) => top + (1 - (v - lo) / (hi - lo)) * (H - top - 40);
  const spans = (xs: readonly Span[], row: number, color: string) =>
    xs
      .map(
        (s) =>
          `<rect class="span" x="${x(s.start).toFixed(1)}" y="${H - 34 + row * 14}" width="${Math.max(2, x(s.end ?? to) - x(s.start)).toFixed(1)}" height="10" fill="${color}" opacity="0.8"><title>${esc(`${s.rule} (${s.priority}) ${iso(s.start)} – ${iso(s.end)}`)}</title></rect>`,
      )
      .join('');
  const lines = names
    .map(
      (n, i) =>
        `<polyline class="line" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.2" points="${t.series[n]!.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ')}"><title>${esc(n)}</title></polyline>`,
    )
    .join('');
  const legend = names.map((n, i) => `<text x="${left + i * 110}" y="12" font-size="11" fill="${COLORS[i % COLORS.length]}">${esc(n)}</text>`).join('');
  return (
    `<svg class="chart timeline" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">${legend}${lines}` +
    `<text x="2" y="${H - 26}" font-size="9">now</text>${spans(t.current, 0, '#c0392b')}<text x="2" y="${H - 12}" font-size="9">new</text>${spans(t.proposed, 1, '#2f6fb0')}</svg>`
  );
}

export function toHtml(r: ReplayReport): string {
  const statRow = (x: RuleRow) =>
    `<tr><td>${esc(x.rule)}</td><td>${esc(x.priority)}</td><td>${x.current.alerts}</td><td>${x.proposed.alerts}</td><td>${x.current.perPatientDay}</td><td>${x.proposed.perPatientDay}</td><td>${num(x.current.ttaMedianSec)}</td><td>${num(x.proposed.ttaMedianSec)}</td></tr>`;
  const diffRows = r.diff.items
    .slice(0, 500)
    .map(
      (d) =>
        `<tr class="${d.kind}"><td>${d.kind}</td><td>${esc(d.patientId)}</td><td>${esc(d.rule)}</td><td>${iso(d.currentStart)}</td><td>${iso(d.proposedStart)}</td><td>${d.deltaSec ?? ''}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wardstream replay: ${esc(r.name)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:960px}table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child,td:nth-child(2){text-align:left}
.added td:first-child{color:#2f6fb0}.removed td:first-child{color:#c0392b}.summary{font-size:15px}</style></head>
<body>
<h1>Replay “${esc(r.name)}”</h1>
<p class="summary">${iso(r.from)} – ${iso(r.to)} · source ${r.source} · ${r.readings.toLocaleString('en')} readings · ${r.patients} patients · ${r.patientDays} patient-days${r.wards.length ? ` · wards ${esc(r.wards.join(', '))}` : ''}<br>
Current rules: ${esc(r.rules.current.join(', ') || '(no alerts)')} · proposed: ${esc(r.rules.proposed)}</p>
<p class="summary"><b>Notifications per patient-day: ${r.totals.current.perPatientDay} now → ${r.totals.proposed.perPatientDay} proposed.</b>
Alerts: ${r.diff.added} added, ${r.diff.removed} removed, ${r.diff.earlier} earlier, ${r.diff.later} later, ${r.diff.same} unchanged.</p>
<h2>Per rule and priority</h2>
<table><tr><th>rule</th><th>priority</th><th>alerts now</th><th>alerts proposed</th><th>notif./pt-day now</th><th>proposed</th><th>TTA p50 s now</th><th>proposed</th></tr>
${r.byRule.map(statRow).join('\n')}
<tr><th>all</th><th></th><th>${r.totals.current.alerts}</th><th>${r.totals.proposed.alerts}</th><th>${r.totals.current.perPatientDay}</th><th>${r.totals.proposed.perPatientDay}</th><th>${num(r.totals.current.ttaMedianSec)}</th><th>${num(r.totals.proposed.ttaMedianSec)}</th></tr></table>
<h2>Alerts per ${r.bucketMs === 3_600_000 ? 'hour' : `${r.bucketMs / 60_000} minutes`} by rule (UTC)</h2>
${bucketChart(r)}
<h2>Patient timelines</h2>
<p>Vitals (one point per minute) with alert spans: red = current, blue = proposed. Patients with the most differences first.</p>
${r.timelines.map((t) => `<h3>${esc(t.patientId)}</h3>${timelineChart(t, r.from, r.to)}`).join('\n') || '<p>(no patient selected)</p>'}
<h2>Differences${r.diff.items.length > 500 ? ' (first 500; all in the CSV)' : ''}</h2>
<table><tr><th>kind</th><th>patient</th><th>rule</th><th>current start</th><th>proposed start</th><th>Δ s</th></tr>${diffRows}</table>
</body></html>
`;
}
