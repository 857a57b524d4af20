/**
 * Alert identity. An alert id derives from (patientId, rule, episode onset event time), so the
 * same episode gets the same id on every run: after a crash and reprocessing, in a replay, and
 * whichever of a reading or a timer noticed it. Event ids derive from it (lifecycle.ts).
 */
import { createHash } from 'node:crypto';

export function alertIdOf(patientId: string, ruleId: string, onset: number): string {
  return createHash('sha256').update(`${patientId}|${ruleId}|${onset}`).digest('base64url').slice(0, 22);
}
