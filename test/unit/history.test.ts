import { describe, expect, it } from 'vitest';
import { fingerprint, parseAuditKey, pseudonym } from '../../history/pseudonym.ts';
import { parseReplayArgs, parseTime } from '../../history/replay/args.ts';
import { buildReport, diffSpans, type Span, spansOf, toCsv } from '../../history/replay/report.ts';
import { dayOfPartition, dayStart, daysBetween, expiredPartitions, partitionName } from '../../history/sink/partitions.ts';
import type { AlertEvent } from '../../schemas/records.ts';

const NOW = Date.UTC(2026, 10, 26, 12, 30);
const DAY = 86_400_000;

describe('daily partitions', () => {
  it('names UTC days and parses them back', () => {
    expect(partitionName(dayStart(NOW))).toBe('vitals_p20261126');
    expect(dayOfPartition('vitals_p20261126')).toBe(Date.UTC(2026, 10, 26));
    expect(dayOfPartition('vitals_default')).toBeNull();
    expect(daysBetween(NOW, NOW + 2 * DAY).map(partitionName)).toEqual(['vitals_p20261126', 'vitals_p20261127', 'vitals_p20261128']);
  });
  it('expires a partition only when its whole day is older than the retention', () => {
    const names = ['vitals_p20261025', 'vitals_p20261026', 'vitals_p20261027', 'vitals_p20261126', 'other_table'];
    // cutoff = 2026-11-26 00:00 - 30 d = 2026-10-27 00:00: the 26th ended exactly then.
    expect(expiredPartitions(names, NOW, 30)).toEqual(['vitals_p20261025', 'vitals_p20261026']);
    expect(expiredPartitions(names, NOW, 365)).toEqual([]);
  });
});

describe('audit pseudonyms', () => {
  const k1 = parseAuditKey('k1', 'a1'.repeat(32));
  const k2 = parseAuditKey('k2', 'b2'.repeat(32));
  it('are stable per patient and key, distinct across patients and keys, and not the id', () => {
    expect(pseudonym(k1, 'MRN-1')).toBe(pseudonym(k1, 'MRN-1'));
    expect(pseudonym(k1, 'MRN-1')).not.toBe(pseudonym(k1, 'MRN-2'));
    expect(pseudonym(k1, 'MRN-1')).not.toBe(pseudonym(k2, 'MRN-1'));
    expect(pseudonym(k1, 'MRN-1')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fingerprint(k1)).not.toBe(fingerprint(k2));
  });
  it('refuse short or non-hex keys', () => {
    expect(() => parseAuditKey('k', 'ab'.repeat(16))).toThrow(/at least 32 bytes/);
    expect(() => parseAuditKey('k', 'zz'.repeat(32))).toThrow(/hex/);
  });
});

describe('replay arguments', () => {
  it('parse ISO, epoch, now and relative times', () => {
    expect(parseTime('2026-11-25', NOW, 'x')).toBe(Date.UTC(2026, 10, 25));
    expect(parseTime('2026-11-25T08:00Z', NOW, 'x')).toBe(Date.UTC(2026, 10, 25, 8));
    expect(parseTime('2026-11-25T08:00:00+01:00', NOW, 'x')).toBe(Date.UTC(2026, 10, 25, 7));
    expect(parseTime(String(NOW - 5), NOW, 'x')).toBe(NOW - 5);
    expect(parseTime('-24h', NOW, 'x')).toBe(NOW - DAY);
    expect(parseTime('now', NOW, 'x')).toBe(NOW);
    expect(parseTime('now-30m', NOW, 'x')).toBe(NOW - 1_800_000);
  });
  it('reject bad times, inverted ranges, unknown sources and unsafe names with clear messages', () => {
    expect(() => parseReplayArgs({}, NOW)).toThrow(/--from is required/);
    expect(() => parseReplayArgs({ from: 'yesterday' }, NOW)).toThrow(/--from "yesterday" is not a time/);
    expect(() => parseReplayArgs({ from: '-1h', to: '-2h' }, NOW)).toThrow(/must be before --to/);
    expect(() => parseReplayArgs({ from: '-1h', source: 'mysql' }, NOW)).toThrow(/--source must be kafka or postgres/);
    expect(() => parseReplayArgs({ from: '-1h', name: 'a b' }, NOW)).toThrow(/--name/);
    expect(parseReplayArgs({ from: '-1h', patients: ['p1, p2', 'p1'] }, NOW).patients).toEqual(['p1', 'p2']);
  });
});

function ev(o: Partial<AlertEvent> & Pick<AlertEvent, 'alertId' | 'phase' | 'eventTs'>): AlertEvent {
  return {
    eventId: `${o.alertId}:${o.phase}:${o.eventTs}`,
    patientId: 'p1',
    wardId: 'w',
    bed: null,
    rule: 'hr-high',
    priority: 'high',
    state: 'active',
    parameter: null,
    value: null,
    threshold: null,
    onsetTs: o.eventTs - 10_000,
    message: '',
    ruleVersion: 'v',
    correlationId: '',
    details: null,
    notify: ['nurse'],
    actor: null,
    actorRole: null,
    groupedWith: null,
    silencedUntil: null,
    ...o,
  };
}

describe('replay report', () => {
  const T = NOW;
  it('matches episodes by overlap per patient and rule: same, earlier, later, added, removed', () => {
    const span = (id: string, start: number, end: number | null, rule = 'hr-high', patientId = 'p1'): Span => ({
      alertId: id,
      patientId,
      wardId: 'w',
      rule,
      priority: 'high',
      start,
      end,
      onset: start,
    });
    const d = diffSpans(
      [span('a', T, T + 100), span('b', T + 1000, T + 1100), span('c', T + 2000, T + 2100), span('d', T + 3000, T + 3100)],
      [span('a', T, T + 100), span('x', T + 990, T + 1100), span('y', T + 2050, T + 2100), span('z', T + 5000, null)],
      T + 9000,
    );
    expect([d.same, d.earlier, d.later, d.removed, d.added]).toEqual([1, 1, 1, 1, 1]);
    expect(d.items.find((i) => i.kind === 'earlier')!.deltaSec).toBe(-0.01);
  });
  it('counts alerts, notifications (ungrouped starts and escalations) and time-to-alert per rule', () => {
    const current = [
      ev({ alertId: 'a', phase: 'start', eventTs: T }),
      ev({ alertId: 'a', phase: 'escalate', eventTs: T + 60_000 }),
      ev({ alertId: 'a', phase: 'end', eventTs: T + 90_000 }),
      ev({ alertId: 'b', phase: 'start', eventTs: T + 1000, rule: 'news2', priority: 'low', groupedWith: 'a' }),
    ];
    const r = buildReport({
      name: 'n',
      source: 'postgres',
      from: T - 1000,
      to: T + DAY - 1000,
      wards: [],
      patients: 2,
      readings: 10,
      current,
      proposed: current.slice(0, 1),
      proposedVersion: 'v2',
    });
    expect(r.totals.current).toMatchObject({ alerts: 2, notifications: 2, perPatientDay: 1, ttaMedianSec: 10 });
    expect(r.totals.proposed).toMatchObject({ alerts: 1, notifications: 1 });
    expect(r.byRule.map((x) => [x.rule, x.current.alerts, x.proposed.alerts])).toEqual([
      ['hr-high', 1, 1],
      ['news2', 1, 0],
    ]);
    expect(r.bucketMs).toBe(3_600_000);
    expect(spansOf(current)).toHaveLength(2);
    expect(toCsv(r).split('\n')[0]).toMatch(/^rule,priority,current_alerts,proposed_alerts/);
  });
});
