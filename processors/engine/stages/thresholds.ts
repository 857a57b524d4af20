/**
 * Threshold rules: a parameter above or below a value, sustained for sustainSec, cleared once
 * back past the hysteresis margin for clearSec (the episode machine, episode.ts). A threshold
 * rule is its own Condition; its episode is keyed by the rule id.
 */
import type { RuleSet, ThresholdRule } from '../../rulebook.ts';
import { type ConditionMeta, runCondition } from '../condition-alerts.ts';
import type { StepContext } from '../context.ts';
import { NORMAL } from '../episode.ts';
import { memoByObject } from '../memo.ts';

const metaOf = memoByObject(
  (r: ThresholdRule): ConditionMeta => ({
    kind: 'threshold',
    rule: r.id,
    label: r.label,
    priority: r.priority,
    parameter: r.parameter,
    threshold: r.threshold,
    op: r.op,
    windowMs: 0,
  }),
);
/** The metadata of every threshold rule of a rule set, looked up once per reading rather than once per rule. */
const metasOf = memoByObject((rules: RuleSet): readonly ConditionMeta[] => rules.thresholds.map(metaOf));

export function thresholds(c: StepContext): void {
  const rules = c.rules.thresholds;
  if (rules.length === 0) return;
  const metas = metasOf(c.rules);
  const current = c.st.episodes;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    const v = c.accepted[rule.parameter];
    if (v === undefined) continue;
    const cur = current[rule.id] ?? NORMAL;
    const next = runCondition(c, rule, metas[i]!, cur, v, v);
    if (next !== cur) (c.episodes ??= { ...current })[rule.id] = next;
  }
}
