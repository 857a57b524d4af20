/**
 * The gateway's fan-out peer: Centrifugo v6, built from source on first use with
 * `go install github.com/centrifugal/centrifugo/v6@<version>` into benchmarks/peers/centrifugo/bin
 * (git-ignored: neither its code nor its binary is committed), run by benchmarks/connections.ts
 * next to the wardstream gateway with the same clients, wards, tokens and alerts.
 *
 * How it is wired, as a team would deploy it for this job:
 *  - its Kafka consumer (franz-go) reads a topic in "publication data mode": each record's value
 *    is published as is to the channels named in its `centrifugo-channels` header. Centrifugo
 *    cannot decode our Avro records, so the benchmark writes the same alerts as JSON to a topic
 *    of their own (`<prefix>alerts.centrifugo`, 8 partitions like `alerts`); the wardstream
 *    gateway reads `alerts` (Avro) as in production;
 *  - clients connect with the same HS256 tokens as the wardstream gateway (Centrifugo checks
 *    signature, exp, iss and aud, like ours) and subscribe to their ward's channel. Centrifugo
 *    lets any authenticated client subscribe (`allow_subscribe_for_client`); per-ward
 *    authorization there needs subscription tokens or a proxy to an app, which would add to its
 *    cost and is not included;
 *  - bound to 127.0.0.1, no history or presence, logs at warn.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CENTRIFUGO_VERSION = 'v6.9.1';
const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'centrifugo');
const binDir = path.join(dir, 'bin');

/** Path of the Centrifugo binary, built with the Go toolchain if missing (minutes, once). */
export function buildCentrifugo(): string {
  const bin = path.join(binDir, 'centrifugo');
  if (existsSync(bin)) return bin;
  console.error(`building Centrifugo ${CENTRIFUGO_VERSION} from source with go install (first run only)…`);
  mkdirSync(binDir, { recursive: true });
  const r = spawnSync('go', ['install', `github.com/centrifugal/centrifugo/v6@${CENTRIFUGO_VERSION}`], {
    stdio: 'inherit',
    env: { ...process.env, GOBIN: binDir, CGO_ENABLED: '0', GOFLAGS: '-trimpath' },
  });
  if (r.status !== 0 || !existsSync(bin))
    throw new Error(`go install of Centrifugo ${CENTRIFUGO_VERSION} failed (is Go on PATH and the Go module proxy reachable?)`);
  return bin;
}

export interface CentrifugoSetup {
  readonly port: number;
  readonly brokers: string;
  readonly topic: string;
  readonly group: string;
  readonly secret: string;
  readonly issuer: string;
  readonly audience: string;
}

/** Writes a Centrifugo v6 config file for the benchmark and returns its path. */
export function writeCentrifugoConfig(workDir: string, s: CentrifugoSetup): string {
  const config = {
    http_server: { address: '127.0.0.1', port: s.port },
    log: { level: 'warn' },
    health: { enabled: true },
    client: {
      token: { hmac_secret_key: s.secret, issuer: s.issuer, audience: s.audience },
      allowed_origins: ['http://127.0.0.1'],
    },
    channel: { without_namespace: { allow_subscribe_for_client: true } },
    consumers: [
      {
        name: 'alerts',
        enabled: true,
        type: 'kafka',
        kafka: { brokers: [s.brokers], topics: [s.topic], consumer_group: s.group, publication_data_mode: { enabled: true } },
      },
    ],
  };
  mkdirSync(workDir, { recursive: true });
  const file = path.join(workDir, 'centrifugo.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}
