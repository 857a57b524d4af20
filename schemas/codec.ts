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
import avro from 'avsc';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AlertEvent, DeadLetter, PatientAssignment, VitalsReading } from './records.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

export const SCHEMA_NAMES = {
  vitals: 'dev.wardstream.VitalsReading',
  deadLetter: 'dev.wardstream.DeadLetter',
  alert: 'dev.wardstream.AlertEvent',
  assignment: 'dev.wardstream.PatientAssignment',
} as const;
export type SchemaKey = keyof typeof SCHEMA_NAMES;
export interface RecordOf { vitals: VitalsReading; deadLetter: DeadLetter; alert: AlertEvent; assignment: PatientAssignment }

export class CodecError extends Error {
  override readonly name = 'CodecError';
}

interface RegistryEntry { id: number; file: string }

export function loadSchema(key: SchemaKey): object {
  const reg = JSON.parse(readFileSync(path.join(here, 'registry.json'), 'utf8')) as Record<string, RegistryEntry>;
  const entry = reg[SCHEMA_NAMES[key]];
  if (!entry) throw new CodecError(`schema ${SCHEMA_NAMES[key]} missing from schemas/registry.json`);
  return JSON.parse(readFileSync(path.join(here, entry.file), 'utf8')) as object;
}

function localIds(): Map<string, number> {
  const reg = JSON.parse(readFileSync(path.join(here, 'registry.json'), 'utf8')) as Record<string, RegistryEntry | string>;
  const out = new Map<string, number>();
  for (const [name, e] of Object.entries(reg)) if (typeof e === 'object') out.set(name, e.id);
  return out;
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
  if (bytes.length < 5) throw new CodecError(`message of ${bytes.length} bytes is shorter than the 5-byte wire header`);
  if (bytes[0] !== 0) throw new CodecError(`unknown magic byte ${bytes[0]} (expected 0, Confluent wire format)`);
  return { id: bytes.readUInt32BE(1), body: bytes.subarray(5) };
}

class AvroCodec implements Codec {
  private readonly types = new Map<SchemaKey, avro.Type>();
  /** Writer schemas by id, for decoding (resolved against the reader type when they differ). */
  private readonly byId = new Map<number, { key: SchemaKey; type: avro.Type; resolver?: avro.Resolver }>();

  constructor(private readonly ids: ReadonlyMap<SchemaKey, number>, writerTypes: ReadonlyMap<number, { key: SchemaKey; type: avro.Type }> = new Map()) {
    for (const key of Object.keys(SCHEMA_NAMES) as SchemaKey[]) {
      const type = avro.Type.forSchema(loadSchema(key) as avro.Schema);
      this.types.set(key, type);
      const id = ids.get(key);
      if (id === undefined) throw new CodecError(`no schema id for ${key}`);
      this.byId.set(id, { key, type });
    }
    for (const [id, w] of writerTypes) {
      if (this.byId.has(id)) continue;
      const reader = this.types.get(w.key)!;
      this.byId.set(id, { key: w.key, type: w.type, resolver: reader.createResolver(w.type) });
    }
  }

  schemaId(key: SchemaKey): number {
    return this.ids.get(key)!;
  }

  encode<K extends SchemaKey>(key: K, record: RecordOf[K]): Buffer {
    return frame(this.ids.get(key)!, this.types.get(key)!, record);
  }

  decode<K extends SchemaKey>(key: K, bytes: Buffer): RecordOf[K] {
    const { id, body } = unframe(bytes);
    const w = this.byId.get(id);
    if (!w) throw new CodecError(`unknown schema id ${id}`);
    if (w.key !== key) throw new CodecError(`schema id ${id} is ${SCHEMA_NAMES[w.key]}, expected ${SCHEMA_NAMES[key]}`);
    const reader = this.types.get(key)!;
    return (w.resolver ? reader.fromBuffer(body, w.resolver, true) : reader.fromBuffer(body)) as RecordOf[K];
  }
}

/** Codec with ids from schemas/registry.json (no network). */
export function localCodec(): Codec {
  const names = localIds();
  const ids = new Map<SchemaKey, number>();
  for (const key of Object.keys(SCHEMA_NAMES) as SchemaKey[]) ids.set(key, names.get(SCHEMA_NAMES[key])!);
  return new AvroCodec(ids);
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
