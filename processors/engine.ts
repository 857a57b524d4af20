/**
 * The engine's public surface, for the runner, replay and benchmarks: `step`, `tickPatient`,
 * `applyAction` and the patient state they carry. The engine itself is engine/engine.ts (its
 * stages in the order they run); the parts are in engine/.
 */
export { alertIdOf } from './engine/alert-id.ts';
export { applyAction, STAGES, step, tickPatient, type StepResult, type StepVerdict, type TickResult } from './engine/engine.ts';
export { initialState, MAX_DEVICES, statusOf, type Bucket, type DeviceSeq, type Obs, type PatientState } from './engine/patient-state.ts';
