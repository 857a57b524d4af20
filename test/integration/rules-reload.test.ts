/**
 * The processor reloads its rule file without a restart; an invalid edit is rejected and the
 * rules in force stay. Later alerts record the new version.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Processor, startProcessor } from '../../processors/processor.ts';
import { DEFAULT_RULE_FILE } from '../../processors/rulebook.ts';
import { log, setupTopics, testConfig, waitUntil } from '../helpers.ts';

let processor: Processor | undefined;
afterAll(async () => {
  await processor?.close();
});

describe('rule file hot reload', () => {
  it('picks up a valid edit and keeps the current rules on an invalid one', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wardstream-rules-'));
    const file = path.join(dir, 'rules.yaml');
    copyFileSync(DEFAULT_RULE_FILE, file);
    const config = testConfig({ rulesFile: file });
    const { kafka, topics, codec } = await setupTopics(config);
    processor = await startProcessor({ config, kafka, codec, topics, log });
    const v1 = processor.rules().version;
    expect(v1).toMatch(/^hospital-default-1@/);
    expect(processor.rules().defaults.thresholds.find((t) => t.id === 'hr-high')!.threshold).toBe(130);

    writeFileSync(file, readFileSync(file, 'utf8').replace('version: hospital-default-1', 'version: hospital-default-2').replace('above: 130,', 'above: 135,'));
    await waitUntil(() => processor!.rules().version !== v1, 10_000, 'reload');
    const v2 = processor.rules().version;
    expect(v2).toMatch(/^hospital-default-2@/);
    expect(processor.rules().defaults.thresholds.find((t) => t.id === 'hr-high')!.threshold).toBe(135);

    writeFileSync(file, readFileSync(file, 'utf8').replace('priority: high,   label: Tachycardia', 'priority: urgent, label: Tachycardia'));
    // Give the watcher time to see it; the rules in force must not change.
    await new Promise((r) => setTimeout(r, 1000));
    expect(processor.rules().version).toBe(v2);
  });
});
