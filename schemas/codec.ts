/**
 * Avro codecs in the Confluent wire format.
 *
 *   byte 0      magic, always 0
 *   bytes 1..4  schema id, big-endian unsigned 32-bit
 *   bytes 5..   Avro binary body of the record
 *
 * Schema ids come from a Confluent-compatible registry when SCHEMA_REGISTRY_URL is set
 * (schemas are registered at start), otherwise from schemas/registry.json. Decoding looks the
 * writer schema up by the id in the message, so records written under an older registered
 * version stay readable.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { type ErrorCode, WardstreamError } from '../common/errors.ts';
import type { AlertAction, AlertEvent, DeadLetter, HistoryDeadLetter, PatientAssignment, PatientStatus, ProcessorState, VitalsReading } from './records.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

export const SCHEMA_NAMES = {
  vitals: 'dev.wardstream.VitalsReading',
  deadLetter: 'dev.wardstream.DeadLetter',
  alert: 'dev.wardstream.AlertEvent',
  assignment: 'dev.wardstream.PatientAssignment',
  action: 'dev.wardstream.AlertAction',
  status: 'dev.wardstream.PatientStatus',
  historyDeadLetter: 'dev.wardstream.HistoryDeadLetter',
  processorState: 'dev.wardstream.ProcessorState',
} as const;
export type SchemaKey = keyof typeof SCHEMA_NAMES;
export interface RecordOf {
  vitals: VitalsReading;
  deadLetter: DeadLetter;
  alert: AlertEvent;
  assignment: PatientAssignment;
  action: AlertAction;
  status: PatientStatus;
  historyDeadLetter: HistoryDeadLetter;
  processorState: ProcessorState;
}

/** A codec failure; `code` says which (SCHEMA_ERR_*). */
export class CodecError extends WardstreamError {
  constructor(code: ErrorCode & `SCHEMA_ERR_${string}`, detail: string, options?: { cause?: unknown }) {
    super(code, detail, options);
  }
}

interface RegistryEntry {
  id: number;
  key: SchemaKey;
  name: string;
  file: string;
  current: boolean;
}

function registryEntries(): RegistryEntry[] {
  return (JSON.parse(readFileSync(path.join(here, 'registry.json'), 'utf8')) as { schemas: RegistryEntry[] }).schemas;
}

function readSchema(file: string): object {
  return JSON.parse(readFileSync(path.join(here, file), 'utf8')) as object;
}

/** The current schema of a record type. */
export function loadSchema(key: SchemaKey): object {
  const e = registryEntries().find((x) => x.key === key && x.current);
  if (!e) throw new CodecError('SCHEMA_ERR_INVALID', `no current schema for ${key} in schemas/registry.json`);
  return readSchema(e.file);
}

export interface Codec {
  encode<K extends SchemaKey>(key: K, record: RecordOf[K]): Buffer;
  decode<K extends SchemaKey>(key: K, bytes: Buffer): RecordOf[K];
  schemaId(key: SchemaKey): number;
}

/** Writes the 5-byte header and the Avro body in one allocation. */
export function frame(id: number, type: avro.Type, record: unknown): Buffer {
  const body = type.toBuffer(record);
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = 0;
  out.writeUInt32BE(id, 1);
  body.copy(out, 5);
  return out;
}

export function unframe(bytes: Buffer): { id: number; body: Buffer } {
  if (bytes.length < 5) throw new CodecError('SCHEMA_ERR_WIRE_FORMAT', `message of ${bytes.length} bytes is shorter than the 5-byte wire header`);
  if (bytes[0] !== 0) throw new CodecError('SCHEMA_ERR_WIRE_FORMAT', `unknown magic byte ${bytes[0]} (expected 0, Confluent wire format)`);
  return { id: bytes.readUInt32BE(1), body: bytes.subarray(5) };
}

class AvroCodec implements Codec {
  private readonly types = new Map<SchemaKey, avro.Type>();
  /** Writer schemas by id; older versions are resolved against the current (reader) type. */
  private readonly byId = new Map<number, { key: SchemaKey; resolver?: avro.Resolver }>();

  constructor(
    private readonly ids: ReadonlyMap<SchemaKey, number>,
    older: readonly { id: number; key: SchemaKey; schema: object }[] = [],
  ) {
    for (const key of Object.keys(SCHEMA_NAMES) as SchemaKey[]) {
      const type = avro.Type.forSchema(loadSchema(key) as avro.Schema);
      this.types.set(key, type);
      const id = ids.get(key);
      if (id === undefined) throw new CodecError('SCHEMA_ERR_INVALID', `no schema id for ${key}`);
      this.byId.set(id, { key });
    }
    for (const o of older) {
      if (this.byId.has(o.id)) continue;
      const writer = avro.Type.forSchema(o.schema as avro.Schema);
      this.byId.set(o.id, { key: o.key, resolver: this.types.get(o.key)!.createResolver(writer) });
    }
  }

  schemaId(key: SchemaKey): number {
    return this.ids.get(key)!;
  }

  encode<K extends SchemaKey>(key: K, record: RecordOf[K]): Buffer {
    try {
      return frame(this.ids.get(key)!, this.types.get(key)!, record);
    } catch (e) {
      throw new CodecError('SCHEMA_ERR_ENCODE', `${SCHEMA_NAMES[key]}: ${(e as Error).message}`, { cause: e });
    }
  }

  decode<K extends SchemaKey>(key: K, bytes: Buffer): RecordOf[K] {
    const { id, body } = unframe(bytes);
    const w = this.byId.get(id);
    if (!w) throw new CodecError('SCHEMA_ERR_UNKNOWN_ID', `unknown schema id ${id}`);
    if (w.key !== key) throw new CodecError('SCHEMA_ERR_MISMATCH', `schema id ${id} is ${SCHEMA_NAMES[w.key]}, expected ${SCHEMA_NAMES[key]}`);
    const reader = this.types.get(key)!;
    try {
      return (w.resolver ? reader.fromBuffer(body, w.resolver, true) : reader.fromBuffer(body)) as RecordOf[K];
    } catch (e) {
      throw new CodecError('SCHEMA_ERR_DECODE', `${SCHEMA_NAMES[key]} (schema id ${id}): ${(e as Error).message}`, { cause: e });
    }
  }
}

/** Codec with ids from schemas/registry.json (no network); older versions stay decodable. */
export function localCodec(): Codec {
  const entries = registryEntries();
  const ids = new Map<SchemaKey, number>();
  for (const e of entries) if (e.current) ids.set(e.key, e.id);
  return new AvroCodec(
    ids,
    entries.filter((e) => !e.current).map((e) => ({ id: e.id, key: e.key, schema: readSchema(e.file) })),
  );
}

/**
 * Codec backed by a Confluent-compatible registry: registers the current schemas (subject
 * `<topic>-value` naming is left to the registry client's default: the record's full name)
 * and learns their ids.
 */
export async function registryCodec(url: string): Promise<Codec> {
  const { SchemaRegistry, SchemaType } = await import('@kafkajs/confluent-schema-registry');
  const registry = new SchemaRegistry({ host: url });
  const ids = new Map<SchemaKey, number>();
  for (const key of Object.keys(SCHEMA_NAMES) as SchemaKey[]) {
    const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(loadSchema(key)) }, { subject: SCHEMA_NAMES[key] });
    ids.set(key, id);
  }
  return new AvroCodec(ids);
}

export async function createCodec(schemaRegistryUrl?: string): Promise<Codec> {
  return schemaRegistryUrl ? registryCodec(schemaRegistryUrl) : localCodec();
}
