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
  // configuration and CLI
  CONFIG_ERR_INVALID: { retriable: false, message: 'invalid configuration' },
  CLI_ERR_USAGE: { retriable: false, message: 'invalid command line' },
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

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(detail ? `${ERRORS[code].message}: ${detail}` : ERRORS[code].message, options);
    this.code = code;
    this.retriable = ERRORS[code].retriable;
  }
}

/** Fatal vs retry, decided in one place. Unknown errors (network, broker) are retriable. */
export function isRetriable(err: unknown): boolean {
  if (err instanceof WardstreamError) return err.retriable;
  const e = err as { retriable?: boolean } | undefined;
  if (e && typeof e.retriable === 'boolean') return e.retriable; // kafkajs KafkaJSError
  return true;
}
