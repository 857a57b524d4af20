/**
 * Rules as data: a YAML or JSON rule file (rules/default.yaml) with hospital defaults and
 * overrides per ward and per patient, validated by a JSON schema. Errors name the field and
 * the line. `RuleBook.forPatient` resolves (and caches) the rule set that applies to one
 * patient: defaults ← ward override ← patient override, merged by rule id; `enabled: false`
 * removes a rule. The resolved set's `version` is the file's `version` plus a content hash,
 * recorded on every alert.
 */

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, parseDocument } from 'yaml';
import { WardstreamError } from '../common/errors.ts';
import { type AlertPriority, ID_SOURCE, VITAL_NAMES, type VitalName } from '../schemas/records.ts';
import { BUILTIN_RULE_IDS } from './builtin-rules.ts';
import type { SpO2Scale } from './news2.ts';

export interface ThresholdRule {
  readonly id: string;
  readonly parameter: VitalName;
  readonly op: 'above' | 'below';
  readonly threshold: number;
  readonly sustainMs: number;
  readonly hysteresis: number;
  readonly clearMs: number;
  readonly priority: AlertPriority;
  readonly label: string;
}
export interface TrendRule {
  readonly id: string;
  readonly parameter: VitalName;
  readonly change: number;
  readonly windowMs: number;
  readonly sustainMs: number;
  readonly priority: AlertPriority;
  readonly label: string;
}
export interface News2Config {
  readonly enabled: boolean;
  readonly sustainMs: number;
  readonly freshnessMs: number;
  readonly clearMs: number;
  readonly deescalateMs: number;
  readonly spo2Scale: SpO2Scale;
}
export interface TechnicalConfig {
  readonly signalLossMs: number;
  readonly sensorOffMs: number;
  readonly jumpWindowMs: number;
  readonly maxJump: Readonly<Partial<Record<VitalName, number>>>;
  readonly allowedLatenessMs: number;
}
export type EscalationRole = 'nurse' | 'charge_nurse' | 'physician';
export interface LifecycleConfig {
  readonly escalateAfterMs: number;
  readonly escalation: readonly EscalationRole[];
  readonly latch: readonly AlertPriority[];
  readonly maxSilenceMs: number;
  readonly updateThrottleMs: number;
}
export interface RuleSet {
  readonly version: string;
  readonly thresholds: readonly ThresholdRule[];
  readonly trends: readonly TrendRule[];
  readonly news2: News2Config;
  readonly technical: TechnicalConfig;
  readonly lifecycle: LifecycleConfig;
}

const PRIORITY = { enum: ['high', 'medium', 'low'] };
/** Rule ids: lower case, digits and dashes; the built-in rules' ids are taken. */
const ID = { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,40}$', not: { enum: BUILTIN_RULE_IDS } };
const SECS = { type: 'number', minimum: 0, maximum: 86400 };
const threshold = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: {
    id: ID,
    enabled: { type: 'boolean' },
    parameter: { enum: VITAL_NAMES },
    above: { type: 'number' },
    below: { type: 'number' },
    sustainSec: SECS,
    hysteresis: { type: 'number', minimum: 0 },
    clearSec: SECS,
    priority: PRIORITY,
    label: { type: 'string', maxLength: 80 },
  },
  not: { required: ['above', 'below'] },
};
const trend = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: {
    id: ID,
    enabled: { type: 'boolean' },
    parameter: { enum: VITAL_NAMES },
    change: { type: 'number', not: { const: 0 } },
    windowSec: { type: 'number', exclusiveMinimum: 0, maximum: 86400 },
    sustainSec: SECS,
    priority: PRIORITY,
    label: { type: 'string', maxLength: 80 },
  },
};
const news2 = {
  type: 'object',
  additionalProperties: false,
  properties: { enabled: { type: 'boolean' }, sustainSec: SECS, freshnessSec: SECS, clearSec: SECS, deescalateSec: SECS, spo2Scale: { enum: [1, 2] } },
};
const technical = {
  type: 'object',
  additionalProperties: false,
  properties: {
    signalLossSec: SECS,
    sensorOffSec: SECS,
    jumpWindowSec: SECS,
    allowedLatenessSec: { type: 'number', minimum: 0, maximum: 60 },
    maxJump: {
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(VITAL_NAMES.map((v) => [v, { type: 'number', exclusiveMinimum: 0 }])),
    },
  },
};
const lifecycle = {
  type: 'object',
  additionalProperties: false,
  properties: {
    escalateAfterSec: SECS,
    escalation: { type: 'array', minItems: 1, items: { enum: ['nurse', 'charge_nurse', 'physician'] } },
    latch: { type: 'array', items: PRIORITY },
    maxSilenceSec: SECS,
    updateThrottleSec: SECS,
  },
};
const section = {
  type: 'object',
  additionalProperties: false,
  properties: { thresholds: { type: 'array', items: threshold }, trends: { type: 'array', items: trend }, news2, technical, lifecycle },
};
const fileSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['version', 'defaults'],
  properties: {
    version: { type: 'string', minLength: 1, maxLength: 60 },
    defaults: { ...section, required: ['thresholds', 'news2', 'technical', 'lifecycle'] },
    wards: { type: 'object', additionalProperties: section, propertyNames: { pattern: ID_SOURCE } },
    patients: { type: 'object', additionalProperties: section, propertyNames: { pattern: ID_SOURCE } },
  },
};
const validateFile = new Ajv({ allErrors: true }).compile(fileSchema);

type Raw = Record<string, unknown>;
interface RawSection {
  thresholds?: Raw[];
  trends?: Raw[];
  news2?: Raw;
  technical?: Raw;
  lifecycle?: Raw;
}
interface RawFile {
  version: string;
  defaults: RawSection;
  wards?: Record<string, RawSection>;
  patients?: Record<string, RawSection>;
}

function describe(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties') return `unknown field "${String(e.params.additionalProperty)}"`;
  if (e.keyword === 'enum') return `must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`;
  if (e.keyword === 'not' && e.instancePath.match(/thresholds\/\d+$/)) return 'has both "above" and "below"; a threshold rule has one';
  if (e.keyword === 'not' && e.instancePath.endsWith('/id')) return `is the id of a built-in rule (${BUILTIN_RULE_IDS.join(', ')})`;
  return e.message ?? 'is invalid';
}

function mergeById(base: readonly Raw[], over: readonly Raw[] | undefined): Raw[] {
  const out = base.map((r) => ({ ...r }));
  for (const o of over ?? []) {
    const i = out.findIndex((r) => r.id === o.id);
    if (i >= 0) {
      const merged: Raw = { ...out[i], ...o };
      if ('above' in o) delete merged.below;
      if ('below' in o) delete merged.above;
      out[i] = merged;
    } else out.push({ ...o });
  }
  return out.filter((r) => r.enabled !== false);
}

function mergeSection(base: RawSection, over: RawSection | undefined): RawSection {
  if (!over) return base;
  return {
    thresholds: mergeById(base.thresholds ?? [], over.thresholds),
    trends: mergeById(base.trends ?? [], over.trends),
    news2: { ...base.news2, ...over.news2 },
    technical: { ...base.technical, ...over.technical, maxJump: { ...(base.technical?.maxJump as Raw), ...(over.technical?.maxJump as Raw) } },
    lifecycle: { ...base.lifecycle, ...over.lifecycle },
  };
}

const ms = (s: unknown, dflt: number) => Math.round((typeof s === 'number' ? s : dflt) * 1000);

function compile(version: string, s: RawSection, where: string): RuleSet {
  const thresholds = (s.thresholds ?? []).map((r): ThresholdRule => {
    if (!r.parameter || (r.above === undefined && r.below === undefined) || !r.priority) {
      throw new WardstreamError(
        'CONFIG_ERR_INVALID',
        `${where}: threshold "${String(r.id)}" needs parameter, above or below, and priority (it overrides no default rule)`,
      );
    }
    return {
      id: String(r.id),
      parameter: r.parameter as VitalName,
      op: r.above !== undefined ? 'above' : 'below',
      threshold: Number(r.above ?? r.below),
      sustainMs: ms(r.sustainSec, 0),
      hysteresis: Number(r.hysteresis ?? 0),
      clearMs: ms(r.clearSec, 0),
      priority: r.priority as AlertPriority,
      label: String(r.label ?? r.id),
    };
  });
  const trends = (s.trends ?? []).map((r): TrendRule => {
    if (!r.parameter || r.change === undefined || !r.windowSec || !r.priority)
      throw new WardstreamError('CONFIG_ERR_INVALID', `${where}: trend "${String(r.id)}" needs parameter, change, windowSec and priority`);
    return {
      id: String(r.id),
      parameter: r.parameter as VitalName,
      change: Number(r.change),
      windowMs: ms(r.windowSec, 0),
      sustainMs: ms(r.sustainSec, 0),
      priority: r.priority as AlertPriority,
      label: String(r.label ?? r.id),
    };
  });
  const n = s.news2 ?? {};
  const t = s.technical ?? {};
  const l = s.lifecycle ?? {};
  return {
    version,
    thresholds,
    trends,
    news2: {
      enabled: n.enabled !== false,
      sustainMs: ms(n.sustainSec, 30),
      freshnessMs: ms(n.freshnessSec, 900),
      clearMs: ms(n.clearSec, 60),
      deescalateMs: ms(n.deescalateSec, 900),
      spo2Scale: (n.spo2Scale as SpO2Scale) ?? 1,
    },
    technical: {
      signalLossMs: ms(t.signalLossSec, 60),
      sensorOffMs: ms(t.sensorOffSec, 30),
      jumpWindowMs: ms(t.jumpWindowSec, 5),
      maxJump: (t.maxJump as Partial<Record<VitalName, number>>) ?? {},
      allowedLatenessMs: ms(t.allowedLatenessSec, 2),
    },
    lifecycle: {
      escalateAfterMs: ms(l.escalateAfterSec, 60),
      escalation: (l.escalation as EscalationRole[]) ?? ['nurse', 'charge_nurse', 'physician'],
      latch: (l.latch as AlertPriority[]) ?? ['high'],
      maxSilenceMs: ms(l.maxSilenceSec, 300),
      updateThrottleMs: ms(l.updateThrottleSec, 60),
    },
  };
}

export class RuleBook {
  readonly version: string;
  private readonly cache = new Map<string, RuleSet>();
  readonly defaults: RuleSet;

  /** `text`: the rule file itself, so another thread (parallel replay) can load the same book. */
  constructor(
    private readonly raw: RawFile,
    contentHash: string,
    readonly text = '',
  ) {
    this.version = `${raw.version}@${contentHash.slice(0, 8)}`;
    this.defaults = compile(this.version, raw.defaults, 'defaults');
    // Resolve every override once now, so a bad override fails at load, not at the first reading.
    for (const w of Object.keys(raw.wards ?? {})) this.forPatient(w, '');
    for (const p of Object.keys(raw.patients ?? {})) this.forPatient('', p);
  }

  forPatient(wardId: string, patientId: string): RuleSet {
    const key = `${wardId}\u0000${patientId}`;
    let rs = this.cache.get(key);
    if (!rs) {
      const ward = this.raw.wards?.[wardId];
      const patient = this.raw.patients?.[patientId];
      rs =
        !ward && !patient
          ? this.defaults
          : compile(this.version, mergeSection(mergeSection(this.raw.defaults, ward), patient), patient ? `patients.${patientId}` : `wards.${wardId}`);
      if (this.cache.size > 50_000) this.cache.clear();
      this.cache.set(key, rs);
    }
    return rs;
  }
}

/** Parses and validates rule-file text (YAML or JSON); errors name field paths and lines. */
export function parseRuleFile(text: string, source = 'rules'): RuleBook {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new WardstreamError('CONFIG_ERR_INVALID', `${source}:${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`);
  }
  const data = doc.toJS() as unknown;
  if (!validateFile(data)) {
    const msgs = (validateFile.errors ?? [])
      .filter((e) => e.keyword !== 'if')
      .slice(0, 5)
      .map((e) => {
        const parts = e.instancePath
          .split('/')
          .slice(1)
          .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
        const node = doc.getIn(parts, true) as { range?: [number, number, number] } | undefined;
        const line = node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
        const field = parts.length ? parts.join('.') : '(top level)';
        return `${source}${line ? `:${line}` : ''}: ${field} ${describe(e)}`;
      });
    throw new WardstreamError('CONFIG_ERR_INVALID', msgs.join('; '));
  }
  return new RuleBook(data as unknown as RawFile, createHash('sha256').update(text).digest('hex'), text);
}

export function loadRuleFile(file: string): RuleBook {
  return parseRuleFile(readFileSync(file, 'utf8'), path.basename(file));
}

export const DEFAULT_RULE_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'rules', 'default.yaml');
