/**
 * The embedded MQTT broker (aedes, MQTT 3.1.1) with the bridge wired into its publish path.
 *
 * Delivery guarantee: aedes calls `authorizePublish` before it writes the PUBACK of a QoS 1
 * publish. For vitals topics we call back only after Kafka has acknowledged the record, so a
 * device's PUBACK means "durable in Kafka". If Kafka fails, the callback errs, aedes drops the
 * connection without a PUBACK, and the device resends on reconnect (its in-flight store).
 * aedes dispatches all packets of one socket read concurrently (lib/client.js `enqueue`), so a
 * device's pipelined publishes share one Kafka batch instead of one round trip each.
 */

import net from 'node:net';
import { Aedes } from 'aedes';
import type { Logger } from '../common/log.ts';
import type { Ingestor } from './ingest.ts';

export interface EmbeddedBroker {
  readonly url: string;
  readonly port: number;
  connectedClients(): number;
  close(): Promise<void>;
}

const isVitalsTopic = (t: string) => t.startsWith('patients/') || t.startsWith('wards/');

export async function startEmbeddedBroker(o: { host: string; port: number; ingestor: Ingestor | null; log: Logger }): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker({
    id: 'wardstream-embedded',
    queueLimit: 10_000,
    drainTimeout: 30_000,
    authorizePublish: (client, packet, callback) => {
      if (!o.ingestor || !client || !isVitalsTopic(packet.topic)) return callback(null);
      o.ingestor.ingest(packet.topic, packet.payload as Buffer).then(
        () => callback(null),
        (err: Error) => callback(err),
      );
    },
  });
  broker.on('clientError', (_client, err) => o.log.debug('mqtt client error', { err }));
  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  o.log.info('embedded MQTT broker listening', { url: `mqtt://${o.host}:${port}` });
  return {
    url: `mqtt://${o.host}:${port}`,
    port,
    connectedClients: () => broker.connectedClients,
    async close() {
      await new Promise<void>((r) => broker.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
