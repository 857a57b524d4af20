/**
 * The command line's failure modes, in-process (no services): every failure is one line
 * `wardstream: CODE: message` on stderr and exit status 2; help and version go to stdout.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeFailure, formatFailure, run, version } from '../../bin/cli.ts';
import { WardstreamError } from '../../common/errors.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const COMMANDS = ['start', 'bridge', 'processor', 'gateway', 'sink', 'replay', 'admit', 'discharge', 'token', 'simulate'];
const SECRET = 'unit-secret-'.padEnd(40, 'x');
const ONE_LINE = /^wardstream: [A-Z][A-Z0-9_]+: [^\n]+\n$/;

async function cli(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  const status = await run(argv, {
    env,
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
  });
  return { status, out, err };
}

describe('wardstream help and version', () => {
  it('no command and --help print the command list on stdout', async () => {
    for (const argv of [[], ['--help']]) {
      const r = await cli(argv);
      expect(r.status).toBe(0);
      expect(r.err).toBe('');
      for (const c of COMMANDS) expect(r.out).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    }
  });

  it('each command prints its own options', async () => {
    for (const c of COMMANDS) {
      const r = await cli([c, '--help']);
      expect(r.status).toBe(0);
      expect(r.out).toMatch(new RegExp(`^Usage: wardstream ${c} `));
    }
    expect((await cli(['token', '--help'])).out).toMatch(/--role <role>[\s\S]*--ward <ward>[\s\S]*--ttl <duration>/);
    expect((await cli(['replay', '--help'])).out).toMatch(/--from <time>[\s\S]*--source <source>[\s\S]*--workers <n>/);
    expect((await cli(['start', '--help'])).out).toMatch(/--no-simulate[\s\S]*--no-history[\s\S]*--patients <n>/);
    expect((await cli(['token', '--help'])).out).not.toMatch(/--from/);
  });

  it('--version prints the package version', async () => {
    const r = await cli(['--version']);
    expect([r.status, r.out]).toEqual([0, `${version()}\n`]);
    expect(version()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('wardstream failures: one line, CODE, exit status 2', () => {
  const cases: { argv: string[]; env?: NodeJS.ProcessEnv; code: string; message: RegExp }[] = [
    {
      argv: ['token', '--role', 'nurse', '--ward', 'w1', '--bogus'],
      code: 'CLI_ERR_USAGE',
      message: /unknown option '--bogus' \(see wardstream token --help\)/,
    },
    { argv: ['frobnicate'], code: 'CLI_ERR_USAGE', message: /unknown command 'frobnicate' \(see wardstream --help\)/ },
    { argv: ['token', '--role', 'nurse'], code: 'CLI_ERR_USAGE', message: /required option '--ward <ward>' not specified/ },
    { argv: ['token', '--ward', 'w1'], code: 'CLI_ERR_USAGE', message: /required option '--role <role>' not specified/ },
    { argv: ['token', '--role', 'janitor', '--ward', 'w1'], code: 'CLI_ERR_USAGE', message: /'janitor' is invalid.*nurse, charge_nurse, physician, admin/ },
    { argv: ['token', '--role', 'nurse', '--ward', 'w1', 'extra'], code: 'CLI_ERR_USAGE', message: /too many arguments/ },
    {
      argv: ['token', '--role', 'nurse', '--ward', 'w1', '--ttl', 'soon'],
      env: { WARDSTREAM_JWT_SECRET: SECRET },
      code: 'CLI_ERR_USAGE',
      message: /--ttl "soon" must look like 30s/,
    },
    { argv: ['token', '--role', 'nurse', '--ward', 'w1'], code: 'CONFIG_ERR_INVALID', message: /WARDSTREAM_JWT_SECRET is not set/ },
    {
      argv: ['simulate', '--rate', 'fast'],
      code: 'CLI_ERR_USAGE',
      message: /'--rate <n>' argument 'fast' is invalid. must be a number >= 0.01 \(see wardstream simulate --help\)/,
    },
    { argv: ['start', '--patients', '0'], code: 'CLI_ERR_USAGE', message: /'--patients <n>' argument '0' is invalid. must be a number >= 1/ },
    {
      argv: ['start', '--scenario', 'zombies'],
      code: 'CLI_ERR_USAGE',
      message: /'zombies' is invalid.*tachycardia, desaturation, hypotension, artifact, mixed/,
    },
    { argv: ['replay', '--from', 'now', '--workers', '-1'], code: 'CLI_ERR_USAGE', message: /'--workers <n>' argument '-1' is invalid/ },
    { argv: ['replay', '--to', 'now'], code: 'CLI_ERR_USAGE', message: /required option '--from <time>' not specified/ },
    { argv: ['replay', '--from', 'now', '--to', 'now-1h'], code: 'CLI_ERR_USAGE', message: /--from \(.*\) must be before --to/ },
    { argv: ['replay', '--from', 'yesterday-ish'], code: 'CLI_ERR_USAGE', message: /--from "yesterday-ish" is not a time/ },
    { argv: ['replay', '--from', 'now-1h', '--source', 'tape'], code: 'CLI_ERR_USAGE', message: /'tape' is invalid.*postgres, kafka/ },
    { argv: ['replay', '--from', 'now-1h', '--source', 'kafka'], code: 'CLI_ERR_USAGE', message: /KAFKA_BROKERS must point at the cluster for --source kafka/ },
    { argv: ['admit', '--patient', 'p1', '--ward', 'w1'], code: 'CLI_ERR_USAGE', message: /KAFKA_BROKERS must point at the cluster \(npm start prints it\)/ },
    { argv: ['admit', '--patient', 'p1', '--ward', 'w1', '--ward', 'w2'], code: 'CLI_ERR_USAGE', message: /admit needs exactly one --ward/ },
    { argv: ['discharge'], code: 'CLI_ERR_USAGE', message: /required option '--patient <id>' not specified/ },
    { argv: ['processor'], code: 'CONFIG_ERR_INVALID', message: /KAFKA_BROKERS is not set \(only `wardstream start` runs a local Kafka\)/ },
    { argv: ['gateway'], env: { KAFKA_BROKERS: '127.0.0.1:1' }, code: 'CONFIG_ERR_INVALID', message: /the gateway needs a token key/ },
    { argv: ['sink'], env: { KAFKA_PARTITIONS: 'many' }, code: 'CONFIG_ERR_INVALID', message: /KAFKA_PARTITIONS must be integer/ },
    { argv: ['bridge', '--port', '1'], code: 'CLI_ERR_USAGE', message: /unknown option '--port' \(see wardstream bridge --help\)/ },
  ];
  for (const c of cases) {
    it(`${c.argv.join(' ')} → ${c.code}`, async () => {
      const r = await cli(c.argv, c.env);
      expect(r.status).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(ONE_LINE);
      expect(r.err.startsWith(`wardstream: ${c.code}: `)).toBe(true);
      expect(r.err).toMatch(c.message);
    });
  }

  it('the process itself exits 2 with the one line (bin/wardstream.ts)', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bin/wardstream.ts'), 'token', '--role', 'nurse'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(ONE_LINE);
  });
});

describe('any thrown value is reported', () => {
  it('registry errors, system errors, bugs and non-errors', () => {
    expect(formatFailure(new WardstreamError('CONFIG_ERR_INVALID', 'PORT must be integer'))).toBe(
      'wardstream: CONFIG_ERR_INVALID: invalid configuration: PORT must be integer',
    );
    expect(formatFailure(Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:8080'), { code: 'EADDRINUSE' }))).toBe(
      'wardstream: EADDRINUSE: listen EADDRINUSE: address already in use 127.0.0.1:8080',
    );
    expect(formatFailure(new TypeError("Cannot read properties of undefined (reading 'stack')"))).toBe(
      "wardstream: CLI_ERR_UNEXPECTED: unexpected error: TypeError: Cannot read properties of undefined (reading 'stack')",
    );
    expect(formatFailure(undefined)).toBe('wardstream: CLI_ERR_UNEXPECTED: unexpected error: a non-error value was thrown: undefined');
    expect(formatFailure('postgres exited')).toBe('wardstream: CLI_ERR_UNEXPECTED: unexpected error: a non-error value was thrown: postgres exited');
    expect(formatFailure({ reason: 1 })).toBe('wardstream: CLI_ERR_UNEXPECTED: unexpected error: a non-error value was thrown: {"reason":1}');
    expect(formatFailure(new Error('outer', { cause: new Error('inner') }))).toBe(
      'wardstream: CLI_ERR_UNEXPECTED: unexpected error: Error: outer (cause: inner)',
    );
    expect(formatFailure(new WardstreamError('LOCAL_ERR_KAFKA', 'storage format failed:\n  line 1\n  line 2'))).toBe(
      'wardstream: LOCAL_ERR_KAFKA: the local Kafka could not be started: storage format failed:; line 1; line 2',
    );
    expect(describeFailure(null)).toEqual({ code: 'CLI_ERR_UNEXPECTED', message: 'unexpected error: a non-error value was thrown: null' });
  });
});
