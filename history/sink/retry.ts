/**
 * How the sink stores a batch that fails (pure: the writes and the waits are injected; unit-tested).
 *
 *   retriable failure (history/sink/failures.ts)  wait with backoff and write again, as long as it
 *                                                 takes; never counted, never dead-lettered
 *   fatal failure of the whole batch              up to `attempts` tries with backoff; then the batch
 *                                                 is split: each half is written on its own, a half
 *                                                 that fails is halved again, down to single records.
 *                                                 The single records that still fail are returned (the
 *                                                 caller dead-letters them); every other record is stored.
 * Each piece is its own transaction; its rows are keyed, so a piece written twice (the batch
 * abandoned and redelivered) is a no-op. A bad record costs about 2·log2(batch size) writes.
 */
import type { WardstreamError } from '../../common/errors.ts';
import { classifyWriteError } from './failures.ts';

export interface RetryPolicy {
  /** Fatal failures of the whole batch before it is split (at least 1). */
  readonly attempts: number;
  /** First wait after a failure, doubled after each further one… */
  readonly initialBackoffMs: number;
  /** …up to this. */
  readonly maxBackoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, initialBackoffMs: 100, maxBackoffMs: 5000 };

/** The wait before retry k (0, 1, …). */
export const backoffMs = (p: RetryPolicy, k: number): number => Math.min(p.maxBackoffMs, p.initialBackoffMs * 2 ** k);

export interface StoreIo {
  /** Writes records [lo, hi) of the batch in one transaction; throws what the database said. */
  write(lo: number, hi: number): Promise<void>;
  /** Waits `ms`; resolves false when the batch must be abandoned (partition revoked, sink stopping). */
  pause(ms: number): Promise<boolean>;
  /** Each failure that will be retried (`retriable`) or counted (`attempt` of the whole batch, 1-based). */
  failed(err: WardstreamError, what: { readonly lo: number; readonly hi: number; readonly attempt: number | null }): void;
}

export interface Refused {
  readonly index: number;
  readonly error: WardstreamError;
}

const ABANDONED = Symbol('abandoned');

/**
 * Stores records [0, n) of a batch. Returns the records that cannot be stored (empty when all
 * were), or null when the batch was abandoned (then nothing may be committed for it).
 */
export async function storeOrIsolate(n: number, io: StoreIo, policy: RetryPolicy = DEFAULT_RETRY): Promise<Refused[] | null> {
  const attempt = async (lo: number, hi: number): Promise<WardstreamError | null | typeof ABANDONED> => {
    for (let k = 0; ; k++) {
      try {
        await io.write(lo, hi);
        return null;
      } catch (e) {
        const err = classifyWriteError(e);
        if (!err.retriable) return err;
        io.failed(err, { lo, hi, attempt: null });
        if (!(await io.pause(backoffMs(policy, k)))) return ABANDONED;
      }
    }
  };
  if (n === 0) return [];
  let err: WardstreamError;
  for (let k = 1; ; k++) {
    const r = await attempt(0, n);
    if (r === null) return [];
    if (r === ABANDONED) return null;
    err = r;
    io.failed(err, { lo: 0, hi: n, attempt: k });
    if (k >= policy.attempts) break;
    if (!(await io.pause(backoffMs(policy, k - 1)))) return null;
  }
  const refused: Refused[] = [];
  const split = async (lo: number, hi: number, e: WardstreamError): Promise<boolean> => {
    if (hi - lo === 1) {
      refused.push({ index: lo, error: e });
      return true;
    }
    const mid = (lo + hi) >>> 1;
    for (const [a, b] of [
      [lo, mid],
      [mid, hi],
    ] as const) {
      const r = await attempt(a, b);
      if (r === ABANDONED) return false;
      if (r && !(await split(a, b, r))) return false;
    }
    return true;
  };
  return (await split(0, n, err)) ? refused : null;
}
