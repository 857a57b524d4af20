/**
 * Backpressure for slow clients: conflated vitals, every alert.
 *
 * A sweep (every CONFLATE_SWEEP_MS) moves each socket with more than CONFLATE_ABOVE_BYTES
 * buffered out of its wards' vitals topics; alerts keep flowing to it. When uWS reports the
 * socket drained below RESUME_BELOW_BYTES, it gets the latest vitals event of every patient of
 * its wards, then the live vitals again. A socket whose backlog still grows past uWS'
 * maxBackpressure is closed (it resumes by reconnecting) rather than silently skipped, so
 * memory per socket stays bounded whatever the client does.
 *
 * The decisions are pure functions of a session and its buffered bytes; the two actions act
 * on a `ClientSocket` (a uWS WebSocket, or a fake one in tests).
 */
import { vitalsTopic } from './protocol.ts';
import type { ClientSocket, Session } from './session.ts';
import type { SnapshotCache } from './snapshot-cache.ts';

/** Above this many buffered bytes a socket stops getting every reading (alerts still flow). */
export const CONFLATE_ABOVE_BYTES = 256 * 1024;
/** …and gets the latest reading per patient, then the live stream again, below this. */
export const RESUME_BELOW_BYTES = 64 * 1024;
export const CONFLATE_SWEEP_MS = 100;

/** Could be switched to conflated vitals: open, receiving live vitals (checked before asking uWS for the buffered bytes). */
export function mayConflate(s: Session): boolean {
  return !s.closed && !s.conflating && s.vitalsWards.size > 0;
}

export function shouldConflate(bufferedBytes: number): boolean {
  return bufferedBytes > CONFLATE_ABOVE_BYTES;
}

export function shouldCatchUp(bufferedBytes: number): boolean {
  return bufferedBytes <= RESUME_BELOW_BYTES;
}

/** One sweep: switches every slow socket to conflated vitals; returns how many were switched. */
export function sweepSlowSockets(sockets: Iterable<ClientSocket>): number {
  let switched = 0;
  for (const ws of sockets) {
    const d = ws.getUserData();
    if (!mayConflate(d) || !shouldConflate(ws.getBufferedAmount())) continue;
    d.conflating = true;
    for (const ward of d.vitalsWards) ws.unsubscribe(vitalsTopic(ward));
    switched++;
  }
  return switched;
}

/**
 * On drain: a conflating socket that caught up gets the latest reading of every patient of its
 * wards, then live vitals (corked: one write). Returns whether it was caught up.
 */
export function catchUp(ws: ClientSocket, cache: Pick<SnapshotCache, 'latestVitalsOf'>): boolean {
  const d = ws.getUserData();
  if (!d.conflating || !shouldCatchUp(ws.getBufferedAmount())) return false;
  d.conflating = false;
  ws.cork(() => {
    for (const ward of d.vitalsWards) {
      for (const json of cache.latestVitalsOf(ward)) ws.send(json);
      ws.subscribe(vitalsTopic(ward));
    }
  });
  return true;
}
