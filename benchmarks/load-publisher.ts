/**
 * Load generator, run as a separate process (child_process.fork) so it does not share a
 * core's event loop with what it measures. Commands arrive over IPC:
 *   {cmd: 'burst', url, total, connections, prefix}  publish `total` QoS 1 readings as fast as
 *       the connections allow; report {acked, ms} when every PUBACK is in
 *   {cmd: 'paced', url, rate, seconds, wards, patients, prefix, alertEvery}  publish at `rate`
 *       readings/s with ts = now (device time = publish time), report {published, startedAt}
 *       (epoch ms of the first publish, after connecting); every
 *       `alertEvery`-th patient is tachycardic (heart rate 140: an alert once sustained 10 s)
 */
import mqtt from 'mqtt';

interface Burst {
  cmd: 'burst';
  url: string;
  total: number;
  connections: number;
  prefix: string;
}
interface Paced {
  cmd: 'paced';
  url: string;
  rate: number;
  seconds: number;
  wards: number;
  patients: number;
  prefix: string;
  alertEvery?: number;
}

async function clients(url: string, n: number, prefix: string): Promise<mqtt.MqttClient[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      mqtt.connectAsync(url, { clientId: `${prefix}-load-${i}-${process.pid}`, protocolVersion: 4, clean: true, reconnectPeriod: 500 }),
    ),
  );
}

async function burst(m: Burst): Promise<void> {
  const cs = await clients(m.url, m.connections, m.prefix);
  const per = Math.ceil(m.total / m.connections);
  let acked = 0;
  const t0 = performance.now();
  await Promise.all(
    cs.map(async (c, i) => {
      const pending: Promise<unknown>[] = [];
      for (let s = 1; s <= per && i * per + s <= m.total; s++) {
        const pid = `${m.prefix}p${i}-${s % 50}`;
        const payload = JSON.stringify({ deviceId: `${m.prefix}d${i}-${s % 50}`, seq: s, ts: Date.now(), vitals: { heartRate: 70 + (s % 20), spo2: 97 } });
        pending.push(
          c.publishAsync(`wards/w${i % 8}/patients/${pid}/vitals`, payload, { qos: 1 }).then(() => {
            acked++;
          }),
        );
        if (pending.length % 2000 === 0) await new Promise((r) => setImmediate(r)); // let acks in
      }
      await Promise.all(pending);
    }),
  );
  const ms = performance.now() - t0;
  await Promise.all(cs.map((c) => c.endAsync()));
  process.send!({ acked, ms });
}

async function paced(m: Paced): Promise<void> {
  const cs = await clients(m.url, 4, m.prefix);
  const tickMs = 10;
  const perTick = m.rate / (1000 / tickMs);
  const seqs = new Map<number, number>();
  let published = 0;
  let carry = 0;
  const t0 = Date.now();
  let next = t0;
  while (Date.now() - t0 < m.seconds * 1000) {
    carry += perTick;
    const n = Math.floor(carry);
    carry -= n;
    for (let k = 0; k < n; k++) {
      const p = (published + k) % m.patients;
      const seq = (seqs.get(p) ?? 0) + 1;
      seqs.set(p, seq);
      const hr = m.alertEvery && p % m.alertEvery === 0 ? 140 : 70 + (seq % 20);
      const payload = JSON.stringify({ deviceId: `${m.prefix}dev${p}`, seq, ts: Date.now(), vitals: { heartRate: hr, spo2: 97, respRate: 16 } });
      void cs[p % cs.length]!.publishAsync(`wards/w${p % m.wards}/patients/${m.prefix}p${p}/vitals`, payload, { qos: 1 });
    }
    published += n;
    next += tickMs;
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await Promise.all(cs.map((c) => c.endAsync()));
  process.send!({ published, startedAt: t0 });
}

process.on('message', (m: Burst | Paced) => {
  (m.cmd === 'burst' ? burst(m) : paced(m)).then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
});
