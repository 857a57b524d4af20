import { describe, expect, it } from 'vitest';
import { installCommand, type Need, type ProvisionEnv, planProvision, provision } from '../../deploy/local/provision.ts';

const machine = (o: Partial<ProvisionEnv> & { installed?: Need[] } = {}): ProvisionEnv & { installed: Set<Need> } => {
  const installed = new Set<Need>(o.installed ?? []);
  return { present: (n) => installed.has(n), isRoot: true, hasAptGet: true, aptListsPresent: true, ...o, installed };
};

describe('provisioning decisions', () => {
  it('nothing to do when everything is there', () => {
    expect(planProvision(['java', 'mosquitto'], machine({ installed: ['java', 'mosquitto'] }))).toEqual({ action: 'none' });
  });

  it('root with apt-get: installs only what is missing, updating first when apt has no lists', () => {
    expect(planProvision(['java', 'maven', 'mosquitto', 'chromium', 'mosquitto'], machine({ installed: ['java', 'maven'] }))).toEqual({
      action: 'install',
      missing: ['mosquitto', 'chromium'],
      packages: ['mosquitto', 'chromium'],
      updateFirst: false,
    });
    expect(planProvision(['java'], machine({ aptListsPresent: false }))).toMatchObject({
      action: 'install',
      packages: ['default-jre-headless'],
      updateFirst: true,
    });
  });

  it('not root: stops with the exact sudo command, in one line', () => {
    const plan = planProvision(['mosquitto', 'chromium'], machine({ isRoot: false }));
    expect(plan).toMatchObject({ action: 'stop', missing: ['mosquitto', 'chromium'] });
    const msg = (plan as { message: string }).message;
    expect(msg).toContain('`sudo apt-get install -y --no-install-recommends mosquitto chromium`');
    expect(msg).toMatch(/^mosquitto, chromium not installed \(Mosquitto is .*; Chromium runs the browser tests\): run `/);
    expect(msg).not.toContain('\n');
    expect((planProvision(['maven'], machine({ isRoot: false, aptListsPresent: false })) as { message: string }).message).toContain(
      '`sudo apt-get update && sudo apt-get install -y --no-install-recommends maven`',
    );
  });

  it('no apt-get: stops and names the Debian command as the example', () => {
    const plan = planProvision(['java'], machine({ hasAptGet: false }));
    expect(plan).toMatchObject({ action: 'stop' });
    expect((plan as { message: string }).message).toMatch(
      /apt-get is not available: install them with your system's package manager \(on Debian: `apt-get install -y --no-install-recommends default-jre-headless`\)/,
    );
  });

  it('installCommand', () => {
    expect(installCommand(['a', 'b'], { sudo: false, update: false })).toBe('apt-get install -y --no-install-recommends a b');
    expect(installCommand(['a'], { sudo: true, update: true })).toBe('sudo apt-get update && sudo apt-get install -y --no-install-recommends a');
  });
});

describe('provision carries the plan out', () => {
  const runner = (env: ReturnType<typeof machine>, results: number[] = []) => {
    const calls: string[] = [];
    const run = (cmd: string, args: readonly string[]) => {
      calls.push([cmd, ...args].join(' '));
      const status = results.shift() ?? 0;
      if (status === 0 && args[0] === 'install') for (const n of ['mosquitto', 'chromium', 'java', 'maven', 'openssl'] as Need[]) env.installed.add(n);
      return status;
    };
    return { calls, run };
  };

  it('installs once, shows what it does, and goes on', () => {
    const env = machine({ installed: ['java'] });
    const { calls, run } = runner(env);
    const lines: string[] = [];
    provision(['java', 'mosquitto'], { env, run, log: (l) => lines.push(l) });
    expect(calls.filter((c) => c.startsWith('apt-get'))).toEqual(['apt-get install -y --no-install-recommends mosquitto']);
    expect(lines[0]).toMatch(/^installing mosquitto \(Mosquitto is .*\): apt-get install -y --no-install-recommends mosquitto$/);
    provision(['java', 'mosquitto'], { env, run, log: (l) => lines.push(l) }); // already there: nothing runs
    expect(calls.filter((c) => c.startsWith('apt-get'))).toHaveLength(1);
  });

  it('refreshes stale package lists once when the install fails, then reports a failure with its code', () => {
    const env = machine();
    const first = runner(env, [100, 0, 0]);
    provision(['maven'], { env, run: first.run, log: () => {} });
    expect(first.calls).toEqual(['apt-get install -y --no-install-recommends maven', 'apt-get update', 'apt-get install -y --no-install-recommends maven']);
    const failing = runner(machine(), [100, 0, 100]);
    expect(() => provision(['maven'], { env: machine(), run: failing.run, log: () => {} })).toThrow(
      /a system package could not be installed: `apt-get install -y --no-install-recommends maven` exited with 100/,
    );
  });

  it('cannot install: throws PROVISION_ERR_MISSING with the command, runs nothing', () => {
    const env = machine({ isRoot: false });
    const { calls, run } = runner(env);
    let err: unknown;
    try {
      provision(['chromium'], { env, run, log: () => {} });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'PROVISION_ERR_MISSING' });
    expect((err as Error).message).toContain('sudo apt-get install -y --no-install-recommends chromium');
    expect(calls).toEqual([]);
  });
});
