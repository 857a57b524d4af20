/**
 * Threshold rules with a sustain duration and hysteresis, on event time.
 *
 * A rule raises when its condition has held on every reading of its parameter for at least
 * `sustainMs` of device time (so a 3 s motion spike never alarms a 10 s rule), and clears only
 * when the value has been back past the threshold by `hysteresis` for `clearMs` (so a value
 * hovering at the threshold does not flap). One episode = one `start` and one `end` event.
 */
import type { AlertPriority, VitalName } from '../schemas/records.ts';

export interface ThresholdRule {
  readonly id: string;
  readonly parameter: VitalName;
  readonly op: 'above' | 'below';
  readonly threshold: number;
  readonly sustainMs: number;
  readonly hysteresis: number;
  readonly clearMs: number;
  readonly priority: AlertPriority;
  readonly label: string;
}

export interface RuleSet {
  readonly version: string;
  readonly thresholds: readonly ThresholdRule[];
}

/** The foundation's default rule set (docs/protocol.md, "Default rules"). */
export const DEFAULT_RULES: RuleSet = {
  version: 'default-1',
  thresholds: [
    { id: 'hr-high', parameter: 'heartRate', op: 'above', threshold: 130, sustainMs: 10_000, hysteresis: 5, clearMs: 10_000, priority: 'high', label: 'Tachycardia' },
    { id: 'hr-low', parameter: 'heartRate', op: 'below', threshold: 40, sustainMs: 10_000, hysteresis: 5, clearMs: 10_000, priority: 'high', label: 'Bradycardia' },
    { id: 'spo2-low', parameter: 'spo2', op: 'below', threshold: 90, sustainMs: 15_000, hysteresis: 2, clearMs: 15_000, priority: 'high', label: 'Desaturation' },
    { id: 'sbp-low', parameter: 'systolicBp', op: 'below', threshold: 90, sustainMs: 30_000, hysteresis: 5, clearMs: 30_000, priority: 'high', label: 'Hypotension' },
  ],
};

/** Condition breached (strictly beyond the threshold). */
export function breached(rule: ThresholdRule, v: number): boolean {
  return rule.op === 'above' ? v > rule.threshold : v < rule.threshold;
}

/** Back in range with the hysteresis margin: only then does the clearing clock run. */
export function recovered(rule: ThresholdRule, v: number): boolean {
  return rule.op === 'above' ? v <= rule.threshold - rule.hysteresis : v >= rule.threshold + rule.hysteresis;
}

/** Is `a` worse than `b` for this rule? */
export function worse(rule: ThresholdRule, a: number, b: number): boolean {
  return rule.op === 'above' ? a > b : a < b;
}
