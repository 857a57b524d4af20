/**
 * The one error registry. Every error wardstream raises on purpose has a prefixed code, says
 * whether retrying can help, and keeps its cause. `isRetriable` is the single place that
 * decides fatal vs retry.
 */

export const ERRORS = {
  // bridge: device payloads (each one lands in vitals.dlq with this code as its reason)
  BRIDGE_ERR_TOO_LARGE: { retriable: false, message: 'payload exceeds the maximum size' },
  BRIDGE_ERR_NOT_JSON: { retriable: false, message: 'payload is not valid JSON' },
  BRIDGE_ERR_NOT_OBJECT: { retriable: false, message: 'payload is not a JSON object' },
  BRIDGE_ERR_BAD_TOPIC: { retriable: false, message: 'MQTT topic is not a vitals topic' },
  BRIDGE_ERR_MISSING_FIELD: { retriable: false, message: 'a required field is missing' },
  BRIDGE_ERR_BAD_FIELD: { retriable: false, message: 'a field has the wrong type or format' },
  BRIDGE_ERR_IMPLAUSIBLE: { retriable: false, message: 'a value is outside physiological plausibility' },
  BRIDGE_ERR_FUTURE_TS: { retriable: false, message: 'timestamp is too far in the future' },
  BRIDGE_ERR_NO_VITALS: { retriable: false, message: 'no vital sign in the reading' },
  // bridge: infrastructure
  BRIDGE_ERR_KAFKA_SEND: { retriable: true, message: 'Kafka did not acknowledge the batch' },
  // Kafka, any component
  KAFKA_ERR_NOT_READY: { retriable: true, message: 'Kafka is not ready yet' },
  // gateway (also sent to clients as {"type":"error","code"})
  GATEWAY_ERR_UNAUTHORIZED: { retriable: false, message: 'missing, invalid or expired token' },
  GATEWAY_ERR_FORBIDDEN: { retriable: false, message: 'the token does not grant this ward or action' },
  GATEWAY_ERR_BAD_REQUEST: { retriable: false, message: 'malformed message' },
  GATEWAY_ERR_UNKNOWN_TYPE: { retriable: false, message: 'unknown message type' },
  GATEWAY_ERR_ORIGIN: { retriable: false, message: 'origin not allowed' },
  GATEWAY_ERR_RATE_LIMIT: { retriable: true, message: 'too many messages' },
  // history
  HISTORY_ERR_DECODE: { retriable: false, message: 'a history row could not be decoded' },
  // history: the sink's writes (history/sink/failures.ts maps PostgreSQL's SQLSTATEs to these), queries, replay
  HISTORY_ERR_DB_UNAVAILABLE: { retriable: true, message: 'PostgreSQL is unavailable for now' },
  HISTORY_ERR_DB_SETUP: { retriable: true, message: "PostgreSQL refuses the sink's statements (missing table or privilege); waiting for an operator" },
  HISTORY_ERR_ROW_REFUSED: { retriable: false, message: 'PostgreSQL refused the row' },
  HISTORY_ERR_WRITE_FAILED: { retriable: false, message: 'a history write failed' },
  HISTORY_ERR_BAD_QUERY: { retriable: false, message: 'invalid history query' },
  HISTORY_ERR_REPLAY_WORKER: { retriable: false, message: 'a replay worker thread failed' },
  HISTORY_ERR_REPLAY_SOURCE: { retriable: false, message: 'the replay could not read its source' },
  // configuration and CLI
  CONFIG_ERR_INVALID: { retriable: false, message: 'invalid configuration' },
  CLI_ERR_USAGE: { retriable: false, message: 'invalid command line' },
  // gateway
  GATEWAY_ERR_LISTEN: { retriable: false, message: 'the gateway could not listen on its address' },
  GATEWAY_ERR_BUNDLE: { retriable: false, message: 'the dashboard client bundle could not be built' },
  // platform: Kafka setup, local services, provisioning, the command line
  KAFKA_ERR_PARTITIONS: { retriable: false, message: 'an existing topic has another partition count than KAFKA_PARTITIONS' },
  LOCAL_ERR_KAFKA: { retriable: false, message: 'the local Kafka could not be started' },
  LOCAL_ERR_MOSQUITTO: { retriable: false, message: 'the local Mosquitto could not be started' },
  LOCAL_ERR_POSTGRES: { retriable: false, message: 'the embedded PostgreSQL could not be started' },
  PROVISION_ERR_MISSING: { retriable: false, message: 'a required system package is missing' },
  PROVISION_ERR_INSTALL: { retriable: false, message: 'a system package could not be installed' },
  CLI_ERR_UNEXPECTED: { retriable: false, message: 'unexpected error' },
  // processors
  PROCESSOR_ERR_STATE_VERSION: { retriable: false, message: 'processor state of an unknown version' },
  PROCESSOR_ERR_STATE_INVALID: { retriable: false, message: 'invalid processor state' },
  SCHEMA_ERR_INVALID: { retriable: false, message: 'invalid schema or schema registry' },
  SCHEMA_ERR_WIRE_FORMAT: { retriable: false, message: 'not a record in the Confluent wire format' },
  SCHEMA_ERR_UNKNOWN_ID: { retriable: false, message: 'record written with a schema this codec does not know' },
  SCHEMA_ERR_MISMATCH: { retriable: false, message: 'record of another schema' },
  SCHEMA_ERR_DECODE: { retriable: false, message: 'record does not decode with its schema' },
  SCHEMA_ERR_ENCODE: { retriable: false, message: 'record does not match its schema' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class WardstreamError extends Error {
  override readonly name = 'WardstreamError';
  readonly code: ErrorCode;
  readonly retriable: boolean;
  /** The message without the registry's text for the code. */
  readonly detail: string | undefined;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(detail ? `${ERRORS[code].message}: ${detail}` : ERRORS[code].message, options);
    this.code = code;
    this.retriable = ERRORS[code].retriable;
    this.detail = detail;
  }
}

/**
 * Transient system errors (Node's `code` on socket and DNS failures): the peer may be back on
 * the next attempt. Any other system error (EACCES, ENOENT, EADDRINUSE, …) is not retriable.
 */
export const TRANSIENT_SYSTEM_ERRORS: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Node's http client reports a connection reset as a plain Error with this message (and, usually, code ECONNRESET). */
const TRANSIENT_MESSAGES: ReadonlySet<string> = new Set(['socket hang up']);

/**
 * Fatal vs retry, decided in one place and explicitly:
 *  - a WardstreamError by its registry code's `retriable` flag;
 *  - a kafkajs error (KafkaJSError and subclasses) by its own `retriable` flag;
 *  - a system error by its `code`: retriable only if it is in TRANSIENT_SYSTEM_ERRORS (or it is
 *    Node's "socket hang up");
 *  - anything else (a bug, a thrown string, an unknown library error) is not retriable.
 */
export function isRetriable(err: unknown): boolean {
  if (err instanceof WardstreamError) return err.retriable;
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; retriable?: unknown; code?: unknown; message?: unknown };
  if (typeof e.name === 'string' && e.name.startsWith('KafkaJS') && typeof e.retriable === 'boolean') return e.retriable;
  if (typeof e.code === 'string') return TRANSIENT_SYSTEM_ERRORS.has(e.code);
  return typeof e.message === 'string' && TRANSIENT_MESSAGES.has(e.message);
}
