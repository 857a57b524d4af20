/**
 * The history sink's pure parts, without PostgreSQL or Kafka: a batch's records and their rows,
 * idempotency keys, what a failed write means, and how a failing batch is retried, split and
 * dead-lettered.
 */
import { describe, expect, it } from 'vitest';
import { WardstreamError } from '../../common/errors.ts';
import { parseAuditKey, pseudonym } from '../../history/pseudonym.ts';
import { actionColumns, alertColumns, auditColumns, daysOf, decodeBatch, rowKey, sliceDecoded } from '../../history/sink/batch.ts';
import { deadLetterOf } from '../../history/sink/dead-letter.ts';
import { classifyWriteError, sqlStateOf } from '../../history/sink/failures.ts';
import { backoffMs, DEFAULT_RETRY, type StoreIo, storeOrIsolate } from '../../history/sink/retry.ts';
import { localCodec } from '../../schemas/codec.ts';
import type { AlertAction, AlertEvent, VitalsReading } from '../../schemas/records.ts';

const codec = localCodec();
const T = Date.UTC(2026, 10, 26, 23, 59, 59);
const reading = (seq: number, o: Partial<VitalsReading> = {}): VitalsReading => ({
  patientId: 'MRN-1',
  wardId: 'w1',
  bed: null,
  deviceId: 'd1',
  seq,
  ts: T + seq,
  receivedAt: T + seq,
  heartRate: 72,
  spo2: 97,
  respRate: null,
  systolicBp: null,
  diastolicBp: null,
  temperature: null,
  consciousness: 'A',
  onOxygen: null,
  correlationId: `c${seq}`,
  ...o,
});
const alert: AlertEvent = {
  eventId: 'e1',
  alertId: 'a1',
  patientId: 'MRN-1',
  wardId: 'w1',
  bed: '3',
  rule: 'hr-high',
  priority: 'high',
  phase: 'start',
  state: 'active',
  parameter: 'heartRate',
  value: 140,
  threshold: 130,
  onsetTs: T - 10_000,
  eventTs: T,
  message: 'm',
  ruleVersion: 'v1',
  correlationId: 'c',
  details: { total: 3 },
  notify: ['nurse', 'doctor'],
  actor: null,
  actorRole: null,
  groupedWith: null,
  silencedUntil: null,
};
const action: AlertAction = {
  actionId: 'x1',
  alertId: 'a1',
  patientId: 'MRN-2',
  wardId: 'w1',
  action: 'silence',
  durationMs: 120_000,
  user: 'n1',
  role: 'nurse',
  ts: T + 5,
};
/** An error as node-postgres reports one from the server. */
const pgError = (code: string, message = 'refused') => Object.assign(new Error(message), { code, severity: 'ERROR' });

describe('sink batches', () => {
  it("decode in order, skip tombstones, report undecodable records, and remember each record's message", () => {
    const bad: number[] = [];
    const d = decodeBatch(codec, 'vitals', [codec.encode('vitals', reading(1)), null, Buffer.from('nope'), codec.encode('vitals', reading(2))], (i) =>
      bad.push(i),
    );
    expect(d.records.map((r) => r.seq)).toEqual([1, 2]);
    expect(d.at).toEqual([0, 3]);
    expect(bad).toEqual([2]);
    const s = sliceDecoded(d, 1, 2);
    expect([s.records[0]!.seq, s.at]).toEqual([2, [3]]);
  });

  it('key rows by their primary keys, so that a redelivered record maps to the same row', () => {
    expect(rowKey('vitals', reading(7))).toBe(`MRN-1|${T + 7}|d1|7`);
    expect(rowKey('vitals', { ...reading(7), heartRate: 99, correlationId: 'other' })).toBe(rowKey('vitals', reading(7)));
    expect(rowKey('vitals', reading(7, { deviceId: 'd2' }))).not.toBe(rowKey('vitals', reading(7)));
    expect([rowKey('alert', alert), rowKey('action', action)]).toEqual(['e1', 'x1']);
  });

  it('find the UTC days (partitions) a batch touches', () => {
    expect([...daysOf([reading(0), reading(1), reading(2000)])]).toEqual([Date.UTC(2026, 10, 26), Date.UTC(2026, 10, 27)]);
  });

  it('map records to the insert columns, one array per column, keys first', () => {
    const a = alertColumns([alert, { ...alert, eventId: 'e2', details: null }]);
    expect(a).toHaveLength(23);
    expect(a[0]).toEqual(['e1', 'e2']);
    expect(a[17]).toEqual(['{"total":3}', null]);
    expect(a[18]).toEqual(['nurse,doctor', 'nurse,doctor']);
    const x = actionColumns([action]);
    expect(x).toEqual([['x1'], ['a1'], ['MRN-2'], ['w1'], ['silence'], [120_000], ['n1'], ['nurse'], [T + 5]]);
  });

  it('write audit rows with pseudonyms, never the patient id', () => {
    const key = parseAuditKey('k1', 'a1'.repeat(32));
    const cols = auditColumns(key, [alert], [action]);
    expect(cols).toHaveLength(15);
    expect(cols[0]).toEqual(['e1', 'x1']);
    expect(cols[1]).toEqual(['alert-transition', 'clinician-action']);
    expect(cols[4]).toEqual([pseudonym(key, 'MRN-1'), pseudonym(key, 'MRN-2')]);
    expect(JSON.stringify(cols)).not.toMatch(/MRN-/);
  });
});

describe('sink write failures', () => {
  it('connection loss, an unavailable server and lock conflicts are retriable', () => {
    for (const e of [
      pgError('08006'),
      pgError('57P01'),
      pgError('53300'),
      pgError('40P01'),
      pgError('55P03'),
      pgError('XX000'),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
    ]) {
      const w = classifyWriteError(e);
      expect([w.code, w.retriable]).toEqual(['HISTORY_ERR_DB_UNAVAILABLE', true]);
      expect(w.cause).toBe(e);
    }
  });

  it('a missing table or privilege waits for an operator; data errors and unknown errors are not retriable', () => {
    expect([classifyWriteError(pgError('42P01')).code, classifyWriteError(pgError('42501')).retriable]).toEqual(['HISTORY_ERR_DB_SETUP', true]);
    for (const c of ['22008', '22021', '23502', '23514'])
      expect([classifyWriteError(pgError(c)).code, classifyWriteError(pgError(c)).retriable]).toEqual(['HISTORY_ERR_ROW_REFUSED', false]);
    for (const e of [pgError('0A000'), new RangeError('out of range'), 'a string'])
      expect([classifyWriteError(e).code, classifyWriteError(e).retriable]).toEqual(['HISTORY_ERR_WRITE_FAILED', false]);
    const decode = new WardstreamError('HISTORY_ERR_DECODE', 'x');
    expect(classifyWriteError(decode)).toBe(decode);
  });

  it("keep the SQLSTATE, and only PostgreSQL's (a 5-letter system error code is not one)", () => {
    const w = classifyWriteError(pgError('22008', 'date/time field value out of range: "0000-01-01"'));
    expect(w.message).toMatch(/^PostgreSQL refused the row: SQLSTATE 22008: date\/time field value out of range/);
    expect(sqlStateOf(w)).toBe('22008');
    expect(sqlStateOf(Object.assign(new Error('x'), { code: 'EPIPE' }))).toBeNull();
  });
});

/** A fake database: refuses every write containing a record of `bad`; fails the first `down` writes with a lost connection. */
function fakeDb(n: number, bad: ReadonlySet<number>, down = 0, alive = () => true) {
  const stored = new Set<number>();
  const writes: [number, number][] = [];
  const failures: (string | number)[] = [];
  const pauses: number[] = [];
  let lost = down;
  const io: StoreIo = {
    async write(lo, hi) {
      writes.push([lo, hi]);
      if (lost-- > 0) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      for (let i = lo; i < hi; i++) if (bad.has(i)) throw pgError('22008');
      for (let i = lo; i < hi; i++) stored.add(i);
    },
    async pause(ms) {
      pauses.push(ms);
      return alive();
    },
    failed(err, w) {
      failures.push(w.attempt ?? err.code);
    },
  };
  return { io, stored, writes, failures, pauses, all: () => Array.from({ length: n }, (_, i) => i).filter((i) => !bad.has(i)) };
}

describe('sink retries and dead letters', () => {
  const policy = { attempts: 3, initialBackoffMs: 100, maxBackoffMs: 400 };

  it('a batch that succeeds is one write', async () => {
    const db = fakeDb(10, new Set());
    expect(await storeOrIsolate(10, db.io, policy)).toEqual([]);
    expect(db.writes).toEqual([[0, 10]]);
  });

  it('waits out a lost connection however often it fails, and never dead-letters for it', async () => {
    const db = fakeDb(10, new Set(), 12);
    expect(await storeOrIsolate(10, db.io, policy)).toEqual([]);
    expect([...db.stored].sort((a, b) => a - b)).toEqual(db.all());
    expect(db.failures).toEqual(Array(12).fill('HISTORY_ERR_DB_UNAVAILABLE'));
    expect(db.pauses.slice(0, 4)).toEqual([100, 200, 400, 400]);
  });

  it('retries a refused batch `attempts` times, then isolates exactly the refused records and stores all the others', async () => {
    for (const bad of [[0], [7], [99], [3, 4], [10, 50, 51, 98]]) {
      const db = fakeDb(100, new Set(bad));
      const refused = await storeOrIsolate(100, db.io, policy);
      expect(refused!.map((r) => r.index)).toEqual(bad);
      expect(refused!.every((r) => r.error.code === 'HISTORY_ERR_ROW_REFUSED')).toBe(true);
      expect([...db.stored].sort((a, b) => a - b)).toEqual(db.all());
      expect(db.failures.slice(0, 3)).toEqual([1, 2, 3]);
      expect(db.writes.slice(0, 3)).toEqual([
        [0, 100],
        [0, 100],
        [0, 100],
      ]);
      expect(db.writes.length - 3).toBeLessThanOrEqual(2 * bad.length * Math.ceil(Math.log2(100)));
    }
  });

  it('a single refused record is dead-lettered after its attempts', async () => {
    const db = fakeDb(1, new Set([0]));
    expect((await storeOrIsolate(1, db.io, { ...policy, attempts: 1 }))!.map((r) => r.index)).toEqual([0]);
    expect(db.writes).toEqual([[0, 1]]);
  });

  it('abandons the batch (nothing to commit) when the partition is revoked or the sink stops while it waits', async () => {
    let live = 1; // the first wait between attempts passes, the second finds the batch revoked
    const db = fakeDb(10, new Set([5]), 0, () => live-- > 0);
    expect(await storeOrIsolate(10, db.io, policy)).toBeNull();
    const down = fakeDb(10, new Set(), 100, () => false);
    expect(await storeOrIsolate(10, down.io, policy)).toBeNull();
    expect(down.writes).toHaveLength(1);
  });

  it('back off from the initial wait, doubling, up to the cap', () => {
    expect([0, 1, 2, 5, 10].map((k) => backoffMs(DEFAULT_RETRY, k))).toEqual([100, 200, 400, 3200, 5000]);
  });

  it('a dead letter carries the reason, the SQLSTATE, where the record was read and its original bytes', () => {
    const r = reading(3);
    const value = codec.encode('vitals', r);
    const err = classifyWriteError(pgError('22008', 'date/time field value out of range'));
    const dl = deadLetterOf('vitals', r, { topic: 'p.vitals', partition: 2, offset: '41', value }, err, T);
    expect(dl).toEqual({
      reason: 'HISTORY_ERR_ROW_REFUSED',
      detail: 'PostgreSQL refused the row: SQLSTATE 22008: date/time field value out of range',
      sqlState: '22008',
      topic: 'p.vitals',
      partition: 2,
      offset: 41,
      rowKey: `MRN-1|${T + 3}|d1|3`,
      payload: value,
      failedAt: T,
      correlationId: 'c3',
    });
    const back = codec.decode('historyDeadLetter', codec.encode('historyDeadLetter', dl));
    expect({ ...back, payload: null }).toEqual({ ...dl, payload: null });
    expect(codec.decode('vitals', back.payload)).toEqual(r);
    expect(deadLetterOf('action', action, { topic: 'p.alert-actions', partition: 0, offset: '0', value }, err, T).correlationId).toBeNull();
  });
});
