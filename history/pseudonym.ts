/**
 * Patient pseudonyms for audit data: HMAC-SHA-256(key, patientId), base64url, 43 characters.
 * Pure and deterministic: the same patient under the same key always maps to the same
 * pseudonym, so auditors can follow one patient across the trail without learning who it is;
 * without the key (kept in configuration, never in the database) a pseudonym cannot be
 * reversed or recomputed from a list of patient ids.
 *
 * Rotation (docs/operations.md): rows keep the id of the key that made them; a new key gets a
 * new id, old rows stay valid and resolvable with the retired key while it is kept, and become
 * permanently unlinkable once it is destroyed.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { WardstreamError } from '../common/errors.ts';

export interface AuditKey {
  readonly id: string;
  readonly key: Buffer;
}

export function parseAuditKey(id: string, hex: string): AuditKey {
  if (!/^([0-9a-fA-F]{2}){32,}$/.test(hex)) throw new WardstreamError('CONFIG_ERR_INVALID', 'audit key must be hex, at least 32 bytes');
  return { id, key: Buffer.from(hex, 'hex') };
}

export function pseudonym(k: AuditKey, patientId: string): string {
  return createHmac('sha256', k.key).update('patient\0').update(patientId, 'utf8').digest('base64url');
}

/** Identifies a key without revealing it (stored in audit_keys to catch a wrong key). */
export function fingerprint(k: AuditKey): string {
  return createHmac('sha256', k.key).update('wardstream audit key fingerprint').digest('hex').slice(0, 32);
}

export function sameFingerprint(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
