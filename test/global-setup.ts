/**
 * Starts the real infrastructure the integration tests talk to, once per run:
 *  - Apache Kafka 4.x (KRaft) from deploy/local/kafka, unless KAFKA_BROKERS is set;
 *  - Mosquitto (Debian package `mosquitto`) on a free port, unless MOSQUITTO_URL is set.
 * Tests isolate themselves with a unique topic prefix per test file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { freePort, startLocalKafka } from '../deploy/local/kafka/local-kafka.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
    mosquittoUrl: string;
  }
}

const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));

async function waitPort(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((r) => { const s = net.connect(port, '127.0.0.1'); s.once('connect', () => { s.destroy(); r(true); }); s.once('error', () => r(false)); });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('mosquitto did not open its port');
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: (() => Promise<void>)[] = [];
  let brokers = process.env.KAFKA_BROKERS;
  if (!brokers) {
    const k = await startLocalKafka({ log: (l) => console.log(`[global-setup] ${l}`) });
    brokers = k.brokers;
    stops.push(() => k.stop());
  }
  let mosquittoUrl = process.env.MOSQUITTO_URL;
  if (!mosquittoUrl) {
    if (!MOSQUITTO) throw new Error('mosquitto is not installed (apt-get install mosquitto); .ci/run installs it');
    const dir = mkdtempSync(path.join(tmpdir(), 'wardstream-mosquitto-'));
    const port = await freePort();
    const conf = path.join(dir, 'mosquitto.conf');
    // In-flight and queue limits raised so the bridge's pipelined acks are not throttled
    // (docs/operations.md, "External MQTT broker").
    writeFileSync(conf, [
      `listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false',
      'max_inflight_messages 0', 'max_queued_messages 0', 'max_queued_bytes 0', 'log_dest stderr', 'log_type error', 'log_type warning', '',
    ].join('\n'));
    const child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
    await waitPort(port, child);
    mosquittoUrl = `mqtt://127.0.0.1:${port}`;
    stops.push(async () => { child.kill('SIGTERM'); rmSync(dir, { recursive: true, force: true }); });
  }
  project.provide('kafkaBrokers', brokers);
  project.provide('mosquittoUrl', mosquittoUrl);
  return async () => { for (const s of stops.reverse()) await s(); };
}
