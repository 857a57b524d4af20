import { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { ERRORS, type ErrorCode, isRetriable, WardstreamError } from '../../common/errors.ts';

/** What kafkajs' protocol decoder passes to KafkaJSProtocolError: a broker error code's entry. */
const protocolError = (type: string, retriable: boolean) => ({ message: type, type, code: 3, retriable }) as unknown as Error;
const sysErr = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:9092`), { code, syscall: 'connect' });

describe('isRetriable decides explicitly', () => {
  it('registry codes by their flag', () => {
    for (const code of Object.keys(ERRORS) as ErrorCode[]) expect(isRetriable(new WardstreamError(code))).toBe(ERRORS[code].retriable);
  });

  it('kafkajs errors by their own retriable flag', () => {
    expect(isRetriable(new KafkaJSConnectionError('Connection error'))).toBe(true);
    expect(isRetriable(new KafkaJSNonRetriableError('gave up'))).toBe(false);
    expect(isRetriable(new KafkaJSProtocolError(protocolError('UNKNOWN_TOPIC_OR_PARTITION', true)))).toBe(true);
    expect(isRetriable(new KafkaJSProtocolError(protocolError('TOPIC_AUTHORIZATION_FAILED', false)))).toBe(false);
  });

  it('transient system errors are retriable, other system errors are not', () => {
    for (const c of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']) expect(isRetriable(sysErr(c))).toBe(true);
    for (const c of ['EACCES', 'ENOENT', 'EADDRINUSE', 'ENOTFOUND', 'ERR_INVALID_ARG_TYPE']) expect(isRetriable(sysErr(c))).toBe(false);
  });

  it('anything else is not retriable: bugs, thrown values, unknown libraries', () => {
    expect(isRetriable(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBe(false);
    expect(isRetriable(new Error('boom'))).toBe(false);
    expect(isRetriable(undefined)).toBe(false);
    expect(isRetriable(null)).toBe(false);
    expect(isRetriable('timeout')).toBe(false);
    expect(isRetriable({ retriable: true })).toBe(false); // a flag alone, not a kafkajs error
  });
});
