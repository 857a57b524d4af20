/**
 * The processors' entry point: `startProcessor` (runner/runner.ts, the Kafka shell around the
 * engine) and the patient status it writes.
 */
export { statusOf } from './engine.ts';
export { type Processor, type ProcessorOptions, startProcessor } from './runner/runner.ts';
