/**
 * Immutable record types of the public contract (docs/protocol.md). They mirror the Avro
 * schemas beside this file one to one; a record is validated once, where it enters the system
 * (the bridge for readings, the CLI for assignments), and never mutated afterwards.
 */

export const VITAL_NAMES = ['heartRate', 'spo2', 'respRate', 'systolicBp', 'diastolicBp', 'temperature'] as const;
export type VitalName = (typeof VITAL_NAMES)[number];
export type Acvpu = 'A' | 'C' | 'V' | 'P' | 'U';

/**
 * The one definition of an identifier (patient, ward, device, bed): 1-64 characters of
 * [A-Za-z0-9._:-]. Every entry point (MQTT topics and payloads, tokens, rule files, CLI
 * arguments, client messages) validates ids against it; `ID_SOURCE` is the same pattern for
 * JSON schemas.
 */
export const ID_SOURCE = '^[A-Za-z0-9._:-]{1,64}$';
export const ID_PATTERN = new RegExp(ID_SOURCE);
export const isId = (v: unknown): v is string => typeof v === 'string' && ID_PATTERN.test(v);

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

/** A record the history sink could not store (topic `history.dlq`). */
export interface HistoryDeadLetter {
  /** A HISTORY_ERR_* code. */
  readonly reason: string;
  readonly detail: string;
  readonly sqlState: string | null;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly rowKey: string | null;
  /** The original record value, unchanged. */
  readonly payload: Buffer;
  readonly failedAt: number;
  readonly correlationId: string | null;
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
  /** NEWS2 sub-scores and total, or other numbers that explain the alert. */
  readonly details: Readonly<Record<string, number>> | null;
  /** Roles to notify for this event (escalation names the next role). */
  readonly notify: readonly string[];
  /** Who acknowledged or silenced (user id and role), for those phases. */
  readonly actor: string | null;
  readonly actorRole: string | null;
  /** Lead alert of the patient's group this alert joined at onset (no separate sound). */
  readonly groupedWith: string | null;
  readonly silencedUntil: number | null;
}

export interface AlertAction {
  readonly actionId: string;
  readonly alertId: string;
  readonly patientId: string;
  readonly wardId: string;
  readonly action: 'ack' | 'silence';
  readonly durationMs: number | null;
  readonly user: string;
  readonly role: string;
  readonly ts: number;
}

export interface PatientStatus {
  readonly patientId: string;
  readonly wardId: string;
  readonly bed: string | null;
  readonly updatedTs: number;
  /** Latest value and its event time, per parameter. */
  readonly vitals: Readonly<Record<string, { readonly value: number; readonly ts: number }>>;
  readonly consciousness: Acvpu | null;
  readonly onOxygen: boolean | null;
  readonly news2Total: number | null;
  readonly news2Level: string | null;
  readonly news2SubScores: Readonly<Record<string, number>> | null;
  readonly activeAlerts: readonly { readonly alertId: string; readonly rule: string; readonly priority: AlertPriority; readonly state: AlertState; readonly acked: boolean; readonly onsetTs: number }[];
}

export interface PatientAssignment {
  readonly patientId: string;
  readonly wardId: string;
  readonly bed: string | null;
  readonly assignedAt: number;
}

export const UNASSIGNED_WARD = 'unassigned';
