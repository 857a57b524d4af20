/**
 * TypeScript record types generated from the current Avro schemas (schemas/registry.json), so
 * that the types cannot drift from the .avsc files: records.generated.ts is this module's
 * output, and a unit test (test/unit/schema-types.test.ts) fails when it is not.
 *
 *   npx tsx schemas/generate-types.ts     rewrites schemas/records.generated.ts
 *
 * Mapping: record → interface of readonly fields (nested records inline, or an interface of
 * their own when the schema refers to them by name again), enum → union of its
 * symbols, ["null", X] → X | null, array → readonly X[], map → Readonly<Record<string, X>>,
 * long/int/float/double → number (timestamps are epoch ms), bytes → Buffer, `doc` → a comment.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WardstreamError } from '../common/errors.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const GENERATED_FILE = path.join(here, 'records.generated.ts');

type Schema =
  | string
  | readonly Schema[]
  | {
      readonly type: Schema;
      readonly name?: string;
      readonly namespace?: string;
      readonly doc?: string;
      readonly [k: string]: unknown;
    };
interface Field {
  readonly name: string;
  readonly type: Schema;
  readonly doc?: string;
}

const PRIMITIVES: Readonly<Record<string, string>> = {
  null: 'null',
  boolean: 'boolean',
  int: 'number',
  long: 'number',
  float: 'number',
  double: 'number',
  string: 'string',
  bytes: 'Buffer',
};

/** A doc comment, wrapped to stay within 160 characters a line. */
function comment(doc: string | undefined, indent: string): string {
  if (!doc) return '';
  if (indent.length + doc.length + 7 <= 160) return `${indent}/** ${doc} */\n`;
  const lines: string[] = [];
  let line = '';
  for (const word of doc.split(' ')) {
    if (line && indent.length + 3 + line.length + 1 + word.length > 160) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return `${indent}/**\n${lines.map((l) => `${indent} * ${l}\n`).join('')}${indent} */\n`;
}

class Generator {
  /** Named types seen so far in the current file, by full and short name (Avro references either). */
  private named = new Map<string, Schema>();
  /** Interfaces of the records referred to by name, emitted before the file's record. */
  readonly interfaces: string[] = [];

  /** `referenced`: the names the schema uses as a type (their records get an interface of their own). */
  constructor(
    private readonly file: string,
    private readonly referenced: ReadonlySet<string>,
  ) {}

  private fail(detail: string): never {
    throw new WardstreamError('SCHEMA_ERR_INVALID', `${this.file}: ${detail}`);
  }

  private remember(s: { readonly name?: string; readonly namespace?: string }, namespace: string | undefined, schema: Schema): void {
    if (!s.name) return;
    const ns = s.namespace ?? namespace;
    this.named.set(s.name, schema);
    if (ns) this.named.set(`${ns}.${s.name}`, schema);
  }

  type(s: Schema, indent: string, namespace?: string): string {
    if (typeof s === 'string') {
      if (PRIMITIVES[s]) return PRIMITIVES[s]!;
      const ref = this.named.get(s);
      if (!ref) this.fail(`unknown type ${s}`);
      return typeof ref === 'object' && 'type' in ref && ref.type === 'record' ? s.split('.').at(-1)! : this.type(ref, indent, namespace);
    }
    if (Array.isArray(s)) {
      // a union: null last, as the hand-written types had it
      return (s as readonly Schema[])
        .map((b) => this.type(b, indent, namespace))
        .sort((a, b) => Number(a === 'null') - Number(b === 'null'))
        .join(' | ');
    }
    const o = s as Exclude<Schema, string | readonly Schema[]>;
    switch (o.type) {
      case 'record': {
        this.remember(o, namespace, o);
        const ns = o.namespace ?? namespace;
        const own = o.name !== undefined && indent !== '' && (this.referenced.has(o.name) || (ns !== undefined && this.referenced.has(`${ns}.${o.name}`)));
        const at = own ? '' : indent;
        const fields = (o.fields as readonly Field[]).map((f) => `${comment(f.doc, `${at}  `)}${at}  readonly ${f.name}: ${this.type(f.type, `${at}  `, ns)};`);
        const body = `{\n${fields.join('\n')}\n${at}}`;
        if (!own) return body;
        this.interfaces.push(`${comment(o.doc, '')}export interface ${o.name} ${body}\n`);
        return o.name!;
      }
      case 'enum':
        this.remember(o, namespace, o);
        return (o.symbols as readonly string[]).map((x) => `'${x}'`).join(' | ');
      case 'array': {
        const item = this.type(o.items as Schema, indent, namespace);
        return `readonly ${!item.startsWith('{') && item.includes(' | ') ? `(${item})` : item}[]`;
      }
      case 'map':
        return `Readonly<Record<string, ${this.type(o.values as Schema, indent, namespace)}>>`;
      default:
        if (typeof o.type === 'string' && PRIMITIVES[o.type]) return PRIMITIVES[o.type]!; // e.g. {type: long, logicalType: timestamp-millis}
        return this.type(o.type, indent, namespace);
    }
  }
}

/** Names a schema uses as a type (a string that is not a primitive). */
function referencedNames(s: Schema, out = new Set<string>()): Set<string> {
  if (typeof s === 'string') {
    if (!PRIMITIVES[s]) out.add(s);
  } else if (Array.isArray(s)) for (const b of s as readonly Schema[]) referencedNames(b, out);
  else {
    const o = s as Exclude<Schema, string | readonly Schema[]>;
    if (o.type === 'record') for (const f of o.fields as readonly Field[]) referencedNames(f.type, out);
    else if (o.type === 'array') referencedNames(o.items as Schema, out);
    else if (o.type === 'map') referencedNames(o.values as Schema, out);
    else if (typeof o.type !== 'string') referencedNames(o.type, out);
  }
  return out;
}

/** The generated module, from the current schema of every record in registry.json. */
export function generateTypes(): string {
  const registry = JSON.parse(readFileSync(path.join(here, 'registry.json'), 'utf8')) as { schemas: { file: string; current: boolean }[] };
  const out = [
    '// Generated by schemas/generate-types.ts from the current .avsc files of schemas/registry.json: do not edit.',
    '// test/unit/schema-types.test.ts fails when this file and the schemas differ.',
    '',
  ];
  for (const e of registry.schemas.filter((x) => x.current)) {
    const schema = JSON.parse(readFileSync(path.join(here, e.file), 'utf8')) as { name: string; doc?: string };
    const gen = new Generator(e.file, referencedNames(schema as Schema));
    const body = gen.type(schema as Schema, '');
    out.push(...gen.interfaces);
    out.push(`${comment(`${schema.doc ?? schema.name} (${e.file})`, '')}export interface ${schema.name} ${body}`, '');
  }
  return out.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(GENERATED_FILE, generateTypes());
  console.error(`wrote ${path.relative(process.cwd(), GENERATED_FILE)}`);
}
