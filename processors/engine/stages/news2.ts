/**
 * NEWS2 alerting: scores the patient's latest observations no older than news2.freshnessSec
 * (news2.ts), steps the NEWS2 episode (news2-episode.ts) and turns its signal into lifecycle
 * events; keeps the latest score for the patient-status topic.
 */
import { BUILTIN_RULES } from '../../builtin-rules.ts';
import * as life from '../../lifecycle.ts';
import { type News2Level, type News2Score, news2 as score } from '../../news2.ts';
import type { StepContext } from '../context.ts';
import { NEWS2_PRIORITY, stepNews2 } from '../news2-episode.ts';

const NEWS2_WORDS: Readonly<Record<News2Level, string>> = {
  none: 'routine',
  low: 'ward-based response',
  'single-red': 'urgent ward-based response (a parameter scored 3)',
  urgent: 'urgent response',
  emergency: 'emergency response',
};
/** The total at which each alerting level starts (a single 3 for single-red). */
const LEVEL_THRESHOLD: Readonly<Partial<Record<News2Level, number>>> = { 'single-red': 3, urgent: 5, emergency: 7 };

// Message and details are built only when an event carries them (most readings change no
// alert). Module-level functions rather than closures: a closure per reading costs an
// allocation (and, under tsx's keepNames, a defineProperty) on the hottest path.
const message = (s: News2Score): string => `NEWS2 ${s.total}${s.complete ? '' : ' (incomplete)'}: ${NEWS2_WORDS[s.level]}`;
const details = (s: News2Score): Record<string, number> => ({ total: s.total, ...s.subScores });

export function news2(c: StepContext): void {
  const cfg = c.rules.news2;
  if (!cfg.enabled) return;
  const ts = c.ts;
  const o = c.st.obs;
  const f = ts - cfg.freshnessMs;
  const s = score(
    {
      respRate: o.respRate && o.respRate.ts >= f ? o.respRate.v : null,
      spo2: o.spo2 && o.spo2.ts >= f ? o.spo2.v : null,
      onOxygen: c.st.onOxygen && c.st.onOxygen.ts >= f ? c.st.onOxygen.v : null,
      systolicBp: o.systolicBp && o.systolicBp.ts >= f ? o.systolicBp.v : null,
      heartRate: o.heartRate && o.heartRate.ts >= f ? o.heartRate.v : null,
      consciousness: c.st.consciousness && c.st.consciousness.ts >= f ? c.st.consciousness.v : null,
      temperature: o.temperature && o.temperature.ts >= f ? o.temperature.v : null,
    },
    cfg.spo2Scale,
  );
  const cur = c.st.news2;
  const out = stepNews2(cur, s, ts, cfg, c.ctx.patientId);
  const next = out.next;
  switch (out.signal) {
    case 'start':
      if (next.kind === 'active') {
        c.take(
          life.onset(
            c.alerts,
            c.ctx,
            {
              alertId: next.alertId,
              rule: BUILTIN_RULES.news2,
              label: 'NEWS2',
              priority: NEWS2_PRIORITY[next.level]!,
              onsetTs: out.onset,
              parameter: BUILTIN_RULES.news2,
              value: s.total,
              threshold: LEVEL_THRESHOLD[next.level]!,
              message: message(s),
              details: details(s),
            },
            ts,
          ),
        );
      }
      break;
    case 'end':
      if (cur.kind === 'active' || cur.kind === 'clearing') {
        c.take(life.clear(c.alerts, c.ctx, cur.alertId, null, ts, `NEWS2 back below alerting levels (${message(s)})`));
      }
      break;
    case 'reprioritize':
      if (next.kind === 'active') c.take(life.reprioritize(c.alerts, c.ctx, next.alertId, NEWS2_PRIORITY[s.level]!, s.total, ts, message(s), details(s)));
      break;
    case 'worse':
      if (next.kind === 'active') c.take(life.worse(c.alerts, c.ctx, next.alertId, s.total, ts, message(s), details(s)));
      break;
    case null:
      break;
  }
  c.st.news2 = next;
  // Unchanged scores keep the previous object: nothing new to retain in the patient's state.
  const last = c.st.news2Last;
  if (!(last && last.total === s.total && last.level === s.level && sameScores(last.sub, s.subScores))) {
    c.st.news2Last = { total: s.total, level: s.level, sub: s.subScores as Record<string, number> };
  }
}

function sameScores(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number | undefined>>): boolean {
  let n = 0;
  for (const k in b) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  for (const _ in a) n--;
  return n === 0;
}
