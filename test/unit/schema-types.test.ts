/**
 * The TypeScript record types are generated from the .avsc files (schemas/generate-types.ts):
 * this fails when schemas/records.generated.ts and the schemas differ — a field renamed, made
 * nullable or not, an enum symbol added — until `npx tsx schemas/generate-types.ts` is run.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadSchema, SCHEMA_NAMES, type SchemaKey } from '../../schemas/codec.ts';
import { GENERATED_FILE, generateTypes } from '../../schemas/generate-types.ts';
import { VITAL_NAMES } from '../../schemas/records.ts';

interface Field {
  name: string;
  type: unknown;
}
const fields = (key: SchemaKey) => (loadSchema(key) as { fields: Field[] }).fields;

describe('record types and Avro schemas', () => {
  it('records.generated.ts is what the current schemas generate', () => {
    expect(readFileSync(GENERATED_FILE, 'utf8')).toBe(generateTypes());
  });

  it('has an interface for every record type of the codec', () => {
    const text = generateTypes();
    for (const name of Object.values(SCHEMA_NAMES)) expect(text).toContain(`export interface ${name.split('.').at(-1)} {`);
  });

  it('VITAL_NAMES are the vitals of a reading and of the stored processor state', () => {
    const numeric = fields('vitals')
      .filter((f) => JSON.stringify(f.type) === '["null","double"]')
      .map((f) => f.name);
    expect(numeric).toEqual([...VITAL_NAMES]);
    const obs = fields('processorState').find((f) => f.name === 'obs')!.type as { fields: Field[] };
    expect(obs.fields.map((f) => f.name)).toEqual([...VITAL_NAMES]);
  });
});
