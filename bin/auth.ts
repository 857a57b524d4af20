/** The token keys of the configuration, for the gateway and for signing development tokens. */
import { readFileSync } from 'node:fs';
import type { Config } from '../common/config.ts';
import { WardstreamError } from '../common/errors.ts';
import type { AuthConfig } from '../gateway/auth.ts';

function readKeyFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new WardstreamError('CONFIG_ERR_INVALID', `${what}: cannot read ${file} (${(e as Error).message})`);
  }
}

export function authOf(config: Config): AuthConfig {
  const base = { issuer: config.jwtIssuer, audience: config.jwtAudience };
  if (config.jwksFile) {
    const text = readKeyFile(config.jwksFile, 'WARDSTREAM_JWKS_FILE');
    try {
      return { ...base, jwks: JSON.parse(text) as AuthConfig['jwks'] };
    } catch (e) {
      throw new WardstreamError('CONFIG_ERR_INVALID', `WARDSTREAM_JWKS_FILE is not JSON: ${(e as Error).message}`);
    }
  }
  if (config.jwtPublicKeyFile)
    return { ...base, publicKey: { pem: readKeyFile(config.jwtPublicKeyFile, 'WARDSTREAM_JWT_PUBLIC_KEY_FILE'), alg: config.jwtAlg } };
  if (!config.jwtSecret) throw new WardstreamError('CONFIG_ERR_INVALID', 'WARDSTREAM_JWT_SECRET is not set (npm start prints a development secret)');
  return { ...base, secret: config.jwtSecret };
}
