#!/usr/bin/env -S npx tsx
/**
 * The `wardstream` command (`wardstream --help`; `wardstream <command> --help` for a command's
 * options). Built to dist/bin/wardstream.js (`npm run build`); from source, tsx runs it.
 */
import { EXIT_FAILURE, formatFailure, run } from './cli.ts';
import { processContext } from './context.ts';

// What escapes a running command (a component failing after start) ends the same way as a
// failed command: one line, exit status 2.
const fail = (e: unknown) => {
  process.stderr.write(`${formatFailure(e)}\n`);
  process.exit(EXIT_FAILURE);
};
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

const status = await run(process.argv.slice(2), processContext);
if (status !== 0) process.exit(status);
