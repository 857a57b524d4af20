/**
 * Token checks per RFC 8725 (JWT Best Current Practices):
 *  - the accepted algorithm list is fixed by the server's key configuration, never by the
 *    token's `alg` header: HS256 with WARDSTREAM_JWT_SECRET, or RS256/ES256 with a public key
 *    (PEM) or a local JWKS file — never both kinds at once, so a token "signed" with HS256 using
 *    the public key as secret (algorithm confusion, §2.1) is refused, as is `alg: none`;
 *  - `exp` is required, `iss` and `aud` must match exactly (§3.8, §3.9);
 *  - claims are validated for shape: `role` one of ROLES, `wards` a list of ward ids or ["*"].
 * Tokens are never logged.
 */
import { createLocalJWKSet, importSPKI, type JSONWebKeySet, type JWTVerifyGetKey, errors as joseErrors, jwtVerify, type KeyObject, SignJWT } from 'jose';
import { WardstreamError } from '../common/errors.ts';
import { isId } from '../schemas/records.ts';

export const ROLES = ['nurse', 'charge_nurse', 'physician', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  readonly sub: string;
  readonly role: Role;
  /** Ward ids the token grants; '*' grants all wards. */
  readonly wards: readonly string[];
  /** Expiry, epoch seconds. */
  readonly exp: number;
}

export type AsymmetricAlg = 'RS256' | 'ES256';
export const ASYMMETRIC_ALGS: readonly AsymmetricAlg[] = ['RS256', 'ES256'];

/** Exactly one of secret, publicKey, jwks. */
export interface AuthConfig {
  readonly secret?: string | null;
  readonly publicKey?: { readonly pem: string; readonly alg: AsymmetricAlg } | null;
  readonly jwks?: JSONWebKeySet | null;
  readonly issuer: string;
  readonly audience: string;
}

function key(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

interface Verifier {
  readonly algorithms: string[];
  readonly key: Uint8Array | KeyObject | CryptoKey | JWTVerifyGetKey;
}
const verifiers = new WeakMap<AuthConfig, Promise<Verifier>>();

function verifierOf(cfg: AuthConfig): Promise<Verifier> {
  let v = verifiers.get(cfg);
  if (!v) {
    const kinds = [cfg.secret, cfg.publicKey, cfg.jwks].filter((x) => x !== undefined && x !== null).length;
    if (kinds !== 1)
      v = Promise.reject(
        new WardstreamError(
          'CONFIG_ERR_INVALID',
          'configure exactly one token key: WARDSTREAM_JWT_SECRET, WARDSTREAM_JWT_PUBLIC_KEY_FILE or WARDSTREAM_JWKS_FILE',
        ),
      );
    else if (cfg.secret) v = Promise.resolve({ algorithms: ['HS256'], key: key(cfg.secret) });
    else if (cfg.publicKey) {
      const { pem, alg } = cfg.publicKey;
      v = importSPKI(pem, alg).then(
        (k) => ({ algorithms: [alg], key: k }),
        (e: unknown) => {
          throw new WardstreamError('CONFIG_ERR_INVALID', `WARDSTREAM_JWT_PUBLIC_KEY_FILE is not a ${alg} public key (PEM, SPKI)`, { cause: e });
        },
      );
    } else {
      const jwks = cfg.jwks!;
      const algs = [
        ...new Set(jwks.keys.map((k) => k.alg).filter((a): a is AsymmetricAlg => (ASYMMETRIC_ALGS as readonly (string | undefined)[]).includes(a))),
      ];
      if (algs.length === 0 || jwks.keys.some((k) => k.kty === 'oct'))
        v = Promise.reject(new WardstreamError('CONFIG_ERR_INVALID', 'WARDSTREAM_JWKS_FILE must hold public RS256/ES256 keys, each with "alg"'));
      else v = Promise.resolve({ algorithms: algs, key: createLocalJWKSet(jwks) });
    }
    verifiers.set(cfg, v);
  }
  return v;
}

export async function verifyToken(token: string, cfg: AuthConfig, now?: Date): Promise<Principal> {
  const v = await verifierOf(cfg);
  try {
    const opts = {
      algorithms: v.algorithms,
      issuer: cfg.issuer,
      audience: cfg.audience,
      requiredClaims: ['exp', 'sub'],
      clockTolerance: 5,
      ...(now ? { currentDate: now } : {}),
    };
    // (The cast only picks one of jwtVerify's overloads; both accept either kind of key.)
    const { payload } = await jwtVerify(token, v.key as JWTVerifyGetKey, opts);
    const role = payload.role;
    const wards = payload.wards;
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role))
      throw new WardstreamError('GATEWAY_ERR_UNAUTHORIZED', `role claim must be one of ${ROLES.join(', ')}`);
    if (!Array.isArray(wards) || !wards.every((w) => w === '*' || isId(w))) {
      throw new WardstreamError('GATEWAY_ERR_UNAUTHORIZED', 'wards claim must be a list of ward ids');
    }
    return { sub: String(payload.sub), role: role as Role, wards: wards as string[], exp: payload.exp! };
  } catch (e) {
    if (e instanceof WardstreamError) throw e;
    const reason =
      e instanceof joseErrors.JWTExpired
        ? 'token expired'
        : e instanceof joseErrors.JWTClaimValidationFailed
          ? `claim ${e.claim} ${e.reason}`
          : e instanceof joseErrors.JOSEAlgNotAllowed
            ? 'algorithm not allowed'
            : e instanceof joseErrors.JWKSNoMatchingKey
              ? 'no matching key'
              : 'invalid token';
    throw new WardstreamError('GATEWAY_ERR_UNAUTHORIZED', reason, { cause: e });
  }
}

/** Development tokens (HS256 with the shared secret); asymmetric setups get tokens from their identity provider. */
export async function signToken(cfg: AuthConfig, o: { sub: string; role: Role; wards: readonly string[]; ttlSec: number; now?: number }): Promise<string> {
  if (!cfg.secret) throw new WardstreamError('CONFIG_ERR_INVALID', 'signing development tokens needs WARDSTREAM_JWT_SECRET');
  const iat = Math.floor((o.now ?? Date.now()) / 1000);
  return new SignJWT({ role: o.role, wards: [...o.wards] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(o.sub)
    .setIssuer(cfg.issuer)
    .setAudience(cfg.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + o.ttlSec)
    .sign(key(cfg.secret));
}

export function canSeeWard(p: Principal, ward: string): boolean {
  return p.wards.includes('*') || p.wards.includes(ward);
}

/** Clinical roles see vitals and alerts; admin sees alerts and occupancy, not vitals. */
export function canSeeVitals(p: Principal): boolean {
  return p.role !== 'admin';
}

/** Acknowledging and silencing alerts is for clinical roles; admin watches, it does not act. */
export function canActOnAlerts(p: Principal): boolean {
  return p.role === 'nurse' || p.role === 'charge_nurse' || p.role === 'physician';
}

/** Parses durations like 30s, 15m, 1h, 2d. */
export function parseTtl(s: string): number {
  const m = /^(\d+)([smhd])$/.exec(s.trim());
  if (!m) throw new WardstreamError('CLI_ERR_USAGE', `--ttl "${s}" must look like 30s, 15m, 1h or 2d`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}
