/**
 * The latest clinically usable observation per vital (what screening accepted), consciousness
 * (ACVPU) and supplemental oxygen: what NEWS2 scores and the patient-status topic shows.
 */
import { VITAL_NAMES } from '../../../schemas/records.ts';
import type { StepContext } from '../context.ts';
import { copyObs } from '../patient-state.ts';

export function observations(c: StepContext): void {
  const r = c.reading!;
  const obs = copyObs(c.st.obs);
  for (const k of VITAL_NAMES) {
    const o = c.acceptedObs[k];
    if (o !== undefined) obs[k] = o;
  }
  c.st.obs = obs;
  if (r.consciousness !== null) c.st.consciousness = { v: r.consciousness, ts: c.ts };
  if (r.onOxygen !== null) c.st.onOxygen = { v: r.onOxygen, ts: c.ts };
}
