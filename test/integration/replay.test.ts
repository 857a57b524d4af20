/**
 * `wardstream replay` on real Kafka and PostgreSQL:
 *  - the live processors (default rules, timers on: escalation, signal loss) process a scripted
 *    cohort and the sink records it; replaying that period with the live rules reproduces the
 *    live alert events exactly, from Kafka and from PostgreSQL;
 *  - the same input and rules give a byte-identical report; a proposed rule change shows up as
 *    removed / later alerts; `--publish` writes only `alerts.replay.<name>`;
 *  - bad arguments (unknown ward, inverted range, invalid rule file) fail with clear errors;
 *  - the HTML report renders its charts in headless Chromium.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../common/config.ts';
import { createProducer } from '../../common/kafka.ts';
import { registerAuditKey } from '../../history/db.ts';
import { parseAuditKey } from '../../history/pseudonym.ts';
import { parseReplayArgs } from '../../history/replay/args.ts';
import { publishReplay, runReplay } from '../../history/replay/replay.ts';
import { toHtml, toJson } from '../../history/replay/report.ts';
import { type Sink, startSink } from '../../history/sink/sink.ts';
import { type Processor, startProcessor } from '../../processors/processor.ts';
import { DEFAULT_RULE_FILE, loadRuleFile, parseRuleFile } from '../../processors/rulebook.ts';
import type { AlertEvent, VitalsReading } from '../../schemas/records.ts';
import { partitionForWard } from '../../schemas/topics.ts';
import { launchChromium } from '../browser.ts';
import { AUDIT_KEY_HEX, committed, consumeUntil, log, setupTopics, testConfig, testDatabase, waitUntil } from '../helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PATIENTS = 40;
const SECONDS = 1500;
const T0 = Math.floor((Date.now() - 3 * 3600_000) / 1000) * 1000;
const END = T0 + SECONDS * 1000;

/** Episodes early on, then patients 3, 13, … go silent (signal loss); the last minutes are quiet. */
function cohort(): VitalsReading[] {
  const out: VitalsReading[] = [];
  for (let t = 0; t < SECONDS; t++) {
    for (let i = 0; i < PATIENTS; i++) {
      if (i % 10 === 3 && t >= 500 && t < 700) continue; // device silent for 200 s
      const ep = t >= 100 + (i % 5) * 40 && t < 400 + (i % 5) * 40;
      const kind = i % 4;
      out.push({
        patientId: `rp${i}`,
        wardId: `rw${i % 8}`,
        bed: null,
        deviceId: `rd${i}`,
        seq: t + 1,
        ts: T0 + t * 1000,
        receivedAt: T0 + t * 1000,
        heartRate: kind === 0 && ep ? 138 + (t % 9) : 72 + (t % 7),
        spo2: kind === 1 && ep ? 87 : 97,
        respRate: kind === 2 && ep ? 27 : 15,
        systolicBp: kind === 3 && ep ? 86 : 122,
        diastolicBp: 76,
        temperature: 36.8,
        consciousness: 'A',
        onOxygen: false,
        correlationId: `rc${i}-${t}`,
      });
    }
  }
  return out;
}

const comparable = (e: AlertEvent) => ({ ...e, correlationId: '' });
const byId = (xs: readonly AlertEvent[]) => new Map(xs.map((e) => [e.eventId, comparable(e)]));

describe('replay', () => {
  let config: Config;
  let env: Awaited<ReturnType<typeof setupTopics>>;
  let db: Awaited<ReturnType<typeof testDatabase>>;
  let processor: Processor;
  let sink: Sink;
  let live: AlertEvent[];
  const book = loadRuleFile(DEFAULT_RULE_FILE);
  const out = mkdtempSync(path.join(tmpdir(), 'wardstream-replay-'));

  beforeAll(async () => {
    config = testConfig();
    env = await setupTopics(config);
    db = await testDatabase(config);
    const key = parseAuditKey('k1', AUDIT_KEY_HEX);
    await registerAuditKey(db.pool, key);
    const readings = cohort();
    const producer = createProducer(env.kafka);
    await producer.connect();
    for (let i = 0; i < readings.length; i += 4000) {
      await producer.send({
        topic: env.topics.vitals,
        acks: -1,
        messages: readings.slice(i, i + 4000).map((r) => ({
          key: r.patientId,
          value: env.codec.encode('vitals', r),
          partition: partitionForWard(r.wardId, config.kafkaPartitions),
          timestamp: String(r.ts),
        })),
      });
    }
    await producer.disconnect();
    processor = await startProcessor({ ...env, config, log, rules: book });
    sink = await startSink({ ...env, config, log, pool: db.pool, auditKey: key });
    // Live processing is done when the processor committed every vitals offset and the sink holds every reading.
    await waitUntil(
      async () => (await committed(env.kafka, `${config.kafkaTopicPrefix}wardstream-processor`, env.topics.vitals)) === readings.length,
      120_000,
      'processor caught up',
      200,
    );
    const admin = env.kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(env.topics.alerts);
    await admin.disconnect();
    const total = ends.reduce((n, p) => n + Number(p.high), 0);
    live = [
      ...new Map(
        (
          await consumeUntil(
            env.kafka,
            env.topics.alerts,
            (v) => env.codec.decode('alert', v),
            (all) => all.length >= total,
          )
        ).map((e) => [e.eventId, e]),
      ).values(),
    ];
    await waitUntil(
      async () =>
        Number((await db.pool.query('SELECT count(*) AS n FROM vitals')).rows[0].n) === readings.length &&
        Number((await db.pool.query('SELECT count(*) AS n FROM alert_events')).rows[0].n) === live.length,
      60_000,
      'sink caught up',
      200,
    );
  }, 240_000);

  afterAll(async () => {
    await sink?.close();
    await processor?.close();
    await db?.close();
  });

  const args = (o: Record<string, unknown> = {}) =>
    parseReplayArgs({ from: String(T0), to: String(END + 1000), warmup: '0', timelines: '3', ...o } as never, Date.now());

  it('live run raised a realistic mix of transitions (start, end, escalate, signal loss)', () => {
    const kinds = new Set(live.map((e) => `${e.rule}:${e.phase}`));
    for (const k of ['hr-high:start', 'spo2-low:start', 'sbp-low:start', 'signal-loss:start', 'signal-loss:end', 'hr-high:escalate'])
      expect(kinds).toContain(k);
    expect(live.length).toBeGreaterThan(50);
  });

  it('replaying the live period with the live rules reproduces the live alerts exactly, from Kafka and from PostgreSQL', async () => {
    for (const source of ['kafka', 'postgres'] as const) {
      const res = await runReplay(args({ source }), { config, codec: env.codec, log, book, kafka: env.kafka, topics: env.topics, pool: db.pool, workers: 1 });
      expect(res.report.readings).toBe(cohort().length);
      expect(byId(res.proposed)).toEqual(byId(live));
      expect(res.report.diff).toMatchObject({ added: 0, removed: 0, earlier: 0, later: 0 });
      expect(res.report.diff.same).toBeGreaterThan(20);
    }
  });

  it('same input and rules give a byte-identical report; a stricter rule shows as removed and later alerts', async () => {
    const stricter = parseRuleFile(
      readFileSync(DEFAULT_RULE_FILE, 'utf8')
        .replace(
          '{ id: hr-high,    parameter: heartRate,   above: 130, sustainSec: 10,',
          '{ id: hr-high,    parameter: heartRate,   above: 140, sustainSec: 10,',
        )
        .replace(
          '{ id: spo2-low,   parameter: spo2,        below: 90,  sustainSec: 15,',
          '{ id: spo2-low,   parameter: spo2,        below: 90,  sustainSec: 45,',
        ),
      'stricter.yaml',
    );
    const deps = { config, codec: env.codec, log, book: stricter, pool: db.pool, kafka: env.kafka, topics: env.topics };
    const a = await runReplay(args({ name: 'stricter' }), deps);
    const b = await runReplay(args({ name: 'stricter' }), deps);
    expect(toJson(b.report)).toBe(toJson(a.report));
    expect(toHtml(b.report)).toBe(toHtml(a.report));
    // Sharded over worker threads (each its own connection and cursor): the same report.
    const w = await runReplay(args({ name: 'stricter' }), { ...deps, databaseUrl: db.url, workers: 3 });
    expect(toJson(w.report)).toBe(toJson(a.report));
    const k = await runReplay(args({ name: 'stricter', source: 'kafka' }), { ...deps, workers: 1 });
    expect(toJson({ ...k.report, source: 'postgres' })).toBe(toJson(a.report));
    // Kafka partitions shared out over worker threads (each its own client): the same report.
    const kw = await runReplay(args({ name: 'stricter', source: 'kafka' }), { ...deps, workers: 3 });
    expect(toJson(kw.report)).toBe(toJson(k.report));
    const hr = a.report.byRule.find((r) => r.rule === 'hr-high' && r.priority === 'high')!;
    expect(hr.proposed.alerts).toBeLessThan(hr.current.alerts);
    expect(a.report.diff.removed).toBeGreaterThan(0);
    expect(a.report.diff.later).toBeGreaterThan(0);
    expect(a.report.timelines.length).toBe(3);
    writeFileSync(path.join(out, 'report.html'), toHtml(a.report));

    // --publish: only alerts.replay.<name> is written.
    const before = await env.kafka.admin();
    await before.connect();
    const liveEnds = (await before.fetchTopicOffsets(env.topics.alerts)).reduce((n, p) => n + Number(p.high), 0);
    const topic = await publishReplay(env.kafka, config, env.codec, 'stricter', a.proposed);
    expect(topic).toBe(`${config.kafkaTopicPrefix}alerts.replay.stricter`);
    const written = (await before.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
    expect(written).toBe(a.proposed.length);
    expect((await before.fetchTopicOffsets(env.topics.alerts)).reduce((n, p) => n + Number(p.high), 0)).toBe(liveEnds);
    await before.disconnect();
  });

  it('a ward and patient filter replays only them; an unknown ward is a clear error', async () => {
    const res = await runReplay(args({ ward: ['rw1'] }), { config, codec: env.codec, log, book, pool: db.pool });
    expect(new Set(res.proposed.map((e) => e.wardId))).toEqual(new Set(['rw1']));
    expect(byId(res.proposed)).toEqual(byId(live.filter((e) => e.wardId === 'rw1')));
    const one = await runReplay(args({ patients: ['rp1'] }), { config, codec: env.codec, log, book, pool: db.pool });
    expect(byId(one.proposed)).toEqual(byId(live.filter((e) => e.patientId === 'rp1')));
    await expect(runReplay(args({ ward: ['icu-9'] }), { config, codec: env.codec, log, book, pool: db.pool })).rejects.toThrow(
      /unknown ward icu-9.*wards with readings: rw0, rw1/,
    );
    await expect(
      runReplay(args({ ward: ['icu-9'], source: 'kafka' }), { config, codec: env.codec, log, book, kafka: env.kafka, topics: env.topics, workers: 1 }),
    ).rejects.toThrow(/unknown ward icu-9/);
    await expect(
      runReplay(args({ ward: ['icu-9'], source: 'kafka' }), { config, codec: env.codec, log, book, kafka: env.kafka, topics: env.topics, workers: 2 }),
    ).rejects.toThrow(/unknown ward icu-9/);
  });

  it('the CLI rejects an inverted range and an invalid rule file with clear messages, and writes the report files', () => {
    const cli = (...a: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bin/wardstream.ts'), 'replay', ...a], {
        cwd: ROOT,
        encoding: 'utf8',
        env: {
          ...process.env,
          DATABASE_URL: db.url,
          KAFKA_BROKERS: config.kafkaBrokers!.join(','),
          KAFKA_TOPIC_PREFIX: config.kafkaTopicPrefix,
          KAFKA_PARTITIONS: String(config.kafkaPartitions),
          LOG_LEVEL: 'error',
        },
      });
    const inverted = cli('--from', String(END), '--to', String(T0));
    expect(inverted.status).toBe(2);
    expect(inverted.stderr).toMatch(/CLI_ERR_USAGE: .*--from .* must be before --to/);
    const badRules = path.join(out, 'bad.yaml');
    writeFileSync(badRules, 'version: x\ndefaults:\n  thresholds:\n    - { id: hr-high, parameter: heartRate, above: "fast" }\n');
    const invalid = cli('--from', String(T0), '--rules', badRules);
    expect(invalid.status).toBe(2);
    expect(invalid.stderr).toMatch(/--rules: .*bad\.yaml:4: defaults\.thresholds\.0\.above must be number/);
    const ok = cli('--from', String(T0), '--to', String(END + 1000), '--warmup', '0', '--out', path.join(out, 'cli'), '--ward', 'rw2');
    expect(ok.stderr).not.toMatch(/Error/);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/difference: 0 added, 0 removed, 0 earlier, 0 later/);
    for (const f of ['report.html', 'report.json', 'report.csv', 'differences.csv']) expect(existsSync(path.join(out, 'cli', f))).toBe(true);
  });

  it('the HTML report renders its charts in headless Chromium', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`file://${path.join(out, 'report.html')}`);
      const bars = await page.locator('#alerts-over-time rect.bar').count();
      expect(bars).toBeGreaterThan(0);
      const box = await page.locator('#alerts-over-time').boundingBox();
      expect(box!.width).toBeGreaterThan(500);
      expect(await page.locator('svg.timeline').count()).toBe(3);
      expect(await page.locator('svg.timeline polyline').count()).toBeGreaterThan(3);
      expect(await page.locator('svg.timeline rect.span').count()).toBeGreaterThan(0);
      await page.screenshot({ path: path.join(ROOT, 'test-artifacts', 'replay-report.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
