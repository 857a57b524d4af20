/** Minimal self-contained SVG charts (bars, lines) for benchmark results (no dependencies, opens in any browser). */

export interface Bar {
  label: string;
  value: number;
  group?: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const COLORS = ['#2f6fb0', '#d9822b', '#3a9b5c', '#a83279', '#7a7a7a'];

export function barChart(title: string, unit: string, bars: readonly Bar[], o: { log?: boolean } = {}): string {
  const w = 760;
  const rowH = 26;
  const left = 330;
  const h = 60 + bars.length * rowH;
  const max = Math.max(...bars.map((b) => b.value), 1e-9);
  const scale = (v: number) => (o.log ? Math.log10(Math.max(v, 1)) / Math.log10(Math.max(max, 10)) : v / max) * (w - left - 90);
  const groups = [...new Set(bars.map((b) => b.group ?? ''))];
  const rows = bars
    .map((b, i) => {
      const y = 40 + i * rowH;
      const color = COLORS[groups.indexOf(b.group ?? '') % COLORS.length];
      return (
        `<text x="${left - 8}" y="${y + 16}" text-anchor="end">${esc(b.label)}</text>` +
        `<rect x="${left}" y="${y + 3}" width="${Math.max(1, scale(b.value)).toFixed(1)}" height="${rowH - 8}" fill="${color}"/>` +
        `<text x="${left + scale(b.value) + 6}" y="${y + 16}">${b.value >= 100 ? Math.round(b.value).toLocaleString('en') : b.value.toFixed(1)} ${esc(unit)}</text>`
      );
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="13">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="22" font-size="16" font-weight="bold">${esc(title)}</text>
${rows}
</svg>
`;
}

export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
}

/** Lines over a shared x axis (e.g. achieved vs offered rate), with a dashed y = x reference when asked. */
export function lineChart(title: string, xLabel: string, yLabel: string, series: readonly Series[], o: { diagonal?: boolean } = {}): string {
  const w = 880,
    h = 420,
    left = 80,
    right = 290,
    top = 40,
    bottom = 50;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xMax = Math.max(...xs, 1),
    yMax = Math.max(...ys, o.diagonal ? xMax : 1, 1);
  const X = (x: number) => left + (x / xMax) * (w - left - right);
  const Y = (y: number) => h - bottom - (y / yMax) * (h - top - bottom);
  const ticks = (max: number) => Array.from({ length: 5 }, (_, i) => Math.round((max * (i + 1)) / 5));
  const axes =
    `<line x1="${left}" y1="${h - bottom}" x2="${w - right}" y2="${h - bottom}" stroke="#333"/><line x1="${left}" y1="${top}" x2="${left}" y2="${h - bottom}" stroke="#333"/>` +
    ticks(xMax)
      .map((t) => `<text x="${X(t).toFixed(1)}" y="${h - bottom + 18}" text-anchor="middle">${t.toLocaleString('en')}</text>`)
      .join('') +
    ticks(yMax)
      .map(
        (t) =>
          `<text x="${left - 6}" y="${(Y(t) + 4).toFixed(1)}" text-anchor="end">${t.toLocaleString('en')}</text><line x1="${left}" y1="${Y(t).toFixed(1)}" x2="${w - right}" y2="${Y(t).toFixed(1)}" stroke="#eee"/>`,
      )
      .join('') +
    `<text x="${(left + w - right) / 2}" y="${h - 12}" text-anchor="middle">${esc(xLabel)}</text>` +
    `<text x="16" y="${(top + h - bottom) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(top + h - bottom) / 2})">${esc(yLabel)}</text>`;
  const diag = o.diagonal
    ? `<line x1="${X(0)}" y1="${Y(0)}" x2="${X(Math.min(xMax, yMax))}" y2="${Y(Math.min(xMax, yMax))}" stroke="#999" stroke-dasharray="4 4"/>`
    : '';
  const lines = series
    .map((s, i) => {
      const c = COLORS[i % COLORS.length];
      const pts = s.points.map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' ');
      return (
        `<polyline points="${pts}" fill="none" stroke="${c}" stroke-width="2"/>` +
        s.points.map((p) => `<circle cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="3" fill="${c}"/>`).join('') +
        `<rect x="${w - right + 12}" y="${top + i * 22}" width="12" height="12" fill="${c}"/><text x="${w - right + 30}" y="${top + i * 22 + 11}">${esc(s.name)}</text>`
      );
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="22" font-size="16" font-weight="bold">${esc(title)}</text>
${axes}${diag}
${lines}
</svg>
`;
}
