/**
 * Trend rules: the change of a parameter against the extreme of its window (the maximum for a
 * fall, the minimum for a rise), kept as about 10 buckets of min/max per window, through the
 * same episode machine as thresholds (episode.ts): the change itself breaches ("falls by at
 * least N"), with hysteresis of half the change and a fixed one-minute clear time. Episodes are
 * keyed `trend:<rule id>`, apart from threshold rules'.
 */
import type { RuleSet, TrendRule } from '../../rulebook.ts';
import { type ConditionMeta, runCondition } from '../condition-alerts.ts';
import type { StepContext } from '../context.ts';
import { type Condition, NORMAL } from '../episode.ts';
import { memoByObject } from '../memo.ts';
import type { Bucket } from '../patient-state.ts';

const TREND_CLEAR_MS = 60_000;

interface TrendMeta {
  readonly meta: ConditionMeta;
  readonly cond: Condition;
  readonly key: string;
  readonly width: number;
}
const metaOf = memoByObject((r: TrendRule): TrendMeta => {
  const op = r.change < 0 ? 'below' : 'above';
  return {
    meta: { kind: 'trend', rule: r.id, label: r.label, priority: r.priority, parameter: r.parameter, threshold: r.change, op, windowMs: r.windowMs },
    cond: { id: r.id, op, threshold: r.change, hysteresis: Math.abs(r.change) / 2, sustainMs: r.sustainMs, clearMs: TREND_CLEAR_MS, inclusive: true },
    key: `trend:${r.id}`,
    width: Math.max(1000, Math.floor(r.windowMs / 10)),
  };
});
const metasOf = memoByObject((rules: RuleSet): readonly TrendMeta[] => rules.trends.map(metaOf));

export function trends(c: StepContext): void {
  const rules = c.rules.trends;
  if (rules.length === 0) return;
  const metas = metasOf(c.rules);
  const ts = c.ts;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    const v = c.accepted[rule.parameter];
    if (v === undefined) continue;
    const m = metas[i]!;
    const bt = ts - (ts % m.width);
    const prevB = c.st.buckets[rule.id] ?? [];
    let ref = v;
    let keep = 0;
    for (let j = prevB.length - 1; j >= 0; j--) {
      const b = prevB[j]!;
      if (b.t <= ts - rule.windowMs) break;
      keep++;
      if (rule.change < 0 ? b.max > ref : b.min < ref) ref = rule.change < 0 ? b.max : b.min;
    }
    const kept = keep === prevB.length ? prevB : prevB.slice(prevB.length - keep);
    const last = kept.at(-1);
    let nb: readonly Bucket[];
    if (last && last.t === bt)
      nb = v >= last.min && v <= last.max ? kept : [...kept.slice(0, -1), { t: bt, min: Math.min(last.min, v), max: Math.max(last.max, v) }];
    else nb = [...kept, { t: bt, min: v, max: v }];
    if (nb !== prevB) (c.buckets ??= { ...c.st.buckets })[rule.id] = nb;
    const cur = c.st.episodes[m.key] ?? NORMAL;
    const next = runCondition(c, m.cond, m.meta, cur, v - ref, v);
    if (next !== cur) (c.episodes ??= { ...c.st.episodes })[m.key] = next;
  }
}
