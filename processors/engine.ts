/**
 * The engine's public surface, for the runner, replay and benchmarks: `step`, `tickPatient`,
 * `applyAction` and the patient state they carry. The engine itself is engine/engine.ts (its
 * stages in the order they run); the parts are in engine/.
 */
export { alertIdOf } from './engine/alert-id.ts';
export { applyAction, STAGES, type StepResult, type StepVerdict, step, type TickResult, tickPatient } from './engine/engine.ts';
export { type Bucket, type DeviceSeq, initialState, MAX_DEVICES, type Obs, type PatientState, statusOf } from './engine/patient-state.ts';
