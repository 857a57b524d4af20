/**
 * The processors' entry point: `startProcessor` (runner/runner.ts, the Kafka shell around the
 * engine) and the patient status it writes.
 */
export { statusOf } from './engine.ts';
export { startProcessor, type Processor, type ProcessorOptions } from './runner/runner.ts';
