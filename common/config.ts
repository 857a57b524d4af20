/**
 * Configuration, validated once at start by a JSON schema (unknown keys rejected, clear
 * messages naming the variable). Every component takes the resulting frozen object.
 *
 * Environment → config:
 *   KAFKA_BROKERS         comma-separated; unset = start the local Kafka (deploy/local/kafka)
 *   KAFKA_PORT            port of the local Kafka (default 9092)
 *   KAFKA_TOPIC_PREFIX    prefix for every topic (default empty)
 *   KAFKA_PARTITIONS      partitions of every ward-partitioned topic (default 8)
 *   MQTT_URL              external broker (mqtt://, mqtts://); unset = embedded aedes
 *   MQTT_PORT, MQTT_HOST  where the embedded broker listens (default 127.0.0.1:1883)
 *   MQTT_PROTOCOL_VERSION 4 (3.1.1) or 5 for the bridge's subscription to an external broker
 *   HOST, PORT            gateway HTTP/WebSocket (default 127.0.0.1:8080)
 *   WARDSTREAM_JWT_SECRET HS256 secret (>= 32 bytes); unset = `npm start` generates one
 *   WARDSTREAM_JWT_PUBLIC_KEY_FILE + WARDSTREAM_JWT_ALG (RS256|ES256), or WARDSTREAM_JWKS_FILE:
 *                         asymmetric token keys instead of the secret (exactly one kind)
 *   JWT_ISSUER, JWT_AUDIENCE  expected iss / aud (default wardstream / wardstream-gateway)
 *   TLS_CERT_FILE, TLS_KEY_FILE  PEM files: the gateway serves https/wss when both are set
 *   ALLOWED_ORIGINS       comma-separated exact Origin allowlist for WebSocket upgrades
 *   SCHEMA_REGISTRY_URL   Confluent-compatible registry; unset = schemas/registry.json ids
 *   WARDSTREAM_RULES      rule file (YAML or JSON); unset = rules/default.yaml
 *   PROCESSOR_COMMIT_INTERVAL_MS  how often processors commit state + offsets (default 5000)
 *   PROCESSOR_SESSION_TIMEOUT_MS  how long a dead processor keeps its partitions (default 6000,
 *                         the stock broker minimum; lower needs group.min.session.timeout.ms)
 *   METRICS_PORT          bridge/processor commands serve /metrics and /healthz on it (the
 *                         gateway serves them on PORT); unset = not served
 *   RESUME_WINDOW_MS, RESUME_BUFFER_PER_PARTITION  gateway history for gap-free resume
 *   DATABASE_URL          PostgreSQL for history and audit; unset = embedded PostgreSQL in PG_DATA_DIR
 *                         (default .wardstream/pgdata)
 *   VITALS_RETENTION_DAYS daily vitals partitions kept (default 30); PARTITIONS_AHEAD_DAYS (2)
 *   WARDSTREAM_AUDIT_KEY  HMAC-SHA-256 key for audit pseudonyms, hex >= 32 bytes; required with
 *                         DATABASE_URL (npm start keeps a development key beside PG_DATA_DIR)
 *   WARDSTREAM_AUDIT_KEY_ID  the key's name stored with each pseudonym (default k1)
 */
import { Ajv } from 'ajv';
import { WardstreamError } from './errors.ts';

export interface Config {
  readonly kafkaBrokers: readonly string[] | null;
  readonly kafkaPort: number;
  readonly kafkaTopicPrefix: string;
  readonly kafkaPartitions: number;
  readonly mqttUrl: string | null;
  readonly mqttHost: string;
  readonly mqttPort: number;
  readonly mqttProtocolVersion: 4 | 5;
  readonly host: string;
  readonly port: number;
  readonly jwtSecret: string | null;
  /** RS256/ES256 instead of the secret: a PEM public key file and its algorithm, or a JWKS file. */
  readonly jwtPublicKeyFile: string | null;
  readonly jwtAlg: 'RS256' | 'ES256';
  readonly jwksFile: string | null;
  /** TLS for the gateway when both are set (PEM files). */
  readonly tlsCertFile: string | null;
  readonly tlsKeyFile: string | null;
  readonly jwtIssuer: string;
  readonly jwtAudience: string;
  readonly allowedOrigins: readonly string[];
  readonly schemaRegistryUrl: string | null;
  /** Largest accepted device payload, bytes. */
  readonly maxPayloadBytes: number;
  /** Readings stamped further than this in the future (device clock) are dead-lettered, ms. */
  readonly maxFutureSkewMs: number;
  /** Rule file of the processors; null = rules/default.yaml. */
  readonly rulesFile: string | null;
  /** Processors commit changelog state and input offsets together this often, ms. */
  readonly processorCommitIntervalMs: number;
  /** Consumer-group session of processors: how long a dead instance holds its partitions, ms. */
  readonly processorSessionTimeoutMs: number;
  readonly metricsPort: number | null;
  /** Gateways keep this much recent history (and read it back from Kafka at start) for resume. */
  readonly resumeWindowMs: number;
  /** …and at most this many events per partition and stream. */
  readonly resumeBufferPerPartition: number;
  /** PostgreSQL for history and audit; null = an embedded server (npm start, tests). */
  readonly databaseUrl: string | null;
  /** Data directory of the embedded PostgreSQL (kept between runs). */
  readonly pgDataDir: string;
  /** Daily `vitals` partitions older than this are dropped. */
  readonly vitalsRetentionDays: number;
  /** Daily partitions created this many days ahead. */
  readonly partitionsAheadDays: number;
  /** HMAC-SHA-256 key for patient pseudonyms in audit tables (hex, >= 32 bytes); never stored in the database. */
  readonly auditKey: string | null;
  /** Name of that key, stored beside each pseudonym (rotation: docs/operations.md). */
  readonly auditKeyId: string;
}

export const DEFAULTS: Config = {
  kafkaBrokers: null,
  kafkaPort: 9092,
  kafkaTopicPrefix: '',
  kafkaPartitions: 8,
  mqttUrl: null,
  mqttHost: '127.0.0.1',
  mqttPort: 1883,
  mqttProtocolVersion: 5,
  host: '127.0.0.1',
  port: 8080,
  jwtSecret: null,
  jwtPublicKeyFile: null,
  jwtAlg: 'RS256',
  jwksFile: null,
  tlsCertFile: null,
  tlsKeyFile: null,
  jwtIssuer: 'wardstream',
  jwtAudience: 'wardstream-gateway',
  allowedOrigins: [],
  schemaRegistryUrl: null,
  maxPayloadBytes: 16 * 1024,
  maxFutureSkewMs: 5 * 60 * 1000,
  rulesFile: null,
  processorCommitIntervalMs: 5000,
  processorSessionTimeoutMs: 6000,
  metricsPort: null,
  resumeWindowMs: 10 * 60 * 1000,
  resumeBufferPerPartition: 10_000,
  databaseUrl: null,
  pgDataDir: '.wardstream/pgdata',
  vitalsRetentionDays: 30,
  partitionsAheadDays: 2,
  auditKey: null,
  auditKeyId: 'k1',
};

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    kafkaBrokers: { anyOf: [{ type: 'null' }, { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[^\\s:]+:\\d+$' } }] },
    kafkaPort: { type: 'integer', minimum: 0, maximum: 65535 },
    kafkaTopicPrefix: { type: 'string', pattern: '^[A-Za-z0-9._-]*$', maxLength: 100 },
    kafkaPartitions: { type: 'integer', minimum: 1, maximum: 1024 },
    mqttUrl: { anyOf: [{ type: 'null' }, { type: 'string', pattern: '^(mqtt|mqtts|tcp|tls)://' }] },
    mqttHost: { type: 'string', minLength: 1 },
    mqttPort: { type: 'integer', minimum: 0, maximum: 65535 },
    mqttProtocolVersion: { enum: [4, 5] },
    host: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    jwtSecret: { anyOf: [{ type: 'null' }, { type: 'string', minLength: 32 }] },
    jwtPublicKeyFile: { anyOf: [{ type: 'null' }, { type: 'string', minLength: 1 }] },
    jwtAlg: { enum: ['RS256', 'ES256'] },
    jwksFile: { anyOf: [{ type: 'null' }, { type: 'string', minLength: 1 }] },
    tlsCertFile: { anyOf: [{ type: 'null' }, { type: 'string', minLength: 1 }] },
    tlsKeyFile: { anyOf: [{ type: 'null' }, { type: 'string', minLength: 1 }] },
    jwtIssuer: { type: 'string', minLength: 1 },
    jwtAudience: { type: 'string', minLength: 1 },
    allowedOrigins: { type: 'array', items: { type: 'string', pattern: '^https?://[^/]+$' } },
    schemaRegistryUrl: { anyOf: [{ type: 'null' }, { type: 'string', pattern: '^https?://' }] },
    maxPayloadBytes: { type: 'integer', minimum: 256, maximum: 1048576 },
    maxFutureSkewMs: { type: 'integer', minimum: 0 },
    rulesFile: { anyOf: [{ type: 'null' }, { type: 'string', minLength: 1 }] },
    processorCommitIntervalMs: { type: 'integer', minimum: 10, maximum: 600000 },
    processorSessionTimeoutMs: { type: 'integer', minimum: 1000, maximum: 300000 },
    metricsPort: { anyOf: [{ type: 'null' }, { type: 'integer', minimum: 0, maximum: 65535 }] },
    resumeWindowMs: { type: 'integer', minimum: 0, maximum: 86400000 },
    resumeBufferPerPartition: { type: 'integer', minimum: 1, maximum: 10000000 },
    databaseUrl: { anyOf: [{ type: 'null' }, { type: 'string', pattern: '^postgres(ql)?://' }] },
    pgDataDir: { type: 'string', minLength: 1 },
    vitalsRetentionDays: { type: 'integer', minimum: 1, maximum: 36500 },
    partitionsAheadDays: { type: 'integer', minimum: 1, maximum: 60 },
    auditKey: { anyOf: [{ type: 'null' }, { type: 'string', pattern: '^([0-9a-fA-F]{2}){32,}$' }] },
    auditKeyId: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,40}$' },
  },
} as const;

const ENV_NAMES: Record<keyof Config, string> = {
  kafkaBrokers: 'KAFKA_BROKERS',
  kafkaPort: 'KAFKA_PORT',
  kafkaTopicPrefix: 'KAFKA_TOPIC_PREFIX',
  kafkaPartitions: 'KAFKA_PARTITIONS',
  mqttUrl: 'MQTT_URL',
  mqttHost: 'MQTT_HOST',
  mqttPort: 'MQTT_PORT',
  mqttProtocolVersion: 'MQTT_PROTOCOL_VERSION',
  host: 'HOST',
  port: 'PORT',
  jwtSecret: 'WARDSTREAM_JWT_SECRET',
  jwtPublicKeyFile: 'WARDSTREAM_JWT_PUBLIC_KEY_FILE',
  jwtAlg: 'WARDSTREAM_JWT_ALG',
  jwksFile: 'WARDSTREAM_JWKS_FILE',
  tlsCertFile: 'TLS_CERT_FILE',
  tlsKeyFile: 'TLS_KEY_FILE',
  jwtIssuer: 'JWT_ISSUER',
  jwtAudience: 'JWT_AUDIENCE',
  allowedOrigins: 'ALLOWED_ORIGINS',
  schemaRegistryUrl: 'SCHEMA_REGISTRY_URL',
  maxPayloadBytes: 'MAX_PAYLOAD_BYTES',
  maxFutureSkewMs: 'MAX_FUTURE_SKEW_MS',
  rulesFile: 'WARDSTREAM_RULES',
  processorCommitIntervalMs: 'PROCESSOR_COMMIT_INTERVAL_MS',
  processorSessionTimeoutMs: 'PROCESSOR_SESSION_TIMEOUT_MS',
  metricsPort: 'METRICS_PORT',
  resumeWindowMs: 'RESUME_WINDOW_MS',
  resumeBufferPerPartition: 'RESUME_BUFFER_PER_PARTITION',
  databaseUrl: 'DATABASE_URL',
  pgDataDir: 'PG_DATA_DIR',
  vitalsRetentionDays: 'VITALS_RETENTION_DAYS',
  partitionsAheadDays: 'PARTITIONS_AHEAD_DAYS',
  auditKey: 'WARDSTREAM_AUDIT_KEY',
  auditKeyId: 'WARDSTREAM_AUDIT_KEY_ID',
};

const validate = new Ajv({ allErrors: true }).compile(schema);

function fromEnv(env: NodeJS.ProcessEnv): Partial<Record<keyof Config, unknown>> {
  const out: Partial<Record<keyof Config, unknown>> = {};
  const list = (v: string) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const num = (v: string) => (/^-?\d+$/.test(v.trim()) ? Number(v) : v);
  for (const [key, name] of Object.entries(ENV_NAMES) as [keyof Config, string][]) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    const d = DEFAULTS[key];
    out[key] = Array.isArray(d) || key === 'kafkaBrokers' ? list(v) : typeof d === 'number' || key === 'metricsPort' ? num(v) : v;
  }
  return out;
}

/** Merges defaults, environment and explicit overrides (tests, CLI), then validates. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const merged = { ...DEFAULTS, ...fromEnv(env), ...overrides };
  if (!validate(merged)) {
    const msgs = (validate.errors ?? []).map((e) => {
      const key = e.instancePath.split('/')[1] as keyof Config | undefined;
      const where = key
        ? `${ENV_NAMES[key] ?? key}`
        : e.params && 'additionalProperty' in e.params
          ? `unknown option "${String(e.params.additionalProperty)}"`
          : 'config';
      return `${where} ${e.message ?? 'is invalid'}`;
    });
    throw new WardstreamError('CONFIG_ERR_INVALID', [...new Set(msgs)].join('; '));
  }
  const c = merged as Config;
  const keyKinds = [c.jwtSecret, c.jwtPublicKeyFile, c.jwksFile].filter((x) => x !== null).length;
  if (keyKinds > 1)
    throw new WardstreamError(
      'CONFIG_ERR_INVALID',
      'set only one of WARDSTREAM_JWT_SECRET, WARDSTREAM_JWT_PUBLIC_KEY_FILE, WARDSTREAM_JWKS_FILE (mixing symmetric and asymmetric keys invites algorithm confusion)',
    );
  if ((c.tlsCertFile === null) !== (c.tlsKeyFile === null))
    throw new WardstreamError('CONFIG_ERR_INVALID', 'TLS_CERT_FILE and TLS_KEY_FILE must be set together');
  return Object.freeze(c);
}
