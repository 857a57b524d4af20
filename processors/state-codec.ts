/**
 * The processor-state changelog encoding of a PatientState, versioned.
 *
 *   v1 (written)  the Confluent wire format like every other record: byte 0 = 0, bytes 1..4 the
 *                 schema id of `processorState` (schemas/registry.json, or the registry), then the
 *                 Avro body of schemas/processor-state.avsc. Its fields follow the engine's
 *                 objects, so a state is written as it is, with no conversion.
 *   v0 (read)     the JSON of earlier releases, `{"v":2,…}` (v 1: the foundation's, without
 *                 alerts, NEWS2 or technical state), de-duplication bitmaps in base64. Read so
 *                 that a running deployment upgrades without losing state; never written.
 *
 * The first byte tells them apart: 0 (wire format) or `{` (JSON). Decoding validates (Avro or
 * JSON structure, then state-shape.ts) and throws PROCESSOR_ERR_STATE_VERSION for an unknown
 * schema id or JSON version, PROCESSOR_ERR_STATE_INVALID for anything else it cannot use.
 * Runs for every changed patient at every commit: encoding is one Avro write.
 */
import { WardstreamError } from '../common/errors.ts';
import { type Codec, CodecError, localCodec } from '../schemas/codec.ts';
import type { ProcessorState } from '../schemas/records.ts';
import { deserializeMemory } from './dedup.ts';
import { initialState, type PatientState } from './engine/patient-state.ts';
import { patientStateOf } from './state-shape.ts';

const JSON_OPEN = 0x7b; // '{'
/** Versions of the legacy JSON encoding (its `v` field). */
const JSON_VERSIONS: readonly unknown[] = [1, 2];

/** What avsc writes from: a field that may be null may be absent too (its default, null, is written). */
type Writable<T> = T extends Buffer
  ? T
  : T extends readonly (infer I)[]
    ? readonly Writable<I>[]
    : T extends object
      ? { readonly [K in keyof T as null extends T[K] ? never : K]: Writable<T[K]> } & {
          readonly [K in keyof T as null extends T[K] ? K : never]?: Writable<T[K]>;
        }
      : T;

let shared: Codec | undefined;
/** The codec of the caller, or one with the ids of schemas/registry.json. */
const codecOf = (codec?: Codec): Codec => codec ?? (shared ??= localCodec());

export function encodeState(s: PatientState, codec?: Codec): Buffer {
  const record: Writable<ProcessorState> = s; // checked here: a PatientState is what the schema describes
  return codecOf(codec).encode('processorState', record as ProcessorState);
}

export function decodeState(b: Buffer, codec?: Codec): PatientState {
  if (b[0] === JSON_OPEN) return decodeJson(b);
  let record: ProcessorState;
  try {
    record = codecOf(codec).decode('processorState', b);
  } catch (e) {
    if (e instanceof CodecError && e.code === 'SCHEMA_ERR_UNKNOWN_ID') throw new WardstreamError('PROCESSOR_ERR_STATE_VERSION', e.message, { cause: e });
    throw new WardstreamError('PROCESSOR_ERR_STATE_INVALID', (e as Error).message, { cause: e });
  }
  return patientStateOf(record, `state of ${record.patientId} (v1)`);
}

/** v0: the JSON state, put in the shape of v1 and checked like it. */
function decodeJson(b: Buffer): PatientState {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(b.toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new WardstreamError('PROCESSOR_ERR_STATE_INVALID', `JSON state: ${(e as Error).message}`, { cause: e });
  }
  if (typeof j !== 'object' || j === null) throw new WardstreamError('PROCESSOR_ERR_STATE_INVALID', 'JSON state is not an object');
  if (!JSON_VERSIONS.includes(j.v)) {
    throw new WardstreamError('PROCESSOR_ERR_STATE_VERSION', `JSON state version ${JSON.stringify(j.v)} (known: ${JSON_VERSIONS.join(', ')})`);
  }
  const where = `state of ${String(j.patientId)} (v0, JSON v${String(j.v)})`;
  // Devices were an object in least-recently-heard-from-first order (JSON keeps the insertion order of non-integer keys).
  const devices: unknown[] = [];
  const stored = (j.devices ?? {}) as Record<string, { maxSeq: number; maxTs: number; bits: string }>;
  if (typeof stored !== 'object' || Array.isArray(stored)) throw new WardstreamError('PROCESSOR_ERR_STATE_INVALID', `${where}: devices is not an object`);
  for (const [deviceId, m] of Object.entries(stored)) {
    if (typeof m?.bits !== 'string' || !Number.isSafeInteger(m.maxSeq) || !Number.isSafeInteger(m.maxTs)) {
      throw new WardstreamError('PROCESSOR_ERR_STATE_INVALID', `${where}: devices.${deviceId} is not a sequence memory`);
    }
    devices.push({ deviceId, memory: deserializeMemory(m) });
  }
  const { v: _v, ...rest } = j;
  const base = initialState({ patientId: j.patientId as string, wardId: j.wardId as string, bed: (j.bed as string | null) ?? null });
  return patientStateOf({ ...base, ...rest, devices }, where);
}
