/** Minimal self-contained SVG bar charts for benchmark results (no dependencies, opens in any browser). */

export interface Bar { label: string; value: number; group?: string }

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const COLORS = ['#2f6fb0', '#d9822b', '#3a9b5c', '#a83279', '#7a7a7a'];

export function barChart(title: string, unit: string, bars: readonly Bar[], o: { log?: boolean } = {}): string {
  const w = 760;
  const rowH = 26;
  const left = 330;
  const h = 60 + bars.length * rowH;
  const max = Math.max(...bars.map((b) => b.value), 1e-9);
  const scale = (v: number) => (o.log ? (Math.log10(Math.max(v, 1)) / Math.log10(Math.max(max, 10))) : v / max) * (w - left - 90);
  const groups = [...new Set(bars.map((b) => b.group ?? ''))];
  const rows = bars.map((b, i) => {
    const y = 40 + i * rowH;
    const color = COLORS[groups.indexOf(b.group ?? '') % COLORS.length];
    return `<text x="${left - 8}" y="${y + 16}" text-anchor="end">${esc(b.label)}</text>`
      + `<rect x="${left}" y="${y + 3}" width="${Math.max(1, scale(b.value)).toFixed(1)}" height="${rowH - 8}" fill="${color}"/>`
      + `<text x="${left + scale(b.value) + 6}" y="${y + 16}">${b.value >= 100 ? Math.round(b.value).toLocaleString('en') : b.value.toFixed(1)} ${esc(unit)}</text>`;
  }).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="13">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="22" font-size="16" font-weight="bold">${esc(title)}</text>
${rows}
</svg>
`;
}
