/**
 * The transport replay filter (RFC 6479's ring of bitmap blocks, as wireguard-go `replay/`):
 * 128 blocks of 64 bits, a window of (128 - 1) x 64 = 8128 counters behind the highest accepted
 * one (notes §5). Counters are 64-bit, carried as two u32 words (lo, hi) so that nothing is a
 * BigInt or a boxed double; the ring is a Uint32Array of 256 words (block b = words 2b, 2b+1).
 *
 * Order (mandatory, notes §5): the caller authenticates the packet first and only then calls
 * `validate`, which checks *and* updates. `wouldAccept` is the read-only pre-check allowed before
 * decrypting (to skip obvious replays without spending an AEAD on them).
 *
 *   ring: | blk 0 | blk 1 | ... | blk 127 |   counter c lives in block (c >> 6) & 127, bit c & 63
 *         moving `last` forward zeroes the blocks it passes (at most the whole ring)
 */

import { REJECT_AFTER_MESSAGES_HI, REJECT_AFTER_MESSAGES_LO } from './constants.js';

const RING_BLOCKS = 128;
const BLOCK_MASK = RING_BLOCKS - 1;
/** Counters behind `last` that can still be accepted. */
export const REPLAY_WINDOW = (RING_BLOCKS - 1) * 64;

export class ReplayFilter {
  /** Highest accepted counter, as u32 words. */
  #lastLo = 0;
  #lastHi = 0;
  readonly #ring = new Uint32Array(RING_BLOCKS * 2);

  /** Forgets everything (a fresh filter: counter 0 is acceptable). */
  reset(): void {
    this.#lastLo = 0;
    this.#lastHi = 0;
    this.#ring.fill(0);
  }

  /** The read-only pre-check: false when `validate` would certainly reject the counter. */
  wouldAccept(lo: number, hi: number): boolean {
    if (hi === REJECT_AFTER_MESSAGES_HI && lo >= REJECT_AFTER_MESSAGES_LO) return false;
    if (hi > this.#lastHi || (hi === this.#lastHi && lo > this.#lastLo)) return true;
    if (this.#behind(lo, hi) > REPLAY_WINDOW) return false;
    const w = word(lo);
    return (this.#ring[w]! & (1 << (lo & 31))) === 0;
  }

  /**
   * Accepts counter (lo, hi) once: true when it is new and inside the window (the filter is
   * updated), false for a duplicate, a counter more than 8128 behind the highest accepted one,
   * or one at or past REJECT_AFTER_MESSAGES (2^64 - 2^13 - 1). Call only after authenticating.
   */
  validate(lo: number, hi: number): boolean {
    lo >>>= 0;
    hi >>>= 0;
    if (hi === REJECT_AFTER_MESSAGES_HI && lo >= REJECT_AFTER_MESSAGES_LO) return false;
    const ring = this.#ring;
    if (hi > this.#lastHi || (hi === this.#lastHi && lo > this.#lastLo)) {
      // Blocks from (last >> 6) + 1 through (c >> 6) are zeroed, at most the whole ring.
      const lastBlkLo = ((this.#lastHi << 26) | (this.#lastLo >>> 6)) >>> 0;
      const blkLo = ((hi << 26) | (lo >>> 6)) >>> 0;
      // Block numbers are 58 bits: (hi >>> 6) above the low word. Exact when the high parts are
      // equal or adjacent; beyond that the distance is far past the ring anyway.
      let blocks = ((hi >>> 6) - (this.#lastHi >>> 6)) * 2 ** 32 + (blkLo - lastBlkLo);
      if (blocks > RING_BLOCKS) blocks = RING_BLOCKS;
      for (let i = 1; i <= blocks; i++) {
        const b = ((lastBlkLo + i) & BLOCK_MASK) * 2;
        ring[b] = 0;
        ring[b + 1] = 0;
      }
      this.#lastLo = lo;
      this.#lastHi = hi;
    } else if (this.#behind(lo, hi) > REPLAY_WINDOW) {
      return false;
    }
    const w = word(lo);
    const bit = 1 << (lo & 31);
    const old = ring[w]!;
    if ((old & bit) !== 0) return false;
    ring[w] = old | bit;
    return true;
  }

  /** last - c for c <= last: exact below 2^32, and certainly above the window beyond. */
  #behind(lo: number, hi: number): number {
    return (this.#lastHi - hi) * 2 ** 32 + (this.#lastLo - lo);
  }
}

/** Ring word holding counter c: block (c >> 6) & 127 (bits 6..12 of the low word), half by bit 5. */
function word(lo: number): number {
  return (((lo >>> 6) & BLOCK_MASK) << 1) | ((lo >>> 5) & 1);
}
