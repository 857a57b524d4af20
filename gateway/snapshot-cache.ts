/**
 * What the gateway knows of each ward between events, the only state it keeps apart from the
 * resume buffer. Pure: no Kafka, no sockets, no clock.
 *  - the latest patient-status of every patient, by ward (from the compacted patient-status
 *    topic, read from the beginning): the snapshot a (re)subscribing client gets; a status in
 *    another ward moves the patient there;
 *  - open alerts by id (from the alerts stream; inactive ones leave), so an acknowledgement or
 *    silence is checked against the ward of its alert before it is written; alerts raised
 *    before this gateway started are found in the patients' statuses;
 *  - the latest vitals event per patient, by ward, as the JSON clients get: what a conflating
 *    (slow) client is sent when it catches up.
 */
import { LRUCache } from 'lru-cache';
import type { AlertEvent, PatientStatus } from '../schemas/records.ts';
import type { PatientSnapshot } from './protocol.ts';

export type OpenAlert = Pick<AlertEvent, 'alertId' | 'patientId' | 'wardId' | 'state'>;

/** Open alerts remembered at most (the oldest go first). */
export const MAX_OPEN_ALERTS = 200_000;

export class SnapshotCache {
  private readonly statusByWard = new Map<string, Map<string, PatientStatus>>();
  private readonly openAlerts: LRUCache<string, OpenAlert>;
  private readonly latestVitals = new Map<string, Map<string, string>>();

  constructor(maxOpenAlerts = MAX_OPEN_ALERTS) {
    this.openAlerts = new LRUCache<string, OpenAlert>({ max: maxOpenAlerts });
  }

  /** A patient's latest status; it leaves every other ward (moved). */
  applyStatus(st: PatientStatus): void {
    for (const [w, map] of this.statusByWard) if (w !== st.wardId) map.delete(st.patientId);
    let map = this.statusByWard.get(st.wardId);
    if (!map) this.statusByWard.set(st.wardId, (map = new Map()));
    map.set(st.patientId, st);
  }

  /** An alert event: an inactive alert is closed, any other state keeps it open. */
  applyAlert(a: OpenAlert): void {
    if (a.state === 'inactive') this.openAlerts.delete(a.alertId);
    else this.openAlerts.set(a.alertId, { alertId: a.alertId, patientId: a.patientId, wardId: a.wardId, state: a.state });
  }

  /** The open alert `alertId`, from the alerts stream or, for alerts older than this gateway, from patient-status. */
  findAlert(alertId: string): OpenAlert | undefined {
    const open = this.openAlerts.peek(alertId);
    if (open) return open;
    for (const map of this.statusByWard.values()) {
      for (const st of map.values()) {
        const a = st.activeAlerts.find((x) => x.alertId === alertId);
        if (a) return { alertId, patientId: st.patientId, wardId: st.wardId, state: a.state };
      }
    }
    return undefined;
  }

  /** Remembers the latest vitals event (its JSON) of a patient. */
  noteVitals(ward: string, patientId: string, json: string): void {
    let lw = this.latestVitals.get(ward);
    if (!lw) this.latestVitals.set(ward, (lw = new Map()));
    lw.set(patientId, json);
  }

  /** The latest vitals event of every patient of `ward`, as sent to clients. */
  latestVitalsOf(ward: string): Iterable<string> {
    return this.latestVitals.get(ward)?.values() ?? [];
  }

  /** Every patient of `ward` as last published; without vitals and NEWS2 for roles that may not see them. */
  snapshot(ward: string, vitals: boolean): PatientSnapshot[] {
    return [...(this.statusByWard.get(ward)?.values() ?? [])].map((st) =>
      vitals
        ? {
            patientId: st.patientId,
            bed: st.bed,
            updatedTs: st.updatedTs,
            vitals: st.vitals,
            news2Total: st.news2Total,
            news2Level: st.news2Level,
            news2SubScores: st.news2SubScores,
            activeAlerts: st.activeAlerts,
          }
        : { patientId: st.patientId, bed: st.bed, updatedTs: st.updatedTs, activeAlerts: st.activeAlerts },
    );
  }
}
