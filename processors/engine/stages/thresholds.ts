/**
 * Threshold rules: a parameter above or below a value, sustained for sustainSec, cleared once
 * back past the hysteresis margin for clearSec (the episode machine, episode.ts). A threshold
 * rule is its own Condition; its episode is keyed by the rule id.
 */
import type { RuleSet, ThresholdRule } from '../../rulebook.ts';
import { runCondition, type ConditionMeta } from '../condition-alerts.ts';
import type { StepContext } from '../context.ts';
import { NORMAL } from '../episode.ts';

const metaByRule = new WeakMap<ThresholdRule, ConditionMeta>();
function metaOf(r: ThresholdRule): ConditionMeta {
  let m = metaByRule.get(r);
  if (!m) metaByRule.set(r, (m = { kind: 'threshold', rule: r.id, label: r.label, priority: r.priority, parameter: r.parameter, threshold: r.threshold, op: r.op, windowMs: 0 }));
  return m;
}
/** The metadata of every threshold rule of a rule set, looked up once per reading rather than once per rule. */
const metasByRuleSet = new WeakMap<RuleSet, readonly ConditionMeta[]>();
function metasOf(rules: RuleSet): readonly ConditionMeta[] {
  let m = metasByRuleSet.get(rules);
  if (!m) metasByRuleSet.set(rules, (m = rules.thresholds.map(metaOf)));
  return m;
}

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
