/**
 * Builds the dashboard's static directory: `gateway/public/*` copied into `outDir`, and the
 * protocol client gateway/client.ts bundled (esbuild, ES module, es2020) to `outDir/client.js`.
 * The result is what `startGateway({ staticDir })` serves. Called by the build (into
 * dist/gateway/public) and by tests that load the page; it runs from the source tree, never at
 * gateway start.
 */
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { WardstreamError } from '../common/errors.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Writes `outDir` (created when missing) and returns it. */
export async function buildClientBundle(outDir: string): Promise<string> {
  try {
    await mkdir(outDir, { recursive: true });
    const publicDir = path.join(here, 'public');
    for (const f of await readdir(publicDir, { withFileTypes: true })) {
      if (f.isFile()) await copyFile(path.join(publicDir, f.name), path.join(outDir, f.name));
    }
    await build({
      entryPoints: [path.join(here, 'client.ts')],
      outfile: path.join(outDir, 'client.js'),
      bundle: true,
      format: 'esm',
      target: 'es2020',
      logLevel: 'silent',
    });
    return outDir;
  } catch (e) {
    throw new WardstreamError('GATEWAY_ERR_BUNDLE', `into ${outDir}: ${(e as Error).message}`, { cause: e });
  }
}
