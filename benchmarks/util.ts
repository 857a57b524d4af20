/** Small helpers shared by benchmark scripts: argument lookup, progress lines, percentiles. */

export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

export function flag(name: string): boolean {
  return process.argv.includes(name);
}

/** A progress line on stderr, redrawn at most 5 times a second. */
export function progress(label: string, total: number): { tick: (n: number) => void; done: () => void } {
  let count = 0;
  let last = 0;
  const t0 = performance.now();
  const draw = (final: boolean) => {
    const pct = total > 0 ? Math.min(100, (count / total) * 100) : 100;
    const secs = (performance.now() - t0) / 1000;
    const line = `${label}: ${count}/${total} (${pct.toFixed(0)}%) ${secs.toFixed(1)}s`;
    if (process.stderr.isTTY) process.stderr.write(`\r${line}${final ? '\n' : ''}`);
    else if (final) process.stderr.write(`${line}\n`);
  };
  return {
    tick(n: number) {
      count += n;
      const now = performance.now();
      if (now - last > 200) { last = now; draw(false); }
    },
    done() { draw(true); },
  };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}
