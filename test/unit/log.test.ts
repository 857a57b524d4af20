import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger, redact } from '../../common/log.ts';

describe('structured logs', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('redacts tokens, secrets and patient ids, keeps correlation ids and error codes', () => {
    const out = redact({
      token: 'eyJ…',
      authorization: 'Bearer x',
      jwtSecret: 's',
      patientId: 'p1',
      correlationId: 'c-1',
      err: Object.assign(new Error('boom'), { code: 'X' }),
    });
    expect(out).toEqual({
      token: '[redacted]',
      authorization: '[redacted]',
      jwtSecret: '[redacted]',
      patientId: '[redacted]',
      correlationId: 'c-1',
      err: { name: 'Error', message: 'boom', code: 'X' },
    });
  });

  it('writes one JSON object per line with component, level and the redacted fields', () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      lines.push(String(s));
      return true;
    });
    const log = createLogger('bridge', 'info').child({ part: 'ingest' });
    log.debug('hidden at info');
    log.warn('dead-lettered device message', { reason: 'BRIDGE_ERR_NOT_JSON', correlationId: 'c-9', access_token: 'abc' });
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(j).toMatchObject({
      level: 'warn',
      component: 'bridge',
      part: 'ingest',
      msg: 'dead-lettered device message',
      correlationId: 'c-9',
      access_token: '[redacted]',
    });
  });

  it('masks credentials in URLs, in fields and messages, and logs errors without their stack', () => {
    const lines: string[] = [];
    const log = createLogger('sink', 'info', {}, (l) => {
      lines.push(l);
    });
    log.info('connected to postgres://wardstream:s3cret@127.0.0.1:5432/wardstream', {
      url: 'mqtts://dev:pa55@broker:8883',
      err: new Error('auth failed for postgres://u:pw@h/db'),
    });
    log.debug('hidden at info');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(/s3cret|pa55|:pw@|stack/);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'info',
      component: 'sink',
      msg: 'connected to postgres://wardstream:***@127.0.0.1:5432/wardstream',
      url: 'mqtts://dev:***@broker:8883',
      err: { name: 'Error', message: 'auth failed for postgres://u:***@h/db' },
    });
  });
});
