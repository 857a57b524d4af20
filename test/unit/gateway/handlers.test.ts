/**
 * The client message handlers, driven through a fake socket and the in-memory feed: the same
 * core, fan-out and handler table the gateway wires around uWS and Kafka.
 */
import { describe, expect, it } from 'vitest';
import { HANDLERS } from '../../../gateway/handlers.ts';
import { RATE_BURST, RATE_PER_SEC } from '../../../gateway/session.ts';
import { alert, harness, reading, status, token, metricValue } from './harness.ts';

// partitionForWard with 4 partitions: w1 and w4 share partition 3, w2 is on 2.
const P1 = 3;

describe('handler table', () => {
  it('has one handler per client message type', () => {
    expect(Object.keys(HANDLERS).sort()).toEqual(['ack', 'ping', 'refresh', 'silence', 'subscribe', 'unsubscribe']);
  });

  it('welcomes a connection, answers ping, refuses unknown and malformed messages', async () => {
    const h = await harness();
    const ws = h.connect({ sub: 'n1', wards: ['w1'] });
    expect(ws.last()).toMatchObject({ type: 'welcome', user: 'n1', role: 'nurse', wards: ['w1'] });
    await h.send(ws, { type: 'ping' });
    expect(ws.last()).toEqual({ type: 'pong' });
    await h.send(ws, { type: 'dance' });
    expect(ws.last()).toMatchObject({ type: 'error', code: 'GATEWAY_ERR_UNKNOWN_TYPE' });
    await h.send(ws, '{nope');
    expect(ws.last()).toMatchObject({ type: 'error', code: 'GATEWAY_ERR_BAD_REQUEST' });
  });
});

describe('subscribe', () => {
  it('without a position: subscribed, then a snapshot; joins the ward topics and gets live events', async () => {
    const h = await harness();
    h.feed.status(status({ patientId: 'p1', wardId: 'w1' }));
    const ws = h.connect();
    ws.clear();
    await h.send(ws, { type: 'subscribe', ward: 'w1' });
    const [sub, snap] = ws.messages();
    expect(sub).toMatchObject({
      type: 'subscribed',
      ward: 'w1',
      vitals: true,
      partition: P1,
      resumed: false,
      resynced: false,
      head: { vitals: '-1', alerts: '-1' },
    });
    expect(snap).toMatchObject({ type: 'snapshot', ward: 'w1', resynced: false, patients: [{ patientId: 'p1', vitals: { heartRate: { value: 72 } } }] });
    expect([...ws.topics].sort()).toEqual(['a/w1', 'v/w1']);
    h.feed.vitals(P1, reading({ patientId: 'p1', wardId: 'w1' }));
    h.feed.vitals(P1, reading({ patientId: 'p4', wardId: 'w4' })); // same partition, other ward: not for this client
    expect(ws.ofType('vitals')).toHaveLength(1);
    expect(ws.last()).toMatchObject({ type: 'vitals', position: { topic: 'vitals', partition: P1, offset: '0' } });
  });

  it('with a position: replays exactly the missed events of its ward, then live, without a snapshot', async () => {
    const h = await harness();
    h.feed.vitals(P1, reading({ patientId: 'p1', wardId: 'w1' })); // offset 0, seen
    h.feed.alert(P1, alert({ alertId: 'a1', patientId: 'p1', wardId: 'w1' })); // alerts offset 0, seen
    h.feed.vitals(P1, reading({ patientId: 'p1', wardId: 'w1', heartRate: 91 })); // 1, missed
    h.feed.vitals(P1, reading({ patientId: 'p4', wardId: 'w4' })); // 2, other ward
    h.feed.alert(P1, alert({ alertId: 'a2', patientId: 'p1', wardId: 'w1' })); // alerts 1, missed
    const ws = h.connect();
    ws.clear();
    await h.send(ws, { type: 'subscribe', ward: 'w1', since: { partition: P1, vitals: '0', alerts: '0' } });
    const msgs = ws.messages();
    expect(msgs[0]).toMatchObject({ type: 'subscribed', resumed: true, resynced: false, head: { vitals: '2', alerts: '1' } });
    expect(msgs.slice(1).map((m) => m.type)).toEqual(['alert', 'vitals']);
    expect((msgs[1]!.alert as { alertId: string }).alertId).toBe('a2');
    expect((msgs[2]!.reading as { heartRate: number }).heartRate).toBe(91);
    expect(await metricValue(h.metrics.resumed, { outcome: 'resumed' })).toBe(1);
  });

  it('with a position no longer held (or of another partition): resynced, with a snapshot flagged so', async () => {
    const h = await harness({ bufferPerPartition: 2 });
    for (let i = 0; i < 5; i++) h.feed.vitals(P1, reading({ patientId: 'p1', wardId: 'w1' }));
    const ws = h.connect();
    ws.clear();
    await h.send(ws, { type: 'subscribe', ward: 'w1', since: { partition: P1, vitals: '0', alerts: null } });
    expect(ws.messages()).toMatchObject([
      { type: 'subscribed', resumed: false, resynced: true, head: { vitals: '4' } },
      { type: 'snapshot', resynced: true },
    ]);
    ws.clear();
    await h.send(ws, { type: 'subscribe', ward: 'w1', since: { partition: 0, vitals: '3', alerts: '-1' } });
    expect(ws.messages()).toMatchObject([
      { type: 'subscribed', resumed: false, resynced: true },
      { type: 'snapshot', resynced: true },
    ]);
    expect(await metricValue(h.metrics.resumed, { outcome: 'resynced' })).toBe(2);
  });

  it('refuses a ward the token does not grant; admin gets alerts and occupancy, never vitals', async () => {
    const h = await harness();
    h.feed.status(status({ patientId: 'p1', wardId: 'w1' }));
    const ws = h.connect({ wards: ['w2'] });
    await h.send(ws, { type: 'subscribe', ward: 'w1' });
    expect(ws.last()).toMatchObject({ type: 'error', code: 'GATEWAY_ERR_FORBIDDEN' });
    expect(ws.topics.size).toBe(0);
    const admin = h.connect({ role: 'admin', wards: ['*'] });
    admin.clear();
    await h.send(admin, { type: 'subscribe', ward: 'w1' });
    expect(admin.messages()[0]).toMatchObject({ type: 'subscribed', vitals: false });
    const patients = [{ patientId: 'p1', bed: '1', updatedTs: 1_700_000_000_000, activeAlerts: [] }];
    expect(admin.last()).toEqual({ type: 'snapshot', ward: 'w1', resynced: false, patients });
    expect([...admin.topics]).toEqual(['a/w1']);
  });

  it('closes a connection whose token expired with 1008', async () => {
    const h = await harness();
    const ws = h.connect();
    h.clock.now += 601_000;
    await h.send(ws, { type: 'subscribe', ward: 'w1' });
    expect(ws.ended).toEqual({ code: 1008, reason: 'token expired' });
    expect(ws.topics.size).toBe(0);
  });

  it('unsubscribe leaves both topics and says so', async () => {
    const h = await harness();
    const ws = h.connect();
    await h.send(ws, { type: 'subscribe', ward: 'w1' });
    await h.send(ws, { type: 'unsubscribe', ward: 'w1' });
    expect(ws.last()).toEqual({ type: 'unsubscribed', ward: 'w1' });
    expect(ws.topics.size).toBe(0);
    expect(await metricValue(h.metrics.subscriptions)).toBe(0);
  });
});

describe('ack and silence', () => {
  it('writes an action for an open alert of a granted ward and confirms it only after the write', async () => {
    const h = await harness();
    h.feed.alert(P1, alert({ alertId: 'a1', patientId: 'p1', wardId: 'w1' }));
    const ws = h.connect({ sub: 'n1', wards: ['w1'] });
    await h.send(ws, { type: 'ack', alertId: 'a1' });
    await h.send(ws, { type: 'silence', alertId: 'a1', durationSec: 120 });
    expect(h.feed.actions).toMatchObject([
      { alertId: 'a1', patientId: 'p1', wardId: 'w1', action: 'ack', durationMs: null, user: 'n1', role: 'nurse', ts: h.clock.now },
      { alertId: 'a1', action: 'silence', durationMs: 120_000 },
    ]);
    const accepted = ws.ofType('action-accepted');
    expect(accepted).toEqual([
      { type: 'action-accepted', actionId: h.feed.actions[0]!.actionId, alertId: 'a1', action: 'ack' },
      { type: 'action-accepted', actionId: h.feed.actions[1]!.actionId, alertId: 'a1', action: 'silence' },
    ]);
  });

  it('authorizes on the alert’s ward, the role and a live token', async () => {
    const h = await harness();
    h.feed.alert(P1, alert({ alertId: 'a1', patientId: 'p1', wardId: 'w1' }));
    const other = h.connect({ wards: ['w2'] });
    await h.send(other, { type: 'ack', alertId: 'a1' });
    expect(other.last()).toMatchObject({ type: 'error', code: 'GATEWAY_ERR_FORBIDDEN', message: expect.stringContaining('w1') });
    const admin = h.connect({ role: 'admin', wards: ['*'] });
    await h.send(admin, { type: 'silence', alertId: 'a1', durationSec: 60 });
    expect(admin.last()).toMatchObject({ type: 'error', code: 'GATEWAY_ERR_FORBIDDEN', message: 'role admin cannot silence alerts' });
    const nurse = h.connect({ wards: ['w1'] });
    await h.send(nurse, { type: 'ack', alertId: 'nope' });
    expect(nurse.last()).toMatchObject({ type: 'error', code: 'GATEWAY_ERR_BAD_REQUEST', message: expect.stringContaining('no open alert nope') });
    h.feed.alert(P1, alert({ alertId: 'a1', patientId: 'p1', wardId: 'w1', state: 'inactive' }));
    await h.send(nurse, { type: 'ack', alertId: 'a1' });
    expect(nurse.last()).toMatchObject({ code: 'GATEWAY_ERR_BAD_REQUEST' }); // ended: no longer open
    h.clock.now += 601_000;
    await h.send(nurse, { type: 'ack', alertId: 'a1' });
    expect(nurse.ended).toMatchObject({ code: 1008 });
    expect(h.feed.actions).toEqual([]);
  });

  it('finds alerts raised before the gateway started in patient-status', async () => {
    const h = await harness();
    const alerts = [{ alertId: 'old', rule: 'hr-high', priority: 'high', state: 'latched', acked: false, onsetTs: 1 }] as const;
    h.feed.status(status({ patientId: 'p1', wardId: 'w1', alerts }));
    const ws = h.connect();
    await h.send(ws, { type: 'ack', alertId: 'old' });
    expect(h.feed.actions).toMatchObject([{ alertId: 'old', patientId: 'p1', wardId: 'w1' }]);
  });

  it('tells the client when the action could not be recorded', async () => {
    const h = await harness();
    h.feed.alert(P1, alert({ alertId: 'a1', patientId: 'p1', wardId: 'w1' }));
    h.feed.failWrites = new Error('broker down');
    const ws = h.connect();
    await h.send(ws, { type: 'ack', alertId: 'a1' });
    expect(ws.last()).toEqual({ type: 'error', code: 'GATEWAY_ERR_BAD_REQUEST', message: 'action could not be recorded; try again' });
    expect(ws.ofType('action-accepted')).toEqual([]);
  });
});

describe('refresh', () => {
  it('takes a token of the same user: keeps what it grants, leaves the wards it no longer grants', async () => {
    const h = await harness();
    const ws = h.connect({ sub: 'n1', wards: ['w1', 'w2'] });
    await h.send(ws, { type: 'subscribe', ward: 'w1' });
    await h.send(ws, { type: 'subscribe', ward: 'w2' });
    ws.clear();
    await h.send(ws, { type: 'refresh', token: await token({ sub: 'n1', wards: ['w2'], ttlSec: 3600 }) });
    expect(ws.messages()).toMatchObject([
      { type: 'unsubscribed', ward: 'w1' },
      { type: 'refreshed', role: 'nurse', wards: ['w2'] },
    ]);
    expect([...ws.topics].sort()).toEqual(['a/w2', 'v/w2']);
    expect(ws.getUserData().principal.wards).toEqual(['w2']);
    // A new role without vitals leaves the vitals topics but keeps the alerts.
    await h.send(ws, { type: 'refresh', token: await token({ sub: 'n1', role: 'admin', wards: ['w2'] }) });
    expect([...ws.topics]).toEqual(['a/w2']);
    expect(ws.getUserData().vitalsWards.size).toBe(0);
  });

  it('refuses a token of another user, or an invalid one, and keeps the current token', async () => {
    const h = await harness();
    const ws = h.connect({ sub: 'n1', wards: ['w1'] });
    const before = ws.getUserData().principal;
    await h.send(ws, { type: 'refresh', token: await token({ sub: 'someone-else', wards: ['w1'] }) });
    expect(ws.last()).toMatchObject({ type: 'error', code: 'GATEWAY_ERR_FORBIDDEN', message: expect.stringContaining('same user') });
    await h.send(ws, { type: 'refresh', token: 'not.a.valid-token' });
    expect(ws.last()).toMatchObject({ type: 'error', code: 'GATEWAY_ERR_UNAUTHORIZED' });
    expect(ws.getUserData().principal).toBe(before);
  });

  it('sends nothing to a connection that closed while the token was checked', async () => {
    const h = await harness();
    const ws = h.connect({ sub: 'n1' });
    ws.clear();
    const pending = h.send(ws, { type: 'refresh', token: await token({ sub: 'n1', wards: ['w1'] }) });
    h.close(ws);
    await pending;
    expect(ws.sent).toEqual([]);
  });
});

describe('rate limit', () => {
  it(`allows a burst of ${RATE_BURST}, then ${RATE_PER_SEC} messages per second`, async () => {
    const h = await harness();
    const ws = h.connect();
    ws.clear();
    for (let i = 0; i < RATE_BURST; i++) await h.send(ws, { type: 'ping' });
    expect(ws.ofType('pong')).toHaveLength(RATE_BURST);
    await h.send(ws, { type: 'ping' });
    expect(ws.last()).toMatchObject({ type: 'error', code: 'GATEWAY_ERR_RATE_LIMIT' });
    ws.clear();
    h.clock.now += 1000;
    for (let i = 0; i < RATE_PER_SEC + 1; i++) await h.send(ws, { type: 'ping' });
    expect(ws.ofType('pong')).toHaveLength(RATE_PER_SEC);
    expect(ws.ofType('error')).toHaveLength(1);
    expect(await metricValue(h.metrics.rejected, { code: 'GATEWAY_ERR_RATE_LIMIT' })).toBe(2);
  });
});

describe('fan-out', () => {
  it('forwards each alert eventId once and encodes every event with its position', async () => {
    const h = await harness();
    const ws = h.connect();
    await h.send(ws, { type: 'subscribe', ward: 'w1' });
    ws.clear();
    const a = alert({ alertId: 'a1', patientId: 'p1', wardId: 'w1', eventId: 'e1' });
    h.feed.alert(P1, a);
    h.feed.alert(P1, a); // the processors' redelivery after a restart: same eventId
    h.feed.alert(P1, a, { offset: '0' }); // a re-read after a seek
    expect(ws.messages()).toEqual([{ type: 'alert', position: { topic: 'alerts', partition: P1, offset: '0' }, alert: { id: 'a1', ...a } }]);
    expect(await metricValue(h.metrics.sent, { kind: 'alert' })).toBe(1);
  });
});
