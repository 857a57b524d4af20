/** JSON encoding of a PatientState for the processor-state changelog (versioned by `v`). */
import { deserializeMemory, serializeMemory, type SeqMemory } from './dedup.ts';
import type { EpisodeState, PatientState } from './engine.ts';

interface Stored {
  v: 1;
  patientId: string;
  wardId: string;
  bed: string | null;
  lastTs: number;
  devices: Record<string, { maxSeq: number; maxTs: number; bits: string }>;
  episodes: Record<string, EpisodeState>;
}

export function encodeState(s: PatientState): Buffer {
  const devices: Stored['devices'] = {};
  for (const [k, m] of Object.entries(s.devices)) devices[k] = serializeMemory(m);
  const out: Stored = { v: 1, patientId: s.patientId, wardId: s.wardId, bed: s.bed, lastTs: s.lastTs, devices, episodes: s.episodes as Record<string, EpisodeState> };
  return Buffer.from(JSON.stringify(out));
}

export function decodeState(b: Buffer): PatientState {
  const j = JSON.parse(b.toString('utf8')) as Stored;
  if (j.v !== 1) throw new Error(`unknown processor state version ${String(j.v)}`);
  const devices: Record<string, SeqMemory> = {};
  for (const [k, m] of Object.entries(j.devices)) devices[k] = deserializeMemory(m);
  return { patientId: j.patientId, wardId: j.wardId, bed: j.bed, lastTs: j.lastTs, devices, episodes: j.episodes };
}
