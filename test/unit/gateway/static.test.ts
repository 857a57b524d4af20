import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/log.ts';
import { buildClientBundle } from '../../../gateway/bundle.ts';
import { loadStaticFiles } from '../../../gateway/http.ts';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'wardstream-static-test-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('static files', () => {
  it('buildClientBundle writes a directory the gateway serves: the page and the client as an ES module', async () => {
    const dir = await buildClientBundle(path.join(tmp(), 'public'));
    const lines: string[] = [];
    const files = loadStaticFiles(
      dir,
      createLogger('unit', 'warn', {}, (l) => lines.push(l)),
    );
    expect(files.page.toString()).toContain('<title>wardstream · ward dashboard</title>');
    const js = files.clientJs!.toString();
    expect(js).toContain('class');
    expect(js).toMatch(/export\s*\{\s*WardstreamClient\s*\}/);
    expect(js).not.toMatch(/^import /m); // type imports only: nothing left to resolve in the browser
    expect(lines).toEqual([]);
    expect(loadStaticFiles(pathToFileURL(dir), createLogger('unit', 'error')).clientJs?.equals(files.clientJs!)).toBe(true); // a file: URL works too
  });

  it('serves a placeholder page and no client from a directory without them, and says so', () => {
    const lines: string[] = [];
    const files = loadStaticFiles(
      tmp(),
      createLogger('unit', 'warn', {}, (l) => lines.push(l)),
    );
    expect(files.page.toString()).toContain('wardstream gateway');
    expect(files.clientJs).toBeNull();
    expect(lines.join('')).toContain('dashboard client bundle missing');
  });
});
