/**
 * A real Mosquitto broker (Debian package `mosquitto`) on a free loopback port, for tests and
 * benchmarks. In-flight and queue limits are lifted so the bridge's pipelined acknowledgements
 * are not throttled by the broker (docs/operations.md, "External MQTT broker").
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WardstreamError } from '../../common/errors.ts';
import { freePort } from './kafka/local-kafka.ts';

export interface LocalMosquitto {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** The Mosquitto binary of the Debian package, looked up when asked (it may have just been installed). */
export function findMosquitto(): string | undefined {
  return ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));
}

export async function startMosquitto(): Promise<LocalMosquitto> {
  const bin = findMosquitto();
  if (!bin) {
    throw new WardstreamError(
      'PROVISION_ERR_MISSING',
      'mosquitto is not installed (apt-get install -y --no-install-recommends mosquitto; npm test and npm run bench install it as root)',
    );
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'wardstream-mosquitto-'));
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'max_inflight_messages 0',
      'max_queued_messages 0',
      'max_queued_bytes 0',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  );
  const child = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new WardstreamError('LOCAL_ERR_MOSQUITTO', `mosquitto exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) break;
    if (i > 100) {
      child.kill('SIGKILL');
      throw new WardstreamError('LOCAL_ERR_MOSQUITTO', 'mosquitto did not open its port');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null)
        await new Promise<void>((r) => {
          child.once('exit', () => r());
          child.kill('SIGTERM');
        });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
