/**
 * From condition episodes to the alert lifecycle: what threshold and trend rules share. A step
 * of a rule's episode (episode.ts) that yields a phase becomes a lifecycle signal: `start` an
 * onset, `worse` an update, `end` a clear; messages are built only then (most readings change
 * no alert).
 */
import type { AlertPriority } from '../../schemas/records.ts';
import * as life from '../lifecycle.ts';
import type { StepContext } from './context.ts';
import { type Condition, type EpisodeState, stepEpisode } from './episode.ts';

/** What an alert from a condition rule says about itself, made once per rule (no closures: this runs per reading). */
export interface ConditionMeta {
  readonly kind: 'threshold' | 'trend';
  readonly rule: string;
  readonly label: string;
  readonly priority: AlertPriority;
  readonly parameter: string;
  readonly threshold: number;
  readonly op: 'above' | 'below';
  readonly windowMs: number;
}

function onsetMessage(m: ConditionMeta, v: number, onset: number, ts: number, current: number): string {
  if (m.kind === 'trend')
    return `${m.label}: ${m.parameter} ${v >= 0 ? '+' : ''}${Math.round(v)} within ${Math.round(m.windowMs / 60000)} min (now ${current})`;
  return `${m.label}: ${m.parameter} ${v} ${m.op === 'above' ? '>' : '<'} ${m.threshold} for ${Math.round((ts - onset) / 1000)} s`;
}

/** Steps one rule's episode with value `v` (`current`: the parameter's value, for trend messages) and signals the lifecycle. */
export function runCondition(c: StepContext, cond: Condition, meta: ConditionMeta, cur: EpisodeState, v: number, current: number): EpisodeState {
  const ts = c.ts;
  const out = stepEpisode(cur, v, ts, cond, c.ctx.patientId);
  const next = out.next;
  if (out.phase === undefined) return next;
  if (out.phase === 'start' && next.kind === 'active') {
    c.take(
      life.onset(
        c.alerts,
        c.ctx,
        {
          alertId: next.alertId,
          rule: meta.rule,
          label: meta.label,
          priority: meta.priority,
          onsetTs: next.onset,
          parameter: meta.parameter,
          value: v,
          threshold: meta.threshold,
          message: onsetMessage(meta, v, next.onset, ts, current),
        },
        ts,
      ),
    );
  } else if (out.phase === 'worse' && next.kind === 'active') {
    c.take(life.worse(c.alerts, c.ctx, next.alertId, v, ts, `${meta.label} worse: ${meta.parameter} ${v}`));
  } else if (out.phase === 'end' && (cur.kind === 'active' || cur.kind === 'clearing')) {
    c.take(life.clear(c.alerts, c.ctx, cur.alertId, v, ts, `${meta.label} ended: ${meta.parameter} back to ${v} (worst ${cur.worst})`));
  }
  return next;
}
