/**
 * The `wardstream` command line: one commander program, one module per command under
 * bin/commands/. Every failure, whatever was thrown, ends as one line on stderr,
 *
 *   wardstream: CODE: message
 *
 * and exit status 2 (never a stack trace): CODE is the registry code of a WardstreamError
 * (CLI_ERR_USAGE for a bad command line), a system error's code (ECONNREFUSED, EADDRINUSE, …),
 * or CLI_ERR_UNEXPECTED for anything else.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { WardstreamError } from '../common/errors.ts';
import { registerAdmit } from './commands/admit.ts';
import { registerBridge } from './commands/bridge.ts';
import { registerDischarge } from './commands/discharge.ts';
import { registerGateway } from './commands/gateway.ts';
import { registerProcessor } from './commands/processor.ts';
import { registerReplay } from './commands/replay.ts';
import { registerSimulate } from './commands/simulate.ts';
import { registerSink } from './commands/sink.ts';
import { registerStart } from './commands/start.ts';
import { registerToken } from './commands/token.ts';
import type { CliContext } from './context.ts';

export const EXIT_FAILURE = 2;

/** The package version, from the package.json above this module (source tree or dist/). */
export function version(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'wardstream' && pkg.version) return pkg.version;
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

export function createProgram(ctx: CliContext): Command {
  const program = new Command('wardstream')
    .description(
      'Real-time patient-vitals streaming: MQTT → Kafka → clinical processors → WebSocket ward dashboards.\nConfiguration is read from environment variables (README.md, docs/operations.md).',
    )
    .version(version(), '-V, --version')
    .helpCommand(true)
    // Commander reports through exceptions (turned into one line by `run`), never by exiting.
    .exitOverride()
    .configureOutput({ writeOut: ctx.out, writeErr: ctx.err, outputError: () => {} })
    .showSuggestionAfterError(true);
  // Order of `wardstream --help`.
  for (const register of [
    registerStart,
    registerBridge,
    registerProcessor,
    registerGateway,
    registerSink,
    registerReplay,
    registerAdmit,
    registerDischarge,
    registerToken,
    registerSimulate,
  ]) {
    register(program, ctx);
  }
  return program;
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, '; ').trim();

/** The code and message of any thrown value. */
export function describeFailure(e: unknown): { code: string; message: string } {
  if (e instanceof WardstreamError) return { code: e.code, message: e.message };
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    const cause = e.cause instanceof Error && !e.message.includes(e.cause.message) ? ` (cause: ${e.cause.message})` : '';
    if (typeof code === 'string' && /^E[A-Z0-9_]+$/.test(code)) return { code, message: `${e.message}${cause}` };
    return { code: 'CLI_ERR_UNEXPECTED', message: `unexpected error: ${e.name}: ${e.message}${cause}` };
  }
  let text: string;
  try {
    text = typeof e === 'string' ? e : e === undefined ? 'undefined' : (JSON.stringify(e) ?? String(e));
  } catch {
    text = String(e);
  }
  return { code: 'CLI_ERR_UNEXPECTED', message: `unexpected error: a non-error value was thrown: ${text}` };
}

/** `wardstream: CODE: message`, on one line. */
export function formatFailure(e: unknown): string {
  const { code, message } = describeFailure(e);
  return `wardstream: ${code}: ${oneLine(message)}`;
}

/** Commander's own errors ("error: unknown option '--x'") as CLI_ERR_USAGE, naming the help to read. */
function usageError(e: CommanderError, argv: readonly string[], program: Command): WardstreamError {
  const name = argv.find((a) => !a.startsWith('-'));
  const sub = name ? program.commands.find((c) => c.name() === name) : undefined;
  const text = e.message.replace(/^error: /, '');
  return new WardstreamError('CLI_ERR_USAGE', `${text} (see wardstream ${sub ? `${sub.name()} ` : ''}--help)`);
}

/**
 * Runs the command line; resolves with the exit status once the command has done its work
 * (long-running commands resolve once started: their servers keep the process alive). Writes
 * the one-line failure to `ctx.err`.
 */
export async function run(argv: readonly string[], ctx: CliContext): Promise<number> {
  const program = createProgram(ctx);
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return 0;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError && e.exitCode === 0) return 0; // --help, --version
    ctx.err(`${formatFailure(e instanceof CommanderError ? usageError(e, argv, program) : e)}\n`);
    return EXIT_FAILURE;
  }
}
