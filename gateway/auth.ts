/**
 * Token checks per RFC 8725 (JWT Best Current Practices):
 *  - the accepted algorithm list is fixed by the server (HS256 with WARDSTREAM_JWT_SECRET);
 *    the token's `alg` header never chooses it, so `alg: none` and algorithm confusion fail;
 *  - `exp` is required, `iss` and `aud` must match exactly (§3.8, §3.9);
 *  - claims are validated for shape: `role` one of ROLES, `wards` a list of ward ids or ["*"].
 * Tokens are never logged.
 */
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { WardstreamError } from '../common/errors.ts';

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

export interface AuthConfig {
  readonly secret: string;
  readonly issuer: string;
  readonly audience: string;
}

const ALGORITHMS = ['HS256'];
const WARD = /^([A-Za-z0-9._:-]{1,64}|\*)$/;

function key(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

export async function verifyToken(token: string, cfg: AuthConfig, now?: Date): Promise<Principal> {
  try {
    const { payload } = await jwtVerify(token, key(cfg.secret), {
      algorithms: ALGORITHMS, issuer: cfg.issuer, audience: cfg.audience, requiredClaims: ['exp', 'sub'], clockTolerance: 5,
      ...(now ? { currentDate: now } : {}),
    });
    const role = payload.role;
    const wards = payload.wards;
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) throw new WardstreamError('GATEWAY_ERR_UNAUTHORIZED', `role claim must be one of ${ROLES.join(', ')}`);
    if (!Array.isArray(wards) || !wards.every((w) => typeof w === 'string' && WARD.test(w))) throw new WardstreamError('GATEWAY_ERR_UNAUTHORIZED', 'wards claim must be a list of ward ids');
    return { sub: String(payload.sub), role: role as Role, wards: wards as string[], exp: payload.exp! };
  } catch (e) {
    if (e instanceof WardstreamError) throw e;
    const reason = e instanceof joseErrors.JWTExpired ? 'token expired'
      : e instanceof joseErrors.JWTClaimValidationFailed ? `claim ${e.claim} ${e.reason}`
        : e instanceof joseErrors.JOSEAlgNotAllowed ? 'algorithm not allowed'
          : 'invalid token';
    throw new WardstreamError('GATEWAY_ERR_UNAUTHORIZED', reason, { cause: e });
  }
}

export async function signToken(cfg: AuthConfig, o: { sub: string; role: Role; wards: readonly string[]; ttlSec: number; now?: number }): Promise<string> {
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
