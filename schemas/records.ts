/**
 * Immutable record types of the public contract (docs/protocol.md). The record interfaces are
 * generated from the Avro schemas beside this file (records.generated.ts, by generate-types.ts;
 * a unit test fails when they drift); a record is validated once, where it enters the system
 * (the bridge for readings, the CLI for assignments), and never mutated afterwards.
 */
import type { AlertEvent, VitalsReading } from './records.generated.ts';

export type {
  AlertAction,
  AlertEvent,
  DeadLetter,
  HistoryDeadLetter,
  PatientAssignment,
  PatientStatus,
  ProcessorState,
  VitalsReading,
} from './records.generated.ts';

export const VITAL_NAMES = ['heartRate', 'spo2', 'respRate', 'systolicBp', 'diastolicBp', 'temperature'] as const;
export type VitalName = (typeof VITAL_NAMES)[number];
export type Acvpu = NonNullable<VitalsReading['consciousness']>;
export type AlertPriority = AlertEvent['priority'];
export type AlertPhase = AlertEvent['phase'];
export type AlertState = AlertEvent['state'];

/**
 * The one definition of an identifier (patient, ward, device, bed): 1-64 characters of
 * [A-Za-z0-9._:-]. Every entry point (MQTT topics and payloads, tokens, rule files, CLI
 * arguments, client messages) validates ids against it; `ID_SOURCE` is the same pattern for
 * JSON schemas.
 */
export const ID_SOURCE = '^[A-Za-z0-9._:-]{1,64}$';
export const ID_PATTERN = new RegExp(ID_SOURCE);
export const isId = (v: unknown): v is string => typeof v === 'string' && ID_PATTERN.test(v);

export const UNASSIGNED_WARD = 'unassigned';
