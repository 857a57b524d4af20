import { describe, expect, it } from 'vitest';
import { beginShutdown, type Part, type PartName, SHUTDOWN_ORDER, shutdownSequence, shuttingDown, stopAll } from '../../bin/shutdown.ts';
import { createLogger } from '../../common/log.ts';

const capture = () => {
  const lines: Record<string, unknown>[] = [];
  return {
    lines,
    log: createLogger('test', 'info', {}, (l) => {
      lines.push(JSON.parse(l) as Record<string, unknown>);
    }),
  };
};

describe('shutdown order', () => {
  it('stops traffic first, then what it feeds, storage and the local Kafka last, whatever the start order', () => {
    const started: PartName[] = ['kafka', 'bridge', 'processor', 'gateway', 'history', 'sink', 'metrics', 'simulator'];
    const seq = shutdownSequence(started.map((part) => ({ part, close: async () => {} }))).map((p) => p.part);
    expect(seq).toEqual(['simulator', 'metrics', 'sink', 'gateway', 'processor', 'bridge', 'history', 'kafka']);
    expect(seq).toEqual(SHUTDOWN_ORDER.map((s) => s.part));
    // A single component keeps only its own parts, in the same relative order.
    expect(
      shutdownSequence([
        { part: 'history', close: async () => {} },
        { part: 'sink', close: async () => {} },
        { part: 'metrics', close: async () => {} },
      ]).map((p) => p.part),
    ).toEqual(['metrics', 'sink', 'history']);
  });

  it('every part has a reason', () => {
    for (const s of SHUTDOWN_ORDER) expect(s.why.length).toBeGreaterThan(10);
  });

  it('runs each part to completion before the next, and moves on past a failing or hanging part', async () => {
    const { lines, log } = capture();
    const events: string[] = [];
    const part = (name: PartName, close: () => Promise<void>): Part => ({
      part: name,
      close: async () => {
        events.push(`${name}:begin`);
        await close();
        events.push(`${name}:end`);
      },
    });
    await stopAll(
      [
        part('history', async () => {}),
        part('sink', () => Promise.reject(new Error('commit failed'))),
        part('gateway', () => new Promise<void>(() => {})), // never stops
        part('simulator', () => new Promise<void>((r) => setImmediate(r))),
      ],
      log,
      20,
    );
    expect(events).toEqual(['simulator:begin', 'simulator:end', 'sink:begin', 'gateway:begin', 'history:begin', 'history:end']);
    expect(lines.filter((l) => l.msg === 'error while stopping').map((l) => l.part)).toEqual(['sink']);
    expect(lines.filter((l) => l.msg === 'did not stop in time; left behind').map((l) => [l.part, l.waitedMs])).toEqual([['gateway', 20]]);
    expect(lines.filter((l) => l.msg === 'stopped').map((l) => l.part)).toEqual(['simulator', 'sink', 'history']);
  });

  it('the first signal begins the shutdown; later ones are ignored', () => {
    expect(shuttingDown()).toBeNull();
    expect(beginShutdown('SIGINT')).toBe(true);
    expect(beginShutdown('SIGTERM')).toBe(false);
    expect(shuttingDown()).toBe('SIGINT');
  });
});
