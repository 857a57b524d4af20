/**
 * JSON encoding of a PatientState for the processor-state changelog, versioned by `v`.
 * Everything in PatientState is plain JSON except the de-duplication bitmaps (base64).
 * Version 1 (foundation) had no alerts/NEWS2/technical state and is upgraded on read.
 */
import { deserializeMemory, serializeMemory } from './dedup.ts';
import { initialState, type DeviceSeq, type PatientState } from './engine.ts';

type Stored = Omit<PatientState, 'devices'> & { v: 2; devices: Record<string, { maxSeq: number; maxTs: number; bits: string }> };

export function encodeState(s: PatientState): Buffer {
  const devices: Stored['devices'] = {};
  for (const d of s.devices) devices[d.deviceId] = serializeMemory(d.memory);
  return Buffer.from(JSON.stringify({ ...s, v: 2, devices }));
}

export function decodeState(b: Buffer): PatientState {
  const j = JSON.parse(b.toString('utf8')) as Partial<Omit<Stored, 'v'>> & { v: number };
  if (j.v !== 1 && j.v !== 2) throw new Error(`unknown processor state version ${String(j.v)}`);
  // Stored in least-recently-heard-from-first order (JSON keeps insertion order of non-integer keys).
  const devices: DeviceSeq[] = [];
  for (const [k, m] of Object.entries(j.devices ?? {})) devices.push({ deviceId: k, memory: deserializeMemory(m) });
  const { v: _v, ...rest } = j;
  return { ...initialState({ patientId: j.patientId!, wardId: j.wardId!, bed: j.bed ?? null }), ...rest, devices } as PatientState;
}
