/**
 * The rules the engine has built in, beside those of the rule file: technical alarms and NEWS2.
 * Their ids are the `rule` of every alert they raise and part of its alert id, so they are
 * named here once; the rule book keeps rule files from reusing them (two rules with one id
 * would share alert ids).
 */
export const BUILTIN_RULES = {
  /** No reading from any of the patient's devices for `technical.signalLossSec` (event time). */
  signalLoss: 'signal-loss',
  /** SpO2 probe off (SpO2 0) for `technical.sensorOffSec`. */
  sensorOff: 'sensor-off',
  /** Repeated implausible jumps (motion artifacts) within a minute. */
  artifact: 'artifact',
  /** NEWS2 at an alerting response level (RCP 2017), sustained. */
  news2: 'news2',
} as const;

export type BuiltinRuleId = (typeof BUILTIN_RULES)[keyof typeof BUILTIN_RULES];
export const BUILTIN_RULE_IDS: readonly BuiltinRuleId[] = Object.values(BUILTIN_RULES);
/** The technical alarms, which say something about the signal rather than the patient. */
export const TECHNICAL_RULE_IDS: readonly BuiltinRuleId[] = [BUILTIN_RULES.signalLoss, BUILTIN_RULES.sensorOff, BUILTIN_RULES.artifact];
