import { exportJWK, exportSPKI, generateKeyPair, type KeyObject, SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { canSeeVitals, canSeeWard, parseTtl, signToken, verifyToken } from '../../gateway/auth.ts';

const cfg = { secret: 'x'.repeat(40), issuer: 'wardstream', audience: 'wardstream-gateway' };
const key = new TextEncoder().encode(cfg.secret);
const now = Math.floor(Date.now() / 1000);
const claims = { role: 'nurse', wards: ['icu-1'] };

describe('verifyToken (RFC 8725)', () => {
  it('accepts a token made by signToken', async () => {
    const t = await signToken(cfg, { sub: 'n1', role: 'nurse', wards: ['icu-1'], ttlSec: 60 });
    await expect(verifyToken(t, cfg)).resolves.toMatchObject({ sub: 'n1', role: 'nurse', wards: ['icu-1'] });
  });

  it('refuses an expired token', async () => {
    const t = await signToken(cfg, { sub: 'n1', role: 'nurse', wards: ['icu-1'], ttlSec: 60, now: Date.now() - 3600_000 });
    await expect(verifyToken(t, cfg)).rejects.toThrow(/expired/);
  });

  it('refuses alg "none"', async () => {
    const t = new UnsecuredJWT(claims)
      .setSubject('n1')
      .setIssuer(cfg.issuer)
      .setAudience(cfg.audience)
      .setExpirationTime(now + 60)
      .encode();
    await expect(verifyToken(t, cfg)).rejects.toMatchObject({ code: 'GATEWAY_ERR_UNAUTHORIZED' });
  });

  it('refuses an algorithm outside the fixed list, even with the right key', async () => {
    const t = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS512' })
      .setSubject('n1')
      .setIssuer(cfg.issuer)
      .setAudience(cfg.audience)
      .setExpirationTime(now + 60)
      .sign(key);
    await expect(verifyToken(t, cfg)).rejects.toThrow(/algorithm not allowed/);
  });

  it.each([
    [
      'wrong issuer',
      (j: SignJWT) =>
        j
          .setIssuer('someone-else')
          .setAudience(cfg.audience)
          .setExpirationTime(now + 60),
      /iss/,
    ],
    [
      'wrong audience',
      (j: SignJWT) =>
        j
          .setIssuer(cfg.issuer)
          .setAudience('other')
          .setExpirationTime(now + 60),
      /aud/,
    ],
    ['no exp', (j: SignJWT) => j.setIssuer(cfg.issuer).setAudience(cfg.audience), /exp/],
  ])('refuses a token with %s', async (_n, build, msg) => {
    const t = await build(new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('n1')).sign(key);
    await expect(verifyToken(t, cfg)).rejects.toThrow(msg);
  });

  it('refuses a token signed with another secret', async () => {
    const t = await signToken({ ...cfg, secret: 'y'.repeat(40) }, { sub: 'n1', role: 'nurse', wards: ['icu-1'], ttlSec: 60 });
    await expect(verifyToken(t, cfg)).rejects.toThrow(/invalid token/);
  });

  it('refuses unknown roles and malformed ward claims', async () => {
    const mk = (c: Record<string, unknown>) =>
      new SignJWT(c)
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('n1')
        .setIssuer(cfg.issuer)
        .setAudience(cfg.audience)
        .setExpirationTime(now + 60)
        .sign(key);
    await expect(verifyToken(await mk({ role: 'root', wards: ['a'] }), cfg)).rejects.toThrow(/role/);
    await expect(verifyToken(await mk({ role: 'nurse', wards: 'a' }), cfg)).rejects.toThrow(/wards/);
    await expect(verifyToken(await mk({ role: 'nurse', wards: ['a/b'] }), cfg)).rejects.toThrow(/wards/);
  });
});

describe('authorization helpers', () => {
  const p = { sub: 's', role: 'nurse' as const, wards: ['icu-1'], exp: now + 60 };
  it('grants only the listed wards, or all with "*"', () => {
    expect(canSeeWard(p, 'icu-1')).toBe(true);
    expect(canSeeWard(p, 'icu-2')).toBe(false);
    expect(canSeeWard({ ...p, wards: ['*'] }, 'anything')).toBe(true);
  });
  it('admin sees no vitals', () => {
    expect(canSeeVitals(p)).toBe(true);
    expect(canSeeVitals({ ...p, role: 'admin' })).toBe(false);
  });
  it('parses TTLs', () => {
    expect(parseTtl('90s')).toBe(90);
    expect(parseTtl('1h')).toBe(3600);
    expect(() => parseTtl('soon')).toThrow(/--ttl/);
  });
});

describe('asymmetric keys (RS256 / ES256)', () => {
  const base = { issuer: 'wardstream', audience: 'wardstream-gateway' };
  const sign = (k: CryptoKey | KeyObject | Uint8Array, alg: string, kid?: string) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg, ...(kid ? { kid } : {}) })
      .setSubject('n1')
      .setIssuer(base.issuer)
      .setAudience(base.audience)
      .setExpirationTime(now + 60)
      .sign(k);

  it('verifies ES256 tokens against a local JWKS, choosing the key by kid', async () => {
    const a = await generateKeyPair('ES256', { extractable: true });
    const b = await generateKeyPair('ES256', { extractable: true });
    const jwks = {
      keys: [
        { ...(await exportJWK(a.publicKey)), kid: 'a', alg: 'ES256' },
        { ...(await exportJWK(b.publicKey)), kid: 'b', alg: 'ES256' },
      ],
    };
    const cfgJ = { ...base, jwks };
    await expect(verifyToken(await sign(b.privateKey, 'ES256', 'b'), cfgJ)).resolves.toMatchObject({ sub: 'n1', role: 'nurse' });
    await expect(verifyToken(await sign(b.privateKey, 'ES256', 'a'), cfgJ)).rejects.toMatchObject({ code: 'GATEWAY_ERR_UNAUTHORIZED' });
    const other = await generateKeyPair('ES256');
    await expect(verifyToken(await sign(other.privateKey, 'ES256', 'a'), cfgJ)).rejects.toThrow(/invalid token/);
  });

  it('verifies RS256 with a PEM public key and refuses the algorithm-confusion attack (HS256 keyed with that PEM)', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    const pem = await exportSPKI(publicKey);
    const cfgP = { ...base, publicKey: { pem, alg: 'RS256' as const } };
    await expect(verifyToken(await sign(privateKey, 'RS256'), cfgP)).resolves.toMatchObject({ sub: 'n1' });
    const forged = await sign(new TextEncoder().encode(pem), 'HS256');
    await expect(verifyToken(forged, cfgP)).rejects.toThrow(/algorithm not allowed/);
  });

  it('refuses a configuration with no key, two kinds of key, or a symmetric key in the JWKS', async () => {
    const t = await signToken(cfg, { sub: 'n1', role: 'nurse', wards: ['icu-1'], ttlSec: 60 });
    await expect(verifyToken(t, { ...base })).rejects.toMatchObject({ code: 'CONFIG_ERR_INVALID' });
    await expect(verifyToken(t, { ...cfg, jwks: { keys: [] } })).rejects.toMatchObject({ code: 'CONFIG_ERR_INVALID' });
    await expect(verifyToken(t, { ...base, jwks: { keys: [{ kty: 'oct', k: 'eHh4', alg: 'HS256' }] } })).rejects.toMatchObject({ code: 'CONFIG_ERR_INVALID' });
  });
});
