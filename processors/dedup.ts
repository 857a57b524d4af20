/**
 * Bounded de-duplication memory for one device: the highest sequence number seen and a
 * bitmap of the WINDOW sequence numbers below it. Pure and immutable: `observe` returns a new
 * memory. Size is constant (WINDOW bits + two numbers) whatever the device sends.
 *
 * Verdicts:
 *   new        first time this (deviceId, seq) is seen
 *   duplicate  seen before (redelivery, retries, a device resending)
 *   stale      older than the window: treated as a duplicate unless its event time is newer
 *              than anything seen (then the device restarted its counter, and memory resets)
 */
export const WINDOW = 1024;
/** Bits per word: 16 keeps every word a small integer, so a copy is a plain array slice. */
const W = 16;

export interface SeqMemory {
  readonly maxSeq: number;
  readonly maxTs: number;
  /**
   * WINDOW bits as WINDOW/16 words of 16 bits; bit (seq % WINDOW) is set when seq was seen.
   * A plain array of small integers on purpose: a 128-byte Uint8Array per reading lives
   * outside the JS heap and made this copy-on-write memory the engine's biggest GC cost.
   */
  readonly bits: readonly number[];
}

export type Verdict = 'new' | 'duplicate' | 'stale' | 'restart';

const idx = (s: number) => s % WINDOW;
const getBit = (b: readonly number[], s: number) => (b[idx(s) >> 4]! >> (idx(s) & (W - 1))) & 1;
const setBit = (b: number[], s: number) => { b[idx(s) >> 4]! |= 1 << (idx(s) & (W - 1)); };
const clearBit = (b: number[], s: number) => { b[idx(s) >> 4]! &= ~(1 << (idx(s) & (W - 1))) & 0xffff; };
const zero = (): number[] => new Array<number>(WINDOW / W).fill(0);

export function emptyMemory(): SeqMemory {
  return { maxSeq: -1, maxTs: 0, bits: zero() };
}

export function observe(mem: SeqMemory, seq: number, ts: number): { verdict: Verdict; memory: SeqMemory } {
  if (mem.maxSeq < 0) {
    const bits = zero();
    setBit(bits, seq);
    return { verdict: 'new', memory: { maxSeq: seq, maxTs: ts, bits } };
  }
  if (seq > mem.maxSeq) {
    const d = seq - mem.maxSeq;
    const bits = d >= WINDOW ? zero() : mem.bits.slice();
    if (d < WINDOW) for (let s = mem.maxSeq + 1; s <= seq; s++) clearBit(bits, s);
    setBit(bits, seq);
    return { verdict: 'new', memory: { maxSeq: seq, maxTs: Math.max(mem.maxTs, ts), bits } };
  }
  if (seq > mem.maxSeq - WINDOW) {
    if (getBit(mem.bits, seq)) return { verdict: 'duplicate', memory: mem };
    const bits = mem.bits.slice();
    setBit(bits, seq);
    return { verdict: 'new', memory: { maxSeq: mem.maxSeq, maxTs: Math.max(mem.maxTs, ts), bits } };
  }
  // Older than the window. A device that restarted its counter sends small seqs with new times.
  if (ts > mem.maxTs) {
    const bits = zero();
    setBit(bits, seq);
    return { verdict: 'restart', memory: { maxSeq: seq, maxTs: ts, bits } };
  }
  return { verdict: 'stale', memory: mem };
}

/** Changelog form (unchanged since state v2): the bitmap as WINDOW/8 bytes, base64. */
export function serializeMemory(m: SeqMemory): { maxSeq: number; maxTs: number; bits: string } {
  const bytes = Buffer.alloc(WINDOW / 8);
  m.bits.forEach((w, i) => bytes.writeUInt16LE(w, i * 2));
  return { maxSeq: m.maxSeq, maxTs: m.maxTs, bits: bytes.toString('base64') };
}

export function deserializeMemory(j: { maxSeq: number; maxTs: number; bits: string }): SeqMemory {
  const bytes = Buffer.alloc(WINDOW / 8);
  Buffer.from(j.bits, 'base64').copy(bytes, 0, 0, WINDOW / 8);
  const bits = zero();
  for (let i = 0; i < bits.length; i++) bits[i] = bytes.readUInt16LE(i * 2);
  return { maxSeq: j.maxSeq, maxTs: j.maxTs, bits };
}
