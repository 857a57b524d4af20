/**
 * The system packages wardstream's development commands need, installed on first use.
 *
 *   npm test   (integration project)  Java + Maven (local Kafka), Mosquitto, Chromium, OpenSSL
 *   npm start                         Java + Maven, only when it runs the local Kafka
 *   npm run bench                     Java + Maven (unless KAFKA_BROKERS), Mosquitto
 *
 * On Debian as root (`apt-get` available) a missing package is installed once, with apt's
 * progress on stderr (`apt-get update` first when apt has no package lists, or when the install
 * fails without them being fresh). Anywhere else the command stops at once with one line naming
 * the exact command to run. Maven is needed only until the Kafka jars are cached.
 *
 * The decision is a pure function of the environment (`planProvision`), unit-tested; `provision`
 * carries it out.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { WardstreamError } from '../../common/errors.ts';
import { kafkaJarsCached } from './kafka/local-kafka.ts';
import { findMosquitto } from './mosquitto.ts';

export type Need = 'java' | 'maven' | 'mosquitto' | 'chromium' | 'openssl';

/** Debian package and purpose of each need (the purpose is named in messages). */
export const REQUIREMENTS: Readonly<Record<Need, { readonly debPackage: string; readonly purpose: string }>> = {
  java: { debPackage: 'default-jre-headless', purpose: 'Java 17+ runs the local Kafka' },
  maven: { debPackage: 'maven', purpose: "Maven resolves the local Kafka's jars on first run" },
  mosquitto: { debPackage: 'mosquitto', purpose: 'Mosquitto is the external MQTT broker of tests and benchmarks' },
  chromium: { debPackage: 'chromium', purpose: 'Chromium runs the browser tests' },
  openssl: { debPackage: 'openssl', purpose: "OpenSSL makes the TLS test's certificate" },
};

/** What the local Kafka needs: Java, and Maven until its jars are cached. */
export function kafkaNeeds(): Need[] {
  return kafkaJarsCached() ? ['java'] : ['java', 'maven'];
}

/** What the integration tests need (test/global-setup.ts). */
export function integrationTestNeeds(): Need[] {
  return [...kafkaNeeds(), 'mosquitto', 'chromium', 'openssl'];
}

export interface ProvisionEnv {
  readonly present: (need: Need) => boolean;
  readonly isRoot: boolean;
  readonly hasAptGet: boolean;
  /** apt has package lists (`apt-get update` has run on this machine). */
  readonly aptListsPresent: boolean;
}

export type ProvisionPlan =
  | { readonly action: 'none' }
  | { readonly action: 'install'; readonly missing: readonly Need[]; readonly packages: readonly string[]; readonly updateFirst: boolean }
  | { readonly action: 'stop'; readonly missing: readonly Need[]; readonly message: string };

const APT_INSTALL = ['install', '-y', '--no-install-recommends'];

/** The shell command a person runs to install `packages`. */
export function installCommand(packages: readonly string[], o: { sudo: boolean; update: boolean }): string {
  const sudo = o.sudo ? 'sudo ' : '';
  const install = `${sudo}apt-get ${APT_INSTALL.join(' ')} ${packages.join(' ')}`;
  return o.update ? `${sudo}apt-get update && ${install}` : install;
}

/** What to do about `needs` in `env`: nothing, install with apt-get, or stop with one line. */
export function planProvision(needs: readonly Need[], env: ProvisionEnv): ProvisionPlan {
  const missing = [...new Set(needs)].filter((n) => !env.present(n));
  if (missing.length === 0) return { action: 'none' };
  const packages = missing.map((n) => REQUIREMENTS[n].debPackage);
  if (env.isRoot && env.hasAptGet) return { action: 'install', missing, packages, updateFirst: !env.aptListsPresent };
  const why = missing.map((n) => REQUIREMENTS[n].purpose).join('; ');
  const command = installCommand(packages, { sudo: !env.isRoot, update: !env.aptListsPresent });
  const message = env.hasAptGet
    ? `${packages.join(', ')} not installed (${why}): run \`${command}\``
    : `${packages.join(', ')} not installed (${why}) and apt-get is not available: install them with your system's package manager (on Debian: \`${command}\`)`;
  return { action: 'stop', missing, message };
}

function onPath(command: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      accessSync(path.join(dir, command), constants.X_OK);
      return true;
    } catch {
      /* not here */
    }
  }
  return false;
}

/** Whether each need is met on this machine, right now. */
export function isPresent(need: Need): boolean {
  switch (need) {
    case 'java':
      return process.env.JAVA_HOME ? existsSync(path.join(process.env.JAVA_HOME, 'bin', 'java')) : onPath('java');
    case 'maven':
      return onPath('mvn');
    case 'mosquitto':
      return findMosquitto() !== undefined;
    case 'chromium':
      return existsSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium');
    case 'openssl':
      return onPath('openssl');
  }
}

export function machineEnv(): ProvisionEnv {
  let lists: string[] = [];
  try {
    lists = readdirSync('/var/lib/apt/lists');
  } catch {
    /* no apt */
  }
  return { present: isPresent, isRoot: process.getuid?.() === 0, hasAptGet: onPath('apt-get'), aptListsPresent: lists.some((f) => f.includes('_Packages')) };
}

export interface ProvisionIo {
  readonly env?: ProvisionEnv;
  /** Runs a command with its output on stderr; returns its exit status. */
  readonly run?: (command: string, args: readonly string[]) => number;
  readonly log?: (line: string) => void;
}

const runVisible = (command: string, args: readonly string[]): number => {
  const r = spawnSync(command, args, { stdio: ['ignore', 2, 2], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return r.status ?? 1;
};

/**
 * Makes sure `needs` are met: installs what is missing (root + apt-get) or throws
 * PROVISION_ERR_MISSING with the command to run. PROVISION_ERR_INSTALL when apt-get fails.
 */
export function provision(needs: readonly Need[], io: ProvisionIo = {}): void {
  const env = io.env ?? machineEnv();
  const run = io.run ?? runVisible;
  const log = io.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const plan = planProvision(needs, env);
  if (plan.action === 'none') return;
  if (plan.action === 'stop') throw new WardstreamError('PROVISION_ERR_MISSING', plan.message);
  log(
    `installing ${plan.packages.join(', ')} (${plan.missing.map((n) => REQUIREMENTS[n].purpose).join('; ')}): ${installCommand(plan.packages, { sudo: false, update: plan.updateFirst })}`,
  );
  let updated = false;
  const update = () => {
    updated = true;
    if (run('apt-get', ['update']) !== 0) throw new WardstreamError('PROVISION_ERR_INSTALL', 'apt-get update failed (see its output above)');
  };
  if (plan.updateFirst) update();
  let status = run('apt-get', [...APT_INSTALL, ...plan.packages]);
  if (status !== 0 && !updated) {
    // Package lists may be stale (a package moved to a new version): refresh them once and retry.
    update();
    status = run('apt-get', [...APT_INSTALL, ...plan.packages]);
  }
  if (status !== 0)
    throw new WardstreamError(
      'PROVISION_ERR_INSTALL',
      `\`${installCommand(plan.packages, { sudo: false, update: false })}\` exited with ${status} (see its output above)`,
    );
  // Debian starts a system broker on port 1883 after installing Mosquitto; wardstream starts its own.
  if (plan.missing.includes('mosquitto') && onPath('systemctl')) run('systemctl', ['disable', '--now', 'mosquitto']);
  const still = plan.missing.filter((n) => !env.present(n));
  if (still.length) throw new WardstreamError('PROVISION_ERR_INSTALL', `${still.join(', ')} still missing after installing ${plan.packages.join(', ')}`);
  log(`installed ${plan.packages.join(', ')}`);
}

/**
 * `provision` for scripts without the CLI's error path (the test setup, the benchmark runner):
 * a failure stops the process at once with its one line, `wardstream: CODE: message`.
 */
export function provisionOrExit(needs: readonly Need[], io: ProvisionIo = {}): void {
  try {
    provision(needs, io);
  } catch (e) {
    if (!(e instanceof WardstreamError)) throw e;
    process.stderr.write(`wardstream: ${e.code}: ${e.message}\n`);
    process.exit(2);
  }
}
