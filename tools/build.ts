/**
 * `npm run build`: everything the runtime needs, in dist/, so that
 * `node dist/bin/wardstream.js <command>` runs without tsx:
 *
 *   1. tsc -p tsconfig.build.json     the runtime folders, imports rewritten .ts → .js
 *   2. buildClientBundle              gateway/public/* and the bundled protocol client → dist/gateway/public
 *   3. ASSETS                         the files the code reads at run time, beside the compiled
 *                                     modules that read them (each finds them relative to its
 *                                     import.meta.url, the same from source and from dist/)
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildClientBundle } from '../gateway/bundle.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');

/** Run-time files, from the source tree to the same place under dist/ (a directory: all of it). */
export const ASSETS: readonly { readonly from: string; readonly readBy: string; readonly filter?: RegExp }[] = [
  { from: 'rules', readBy: 'processors/rulebook.ts (DEFAULT_RULE_FILE)' },
  { from: 'schemas', filter: /\.avsc$|^registry\.json$/, readBy: 'schemas/codec.ts' },
  { from: 'history/migrations', readBy: 'history/db.ts (MIGRATIONS_DIR)' },
  { from: 'deploy/local/kafka/pom.xml', readBy: 'deploy/local/kafka/local-kafka.ts (mvn)' },
  { from: 'deploy/local/kafka/log4j2.properties', readBy: 'deploy/local/kafka/local-kafka.ts (the broker JVM)' },
];

function step(what: string): void {
  process.stderr.write(`build: ${what}\n`);
}

function fail(why: string): never {
  process.stderr.write(`build failed: ${why}\n`);
  process.exit(1);
}

export async function buildDist(): Promise<void> {
  rmSync(DIST, { recursive: true, force: true });
  step('tsc -p tsconfig.build.json');
  const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
  if (tsc.status !== 0) fail(`tsc exited with ${tsc.status}`);

  step("gateway/public + esbuild gateway/client.ts → dist/gateway/public (the gateway's static directory)");
  await buildClientBundle(path.join(DIST, 'gateway/public'));

  for (const a of ASSETS) {
    const src = path.join(ROOT, a.from);
    if (!existsSync(src)) fail(`asset ${a.from} (read by ${a.readBy}) is missing`);
    if (a.filter) {
      for (const f of readdirSync(src)) if (a.filter.test(f)) cpSync(path.join(src, f), path.join(DIST, a.from, f));
    } else {
      cpSync(src, path.join(DIST, a.from), { recursive: true });
    }
  }
  step(`copied ${ASSETS.map((a) => a.from).join(', ')}`);

  // The source entry runs under tsx (its shebang); the compiled one under node.
  const entry = path.join(DIST, 'bin/wardstream.js');
  writeFileSync(entry, readFileSync(entry, 'utf8').replace(/^#!.*\n/, '#!/usr/bin/env node\n'));
  chmodSync(entry, 0o755);
  step('dist/bin/wardstream.js ready');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildDist().catch((e: unknown) => fail(e instanceof Error ? e.message : String(e)));
}
