/**
 * Frames whose every byte is a function of a sequence number, for the ring tests: a producer
 * writes frame `seq` with `fillFrame`, a consumer that knows (or reads) `seq` checks it with
 * `checkFrame`, so loss, duplication, reordering, truncation and overwritten bytes all show.
 *
 *   frame seq, len bytes:  [ seq as u32 LE (first min(len, 4) bytes) | stream from mix32(seq) … ]
 *
 * The length is a function of `seq` too (`frameLen`), so a consumer can tell a short frame from
 * the right one. Also a seeded PRNG and bitmaps over SharedArrayBuffer for the worker tests.
 */

/** murmur3's 32-bit finaliser: a cheap, well-mixed hash of a u32. */
export function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85eb_ca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2_ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Length of frame `seq`: in [minLen, maxLen], a function of `seq` alone. */
export function frameLen(seq: number, minLen: number, maxLen: number): number {
  return minLen + (mix32(seq ^ 0x5bd1_e995) % (maxLen - minLen + 1));
}

/** Byte `j` of frame `seq` (h = mix32(seq)). */
function frameByte(seq: number, h: number, j: number): number {
  return j < 4 ? (seq >>> (j << 3)) & 0xff : (h + Math.imul(j, 0x9e37_79b1)) >>> 24;
}

/** Writes frame `seq` (`len` bytes) into `buf` at `off`. */
export function fillFrame(buf: Uint8Array, off: number, seq: number, len: number): void {
  const h = mix32(seq);
  for (let j = 0; j < len; j++) buf[off + j] = frameByte(seq, h, j);
}

/** A new array holding frame `seq`. */
export function makeFrame(seq: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  fillFrame(b, 0, seq, len);
  return b;
}

/**
 * Checks that `frame` is frame `seq` of `len` bytes: -1 when it is, -2 for a wrong length,
 * otherwise the index of the first wrong byte.
 */
export function checkFrame(frame: Uint8Array, seq: number, len: number): number {
  if (frame.length !== len) return -2;
  const h = mix32(seq);
  for (let j = 0; j < len; j++) if (frame[j] !== frameByte(seq, h, j)) return j;
  return -1;
}

/** The sequence number in a frame's first four bytes (frames of at least 4 bytes). */
export function frameSeq(frame: Uint8Array): number {
  return (frame[0]! | (frame[1]! << 8) | (frame[2]! << 16) | (frame[3]! << 24)) >>> 0;
}

/** xorshift32, seeded: deterministic per seed, in any thread. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed | 0 || 0x2545_f491;
  }
  /** A u32. */
  next(): number {
    let s = this.s;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.s = s;
    return s >>> 0;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return this.next() % n;
  }
  /** True with probability 1/n (never when n is 0). */
  oneIn(n: number): boolean {
    return n > 0 && this.next() % n === 0;
  }
}

/** A bitmap of `bits` bits over a SharedArrayBuffer, for marking sequence numbers across threads. */
export function newBitmap(bits: number): SharedArrayBuffer {
  return new SharedArrayBuffer(Math.ceil(bits / 32) * 4);
}
export function setBit(map: Int32Array, i: number): void {
  map[i >>> 5]! |= 1 << (i & 31);
}
export function getBit(map: Int32Array, i: number): boolean {
  return (map[i >>> 5]! & (1 << (i & 31))) !== 0;
}
