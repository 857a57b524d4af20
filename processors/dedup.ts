/**
 * Bounded de-duplication memory for one device: the highest sequence number seen and a
 * bitmap of the WINDOW sequence numbers below it. Pure and immutable: `observe` returns a new
 * memory. Size is constant (WINDOW/8 bytes + two numbers) whatever the device sends.
 *
 * Verdicts:
 *   new        first time this (deviceId, seq) is seen
 *   duplicate  seen before (redelivery, retries, a device resending)
 *   stale      older than the window: treated as a duplicate unless its event time is newer
 *              than anything seen (then the device restarted its counter, and memory resets)
 */
export const WINDOW = 1024;

export interface SeqMemory {
  readonly maxSeq: number;
  readonly maxTs: number;
  /** WINDOW bits, base64 when serialized; bit (seq % WINDOW) is set when seq was seen. */
  readonly bits: Uint8Array;
}

export type Verdict = 'new' | 'duplicate' | 'stale' | 'restart';

const getBit = (b: Uint8Array, s: number) => (b[(s % WINDOW) >> 3]! >> (s & 7)) & 1;
const setBit = (b: Uint8Array, s: number) => { b[(s % WINDOW) >> 3]! |= 1 << (s & 7); };
const clearBit = (b: Uint8Array, s: number) => { b[(s % WINDOW) >> 3]! &= ~(1 << (s & 7)); };

export function emptyMemory(): SeqMemory {
  return { maxSeq: -1, maxTs: 0, bits: new Uint8Array(WINDOW / 8) };
}

export function observe(mem: SeqMemory, seq: number, ts: number): { verdict: Verdict; memory: SeqMemory } {
  if (mem.maxSeq < 0) {
    const bits = new Uint8Array(WINDOW / 8);
    setBit(bits, seq);
    return { verdict: 'new', memory: { maxSeq: seq, maxTs: ts, bits } };
  }
  if (seq > mem.maxSeq) {
    const bits = new Uint8Array(mem.bits);
    const d = seq - mem.maxSeq;
    if (d >= WINDOW) bits.fill(0);
    else for (let s = mem.maxSeq + 1; s <= seq; s++) clearBit(bits, s);
    setBit(bits, seq);
    return { verdict: 'new', memory: { maxSeq: seq, maxTs: Math.max(mem.maxTs, ts), bits } };
  }
  if (seq > mem.maxSeq - WINDOW) {
    if (getBit(mem.bits, seq)) return { verdict: 'duplicate', memory: mem };
    const bits = new Uint8Array(mem.bits);
    setBit(bits, seq);
    return { verdict: 'new', memory: { maxSeq: mem.maxSeq, maxTs: Math.max(mem.maxTs, ts), bits } };
  }
  // Older than the window. A device that restarted its counter sends small seqs with new times.
  if (ts > mem.maxTs) {
    const bits = new Uint8Array(WINDOW / 8);
    setBit(bits, seq);
    return { verdict: 'restart', memory: { maxSeq: seq, maxTs: ts, bits } };
  }
  return { verdict: 'stale', memory: mem };
}

export function serializeMemory(m: SeqMemory): { maxSeq: number; maxTs: number; bits: string } {
  return { maxSeq: m.maxSeq, maxTs: m.maxTs, bits: Buffer.from(m.bits).toString('base64') };
}

export function deserializeMemory(j: { maxSeq: number; maxTs: number; bits: string }): SeqMemory {
  const bits = new Uint8Array(WINDOW / 8);
  bits.set(Buffer.from(j.bits, 'base64').subarray(0, WINDOW / 8));
  return { maxSeq: j.maxSeq, maxTs: j.maxTs, bits };
}
