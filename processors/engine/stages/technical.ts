/**
 * Technical alarms and screening: what the signal says about itself rather than the patient.
 *
 *   signal loss   no reading for technical.signalLossSec: raised from the gap at the next reading
 *                 (or by a watermark timer, tickPatient), stamped at its due time either way, so
 *                 the event and its id do not depend on which noticed it; cleared by any reading
 *   sensor off    SpO2 0 (a living patient has none: the probe is off) for sensorOffSec
 *   artifacts     a jump larger than maxJump within jumpWindowSec is a motion artifact, kept out
 *                 of the rules; three within a minute raise a signal-quality alarm, none clear it
 *
 * screening leaves the clinically usable values of the reading in `accepted` for the rule stages.
 */
import { type AlertPriority, VITAL_NAMES, type VitalName } from '../../../schemas/records.ts';
import { BUILTIN_RULES } from '../../builtin-rules.ts';
import * as life from '../../lifecycle.ts';
import { alertIdOf } from '../alert-id.ts';
import type { StepContext } from '../context.ts';
import { copyObs, MAX_ARTIFACTS, type Obs, type TechnicalKind } from '../patient-state.ts';

const ARTIFACT_WINDOW_MS = 60_000;
const ARTIFACT_ALERT_COUNT = 3;

function technicalOnset(
  c: StepContext,
  kind: TechnicalKind,
  rule: string,
  priority: AlertPriority,
  onsetTs: number,
  ts: number,
  message: string,
  parameter: string | null = null,
): void {
  if (c.st.tech[kind]) return;
  const alertId = alertIdOf(c.ctx.patientId, rule, onsetTs);
  c.take(life.onset(c.alerts, c.ctx, { alertId, rule, label: message, priority, onsetTs, parameter, value: null, threshold: null, message }, ts));
  c.st.tech = { ...c.st.tech, [kind]: alertId };
}

function technicalClear(c: StepContext, kind: TechnicalKind, ts: number, message: string): void {
  const id = c.st.tech[kind];
  if (!id) return;
  c.take(life.clear(c.alerts, c.ctx, id, null, ts, message));
  const { [kind]: _gone, ...rest } = c.st.tech;
  c.st.tech = rest;
}

/** Signal loss of a patient last heard from at `lastTs`, if event time `now` is past its due time. */
export function signalLossDue(c: StepContext, lastTs: number, now: number): void {
  const lossMs = c.rules.technical.signalLossMs;
  if (lastTs > 0 && now - lastTs >= lossMs) {
    const onsetTs = lastTs + lossMs;
    technicalOnset(c, 'signalLoss', BUILTIN_RULES.signalLoss, 'medium', onsetTs, onsetTs, `No signal for ${Math.round(lossMs / 1000)} s`);
  }
}

/** A gap longer than the signal-loss time is a signal loss even if no timer saw it (an idle partition, a replay); the reading ends it. */
export function signal(c: StepContext): void {
  signalLossDue(c, c.prevTs, c.ts);
  technicalClear(c, 'signalLoss', c.ts, 'Signal restored');
}

/** Decides which values of the reading are clinically usable: probe off and artifacts are not. */
export function screening(c: StepContext): void {
  const r = c.reading!;
  const ts = c.ts;
  const tech = c.rules.technical;
  const accepted = c.accepted;
  const acceptedObs = c.acceptedObs;
  const raw = copyObs(c.st.raw);
  let artifacts = c.st.artifacts;
  for (const name of VITAL_NAMES) {
    const v = r[name];
    if (v === null) continue;
    const before = raw[name];
    const seenObs: Obs = { v, ts };
    raw[name] = seenObs;
    if (name === 'spo2' && v <= 0) {
      // a living patient has no SpO2 of 0: the probe is off
      const since = c.st.sensorOffSince ?? ts;
      if (c.st.sensorOffSince === null) c.st.sensorOffSince = ts;
      if (ts - since >= tech.sensorOffMs) technicalOnset(c, 'sensorOff', BUILTIN_RULES.sensorOff, 'low', since, ts, 'SpO2 probe off or no signal', 'spo2');
      continue;
    }
    if (name === 'spo2') {
      if (c.st.sensorOffSince !== null) c.st.sensorOffSince = null;
      technicalClear(c, 'sensorOff', ts, 'SpO2 signal back');
    }
    const maxJump = tech.maxJump[name as VitalName];
    if (maxJump !== undefined && before && ts - before.ts <= tech.jumpWindowMs && Math.abs(v - before.v) > maxJump) {
      artifacts = [...artifacts.slice(-(MAX_ARTIFACTS - 1)), ts]; // implausible jump: motion artifact, kept out of the rules
      continue;
    }
    accepted[name] = v;
    acceptedObs[name] = seenObs; // the same object in raw and obs: one allocation per value
  }
  let recentArtifacts = 0;
  for (const t of artifacts) if (ts - t <= ARTIFACT_WINDOW_MS) recentArtifacts++;
  c.st.raw = raw;
  c.st.artifacts = artifacts;
  if (recentArtifacts >= ARTIFACT_ALERT_COUNT)
    technicalOnset(c, 'artifact', BUILTIN_RULES.artifact, 'low', ts, ts, `Signal quality: ${recentArtifacts} artifacts within 60 s`);
  else if (recentArtifacts === 0) technicalClear(c, 'artifact', ts, 'Signal quality restored');
}
