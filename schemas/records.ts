/**
 * Immutable record types of the public contract (docs/protocol.md). They mirror the Avro
 * schemas beside this file one to one; a record is validated once, where it enters the system
 * (the bridge for readings, the CLI for assignments), and never mutated afterwards.
 */

export const VITAL_NAMES = ['heartRate', 'spo2', 'respRate', 'systolicBp', 'diastolicBp', 'temperature'] as const;
export type VitalName = (typeof VITAL_NAMES)[number];
export type Acvpu = 'A' | 'C' | 'V' | 'P' | 'U';

export interface VitalsReading {
  readonly patientId: string;
  readonly wardId: string;
  readonly bed: string | null;
  readonly deviceId: string;
  readonly seq: number;
  /** Device (event) time, epoch ms. */
  readonly ts: number;
  /** Bridge receive time, epoch ms. */
  readonly receivedAt: number;
  readonly heartRate: number | null;
  readonly spo2: number | null;
  readonly respRate: number | null;
  readonly systolicBp: number | null;
  readonly diastolicBp: number | null;
  readonly temperature: number | null;
  readonly consciousness: Acvpu | null;
  readonly onOxygen: boolean | null;
  readonly correlationId: string;
}

export interface DeadLetter {
  readonly reason: string;
  readonly detail: string;
  readonly mqttTopic: string;
  readonly payload: Buffer;
  readonly receivedAt: number;
  readonly correlationId: string;
}

export type AlertPriority = 'high' | 'medium' | 'low';
export type AlertPhase = 'start' | 'update' | 'escalate' | 'deescalate' | 'end' | 'acknowledged' | 'silenced';
export type AlertState = 'active' | 'latched' | 'inactive';

export interface AlertEvent {
  readonly eventId: string;
  readonly alertId: string;
  readonly patientId: string;
  readonly wardId: string;
  readonly bed: string | null;
  readonly rule: string;
  readonly priority: AlertPriority;
  readonly phase: AlertPhase;
  readonly state: AlertState;
  readonly parameter: string | null;
  readonly value: number | null;
  readonly threshold: number | null;
  readonly onsetTs: number;
  readonly eventTs: number;
  readonly message: string;
  readonly ruleVersion: string;
  readonly correlationId: string;
}

export interface PatientAssignment {
  readonly patientId: string;
  readonly wardId: string;
  readonly bed: string | null;
  readonly assignedAt: number;
}

export const UNASSIGNED_WARD = 'unassigned';
