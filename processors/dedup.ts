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
   * null while every sequence number from `minSeq` to `maxSeq` has been seen (a device sending
   * in order, the common case: no bitmap to copy per reading). Otherwise WINDOW bits as
   * WINDOW/16 words of 16 bits; bit (seq % WINDOW) is set when seq was seen. A plain array of
   * small integers on purpose: a 128-byte Uint8Array per reading lives outside the JS heap and
   * made this copy-on-write memory the engine's biggest GC cost.
   */
  readonly bits: readonly number[] | null;
  /** Lowest sequence number of the contiguous run while bits is null (within the window); 0 otherwise. */
  readonly minSeq: number;
}

export type Verdict = 'new' | 'duplicate' | 'stale' | 'restart';

const idx = (s: number) => s % WINDOW;
const getBit = (b: readonly number[], s: number) => (b[idx(s) >> 4]! >> (idx(s) & (W - 1))) & 1;
const setBit = (b: number[], s: number) => {
  b[idx(s) >> 4]! |= 1 << (idx(s) & (W - 1));
};
const clearBit = (b: number[], s: number) => {
  b[idx(s) >> 4]! &= ~(1 << (idx(s) & (W - 1))) & 0xffff;
};
const zero = (): number[] => new Array<number>(WINDOW / W).fill(0);

/** The bitmap form of a memory (materialized when a gap first appears, and for the changelog). */
export function bitmapOf(m: SeqMemory): number[] {
  if (m.bits) return m.bits.slice();
  const b = zero();
  if (m.maxSeq >= 0) for (let s = Math.max(m.minSeq, m.maxSeq - WINDOW + 1); s <= m.maxSeq; s++) setBit(b, s);
  return b;
}

export function emptyMemory(): SeqMemory {
  return { maxSeq: -1, maxTs: 0, bits: null, minSeq: 0 };
}

const fresh = (seq: number, ts: number): SeqMemory => ({ maxSeq: seq, maxTs: ts, bits: null, minSeq: seq });

export function observe(mem: SeqMemory, seq: number, ts: number): { verdict: Verdict; memory: SeqMemory } {
  if (mem.maxSeq < 0) return { verdict: 'new', memory: fresh(seq, ts) };
  if (seq > mem.maxSeq) {
    const maxTs = Math.max(mem.maxTs, ts);
    // minSeq is kept within the window, so a memory restored from the changelog compares equal.
    if (mem.bits === null && seq === mem.maxSeq + 1)
      return { verdict: 'new', memory: { maxSeq: seq, maxTs, bits: null, minSeq: Math.max(mem.minSeq, seq - WINDOW + 1) } };
    const d = seq - mem.maxSeq;
    const bits = d >= WINDOW ? zero() : bitmapOf(mem);
    if (d < WINDOW) for (let s = mem.maxSeq + 1; s <= seq; s++) clearBit(bits, s);
    setBit(bits, seq);
    return { verdict: 'new', memory: { maxSeq: seq, maxTs, bits, minSeq: 0 } };
  }
  if (seq > mem.maxSeq - WINDOW) {
    const seen = mem.bits === null ? seq >= mem.minSeq : getBit(mem.bits, seq) === 1;
    if (seen) return { verdict: 'duplicate', memory: mem };
    const bits = bitmapOf(mem);
    setBit(bits, seq);
    return { verdict: 'new', memory: { maxSeq: mem.maxSeq, maxTs: Math.max(mem.maxTs, ts), bits, minSeq: 0 } };
  }
  // Older than the window. A device that restarted its counter sends small seqs with new times.
  if (ts > mem.maxTs) return { verdict: 'restart', memory: fresh(seq, ts) };
  return { verdict: 'stale', memory: mem };
}

/** Changelog form (unchanged since state v2): the bitmap as WINDOW/8 bytes, base64. */
export function serializeMemory(m: SeqMemory): { maxSeq: number; maxTs: number; bits: string } {
  const bytes = Buffer.alloc(WINDOW / 8);
  bitmapOf(m).forEach((w, i) => {
    bytes.writeUInt16LE(w, i * 2);
  });
  return { maxSeq: m.maxSeq, maxTs: m.maxTs, bits: bytes.toString('base64') };
}

export function deserializeMemory(j: { maxSeq: number; maxTs: number; bits: string }): SeqMemory {
  const bytes = Buffer.alloc(WINDOW / 8);
  Buffer.from(j.bits, 'base64').copy(bytes, 0, 0, WINDOW / 8);
  const bits = zero();
  let set = 0;
  for (let i = 0; i < bits.length; i++) {
    bits[i] = bytes.readUInt16LE(i * 2);
    for (let w = bits[i]!; w; w &= w - 1) set++;
  }
  // Back to the compact form when the bitmap is one run ending at maxSeq (what it came from).
  let r = j.maxSeq;
  while (r - 1 >= 0 && r - 1 > j.maxSeq - WINDOW && getBit(bits, r - 1)) r--;
  if (j.maxSeq >= 0 && getBit(bits, j.maxSeq) && set === j.maxSeq - r + 1) return { maxSeq: j.maxSeq, maxTs: j.maxTs, bits: null, minSeq: r };
  return { maxSeq: j.maxSeq, maxTs: j.maxTs, bits, minSeq: 0 };
}
