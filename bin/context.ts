/**
 * What a command gets from the process: its environment and where it prints. Injected, so
 * the command line's failure modes are unit-tested in-process (test/unit/cli.test.ts).
 */
export interface CliContext {
  readonly env: NodeJS.ProcessEnv;
  /** Standard output: results (a token, a report table, the dashboard URL). */
  readonly out: (text: string) => void;
  /** Standard error: progress and the one-line failure. Logs go to the JSON logger. */
  readonly err: (text: string) => void;
}

export const processContext: CliContext = {
  env: process.env,
  out: (t) => {
    process.stdout.write(t);
  },
  err: (t) => {
    process.stderr.write(t);
  },
};
