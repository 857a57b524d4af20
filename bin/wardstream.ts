#!/usr/bin/env -S npx tsx
import { createLogger } from '../common/log.ts';
/**
 * The `wardstream` command (`wardstream --help`; `wardstream <command> --help` for a command's
 * options). Built to dist/bin/wardstream.js (`npm run build`); from source, tsx runs it.
 */
import { EXIT_FAILURE, formatFailure, run } from './cli.ts';
import { processContext } from './context.ts';
import { shuttingDown } from './shutdown.ts';

// What escapes a running command (a component failing after start) ends the same way as a
// failed command: one line, exit status 2. Except while the process is stopping on a signal:
// Ctrl-C in a terminal reaches the whole process group, so the embedded PostgreSQL may drop its
// connections at the same moment; the signal is seen in the same event-loop turn (hence the
// setImmediate), and what its parts' dependencies throw then is logged, not fatal.
const fail = (e: unknown) => {
  setImmediate(() => {
    const signal = shuttingDown();
    if (signal) {
      createLogger('wardstream').warn('error while stopping', { signal, err: e instanceof Error ? e : new Error(String(e)) });
      return;
    }
    process.stderr.write(`${formatFailure(e)}\n`);
    process.exit(EXIT_FAILURE);
  });
};
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

const status = await run(process.argv.slice(2), processContext);
if (status !== 0) process.exit(status);
