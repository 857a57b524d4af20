import { describe, expect, it } from 'vitest';
import { DEFAULTS, loadConfig } from '../../common/config.ts';
import { isRetriable, WardstreamError } from '../../common/errors.ts';

describe('loadConfig', () => {
  it('uses embedded defaults when nothing is set', () => {
    expect(loadConfig({})).toEqual(DEFAULTS);
  });
  it('reads and types the environment', () => {
    const c = loadConfig({ KAFKA_BROKERS: 'a:9092, b:9093', KAFKA_PARTITIONS: '12', MQTT_URL: 'mqtt://broker:1883', ALLOWED_ORIGINS: 'https://ward.example' });
    expect(c.kafkaBrokers).toEqual(['a:9092', 'b:9093']);
    expect(c.kafkaPartitions).toBe(12);
    expect(c.mqttUrl).toBe('mqtt://broker:1883');
    expect(c.allowedOrigins).toEqual(['https://ward.example']);
    expect(Object.isFrozen(c)).toBe(true);
  });
  it('names the variable in errors', () => {
    expect(() => loadConfig({ KAFKA_PARTITIONS: 'many' })).toThrow(/KAFKA_PARTITIONS/);
    expect(() => loadConfig({ WARDSTREAM_JWT_SECRET: 'short' })).toThrow(/WARDSTREAM_JWT_SECRET/);
    expect(() => loadConfig({ MQTT_URL: 'http://x' })).toThrow(/MQTT_URL/);
    expect(() => loadConfig({ KAFKA_BROKERS: 'nohostport' })).toThrow(/KAFKA_BROKERS/);
  });
  it('refuses two kinds of token key, half a TLS pair, and a malformed audit key', () => {
    const secret = 'x'.repeat(40);
    expect(() => loadConfig({ WARDSTREAM_JWT_SECRET: secret, WARDSTREAM_JWKS_FILE: '/etc/jwks.json' })).toThrow(/only one of .*algorithm confusion/);
    expect(() => loadConfig({ WARDSTREAM_JWT_PUBLIC_KEY_FILE: '/k.pem', WARDSTREAM_JWKS_FILE: '/j.json' })).toThrow(/only one of/);
    expect(loadConfig({ WARDSTREAM_JWKS_FILE: '/etc/jwks.json' }).jwksFile).toBe('/etc/jwks.json');
    expect(() => loadConfig({ TLS_CERT_FILE: '/c.pem' })).toThrow(/TLS_CERT_FILE and TLS_KEY_FILE must be set together/);
    expect(() => loadConfig({ WARDSTREAM_JWT_ALG: 'HS256' })).toThrow(/WARDSTREAM_JWT_ALG/);
    expect(() => loadConfig({ WARDSTREAM_AUDIT_KEY: 'abcd' })).toThrow(/WARDSTREAM_AUDIT_KEY/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
  });
  it('rejects unknown override keys', () => {
    expect(() => loadConfig({}, { bogus: 1 } as never)).toThrow(/unknown option "bogus"/);
  });
});

describe('error registry', () => {
  it('carries code and retriability, decided in one place', () => {
    const e = new WardstreamError('BRIDGE_ERR_KAFKA_SEND', 'timeout');
    expect(e.code).toBe('BRIDGE_ERR_KAFKA_SEND');
    expect(isRetriable(e)).toBe(true);
    expect(isRetriable(new WardstreamError('BRIDGE_ERR_NOT_JSON'))).toBe(false);
    expect(isRetriable({ retriable: false })).toBe(false);
    expect(isRetriable(new Error('socket hang up'))).toBe(true);
  });
});
