import { describe, expect, it } from 'vitest';
import { DEFAULT_RULE_FILE, loadRuleFile, parseRuleFile } from '../../processors/rulebook.ts';

const base = `version: t-1
defaults:
  thresholds:
    - { id: hr-high, parameter: heartRate, above: 130, sustainSec: 10, hysteresis: 5, clearSec: 10, priority: high, label: Tachycardia }
    - { id: spo2-low, parameter: spo2, below: 90, sustainSec: 15, hysteresis: 2, clearSec: 15, priority: high }
  news2: { enabled: true }
  technical: { signalLossSec: 60 }
  lifecycle: { escalateAfterSec: 60 }
`;

describe('rule file', () => {
  it('loads the shipped default file', () => {
    const book = loadRuleFile(DEFAULT_RULE_FILE);
    expect(book.version).toMatch(/^hospital-default-1@[0-9a-f]{8}$/);
    expect(book.defaults.thresholds.map((t) => t.id)).toContain('rr-high');
    expect(book.defaults.trends.map((t) => t.id)).toEqual(['sbp-fall', 'hr-rise']);
  });

  it('converts units once: seconds to milliseconds, above/below to an operator', () => {
    const d = parseRuleFile(base).defaults;
    expect(d.thresholds[0]).toEqual({
      id: 'hr-high',
      parameter: 'heartRate',
      op: 'above',
      threshold: 130,
      sustainMs: 10_000,
      hysteresis: 5,
      clearMs: 10_000,
      priority: 'high',
      label: 'Tachycardia',
    });
    expect(d.thresholds[1]!.label).toBe('spo2-low');
    expect(d.technical.signalLossMs).toBe(60_000);
  });

  it('applies ward then patient overrides by rule id, and can disable a rule', () => {
    const book = parseRuleFile(`${base}wards:
  icu-1:
    thresholds: [ { id: hr-high, above: 150 }, { id: spo2-low, enabled: false } ]
patients:
  p7:
    thresholds: [ { id: hr-high, sustainSec: 30 } ]
    news2: { spo2Scale: 2 }
`);
    expect(book.forPatient('ward-9', 'p1')).toBe(book.defaults);
    const icu = book.forPatient('icu-1', 'p1');
    expect(icu.thresholds.map((t) => [t.id, t.threshold])).toEqual([['hr-high', 150]]);
    const p7 = book.forPatient('icu-1', 'p7');
    expect(p7.thresholds[0]).toMatchObject({ threshold: 150, sustainMs: 30_000 });
    expect(p7.news2.spo2Scale).toBe(2);
    expect(book.forPatient('ward-9', 'p7').thresholds.map((t) => t.id)).toEqual(['hr-high', 'spo2-low']);
  });

  it('changes version when the content changes', () => {
    expect(parseRuleFile(base).version).not.toBe(parseRuleFile(base.replace('above: 130', 'above: 131')).version);
  });

  it.each([
    ['an unknown field', base.replace('hysteresis: 5,', 'hysterisis: 5,'), /:4: defaults\.thresholds\.0 unknown field "hysterisis"/],
    [
      'a bad priority',
      base.replace('priority: high, label', 'priority: urgent, label'),
      /:4: defaults\.thresholds\.0\.priority must be one of high, medium, low/,
    ],
    ['both above and below', base.replace('above: 130,', 'above: 130, below: 40,'), /both "above" and "below"/],
    ['an unknown vital', base.replace('parameter: spo2', 'parameter: sp02'), /:5: defaults\.thresholds\.1\.parameter must be one of/],
    ['a missing version', base.replace('version: t-1\n', ''), /must have required property 'version'/],
    ['YAML syntax', base.replace('news2: { enabled: true }', 'news2: { enabled: true'), /rules:\d+:/],
    [
      'an incomplete new rule in an override',
      `${base}wards:\n  w1:\n    thresholds: [ { id: new-rule, above: 3 } ]\n`,
      /wards\.w1: threshold "new-rule" needs parameter/,
    ],
  ])('rejects %s with the field and line', (_name, text, msg) => {
    expect(() => parseRuleFile(text, 'rules')).toThrow(msg);
  });
});
