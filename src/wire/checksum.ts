/**
 * The Internet checksum (RFC 1071), the TCP/UDP pseudo-header sums (RFC 9293 §3.1, RFC 768,
 * RFC 8200 §8.1) and incremental update (RFC 1624).
 *
 * This is the one checksum loop in pktkit: every codec and engine calls it.
 *
 * Terms used in names:
 * - a *sum* is the folded 16-bit one's-complement sum (not complemented), which composes:
 *   `combineChecksums(sumA, sumB)` is the sum of both ranges;
 * - a *checksum* is the complement of a sum, the value that goes into a header field.
 *
 * RFC 1071 §2(B): the sum is independent of byte order, so it may be computed on any word size
 * and folded at the end. The fast loop reads aligned 32-bit words with native loads, eight at a
 * time into two accumulators (see docs/BENCHMARKS.md for the speed; it measured faster here than
 * big-endian DataView reads). Input is summed in 32 KiB chunks, folded in between, so that the
 * accumulators stay small integers (no deopt to doubles).
 */

import { be16 } from './bytes.js';

// One Uint32Array over the whole ArrayBuffer, cached: making a view per call costs more than the
// sum. Frames usually come from one slab or ring, so the cache nearly always hits; a miss
// allocates one view. Reading `b.buffer` costs about 17 ns on Node 20 (V8 does not inline that
// accessor), so the array last seen is remembered too and matched by identity first.
let cachedBuffer: ArrayBufferLike | null = null;
let cachedWords: Uint32Array = new Uint32Array(0);
let lastBytes: Uint8Array | null = null;

function wordsOf(b: Uint8Array): Uint32Array {
  if (b === lastBytes) return cachedWords;
  const buffer = b.buffer;
  if (buffer !== cachedBuffer) {
    cachedBuffer = buffer;
    cachedWords = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
  }
  lastBytes = b;
  return cachedWords;
}

/**
 * The native addon's sum for long ranges (its `inetSum`: 64-bit words in Rust, several times this
 * file's loop on 64 KiB), installed by the native loader (src/native/index.ts) on every thread
 * that loads the addon; null otherwise. A slot rather than an import: wire/ depends on nothing.
 * `sum16` uses it from `min` bytes up, where the call's fixed cost (~200 ns) is repaid.
 */
export const NativeSum: { fn: ((b: Uint8Array, off: number, len: number) => number) | null; min: number } = { fn: null, min: 2048 };

/** Below this many bytes a byte-pair loop beats setting up the word loop (measured here). */
const WORD_LOOP_MIN = 64;

/** Byte-pair sum for short ranges (headers): no view lookup at all. */
function sumPairs(b: Uint8Array, off: number, len: number, initial: number): number {
  let s = initial;
  let i = off;
  const end = off + len;
  const e8 = off + (len & ~7);
  for (; i < e8; i += 8) {
    s += ((b[i]! << 8) | b[i + 1]!) + ((b[i + 2]! << 8) | b[i + 3]!) + ((b[i + 4]! << 8) | b[i + 5]!) + ((b[i + 6]! << 8) | b[i + 7]!);
  }
  for (; i + 1 < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (i < end) s += b[i]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

// 512 iterations of at most 16 x 0xffff per accumulator keep both, and their sum, below 2^31.
const CHUNK_WORDS = 8192;

/**
 * Folded one's-complement sum of `len` bytes at `off`, added to `initial` (a previous sum).
 * An odd final byte is padded with a zero byte on the right, as RFC 1071 says.
 * Allocates nothing (after the first call on a given ArrayBuffer).
 *
 * How: the sum is 256 * (bytes at even positions of the data) + (bytes at odd positions), folded
 * (RFC 1071 §2(B), byte-order independence). The loop reads aligned 32-bit words with native
 * (little-endian) loads and adds their 16-bit halves, which weights bytes at even *memory*
 * addresses by 1 and odd ones by 256; unaligned head and tail bytes are added with the same
 * weights. When the data starts at an even address that is the byte-swapped sum; when it starts
 * at an odd one it is the sum itself.
 */
export function sum16(b: Uint8Array, off = 0, len = b.length - off, initial = 0): number {
  if (len < WORD_LOOP_MIN) return sumPairs(b, off, len, initial);
  if (len >= NativeSum.min && NativeSum.fn !== null) {
    let n = NativeSum.fn(b, off, len) + initial;
    while (n > 0xffff) n = (n & 0xffff) + (n >>> 16);
    return n;
  }
  const base = b.byteOffset;
  const start = base + off;
  const end = start + len;
  let p = start;
  let s = 0;
  // Head: bytes up to a 4-byte boundary.
  while ((p & 3) !== 0) {
    s += (p & 1) === 0 ? b[p - base]! : b[p - base]! << 8;
    p++;
  }
  // Body: whole aligned words, sixteen at a time (one chunk covers any frame; longer inputs
  // fold between chunks to keep the accumulators small integers).
  const w = wordsOf(b);
  let i = p >>> 2;
  const wordEnd = end >>> 2;
  while (wordEnd - i >= 16) {
    const stop = i + Math.min(CHUNK_WORDS, (wordEnd - i) & ~15);
    let hi = 0;
    let lo = 0;
    for (; i < stop; i += 16) {
      const a = w[i]!;
      const c = w[i + 1]!;
      const d = w[i + 2]!;
      const e = w[i + 3]!;
      const f = w[i + 4]!;
      const g = w[i + 5]!;
      const h = w[i + 6]!;
      const k = w[i + 7]!;
      const a2 = w[i + 8]!;
      const c2 = w[i + 9]!;
      const d2 = w[i + 10]!;
      const e2 = w[i + 11]!;
      const f2 = w[i + 12]!;
      const g2 = w[i + 13]!;
      const h2 = w[i + 14]!;
      const k2 = w[i + 15]!;
      hi += (a >>> 16) + (c >>> 16) + (d >>> 16) + (e >>> 16) + (f >>> 16) + (g >>> 16) + (h >>> 16) + (k >>> 16);
      hi += (a2 >>> 16) + (c2 >>> 16) + (d2 >>> 16) + (e2 >>> 16) + (f2 >>> 16) + (g2 >>> 16) + (h2 >>> 16) + (k2 >>> 16);
      lo += (a & 0xffff) + (c & 0xffff) + (d & 0xffff) + (e & 0xffff) + (f & 0xffff) + (g & 0xffff) + (h & 0xffff) + (k & 0xffff);
      lo += (a2 & 0xffff) + (c2 & 0xffff) + (d2 & 0xffff) + (e2 & 0xffff) + (f2 & 0xffff) + (g2 & 0xffff) + (h2 & 0xffff) + (k2 & 0xffff);
    }
    s += hi + lo;
    s = (s & 0xffff) + (s >>> 16);
  }
  for (; i < wordEnd; i++) {
    const a = w[i]!;
    s += (a >>> 16) + (a & 0xffff);
  }
  // Tail: the last 0-3 bytes.
  for (p = i << 2; p < end; p++) s += (p & 1) === 0 ? b[p - base]! : b[p - base]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  // Native loads are little-endian on every platform Node runs on (x64, arm64).
  if ((start & 1) === 0) s = ((s & 0xff) << 8) | (s >>> 8);
  s += initial;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/**
 * The Internet checksum (RFC 1071) of `len` bytes at `off`: the complemented sum, the value a
 * header's checksum field holds. Over a header whose checksum field is correct it returns 0.
 */
export function checksum(b: Uint8Array, off = 0, len = b.length - off): number {
  return ~sum16(b, off, len) & 0xffff;
}

/**
 * Slow reference: a byte-pair loop written from RFC 1071 §4.1, kept for differential tests of
 * the fast loop (as gVisor keeps `ChecksumOld`). Returns the folded sum, like `sum16`.
 */
export function sum16Reference(b: Uint8Array, off = 0, len = b.length - off, initial = 0): number {
  let s = initial;
  let i = off;
  const end = off + len;
  for (; i + 1 < end; i += 2) s += be16(b, i);
  if (i < end) s += b[i]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** One's-complement addition of two sums with end-around carry (RFC 1071 §2(A)). */
export function combineChecksums(a: number, b: number): number {
  const s = (a & 0xffff) + (b & 0xffff);
  return (s & 0xffff) + (s >>> 16);
}

/**
 * Sum of the IPv4 pseudo-header (RFC 9293 §3.1, RFC 768): source, destination, zero, protocol,
 * and the upper-layer length. Not complemented: combine it with the segment's `sum16` and
 * complement the result.
 */
export function pseudoHeaderSumV4(proto: number, src: number, dst: number, length: number): number {
  let s = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + (length & 0xffff) + (length >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return (s & 0xffff) + (s >>> 16);
}

/**
 * Sum of the IPv6 pseudo-header (RFC 8200 §8.1): 16-byte source at `srcOff` and destination at
 * `dstOff` in `b` (usually the packet's own header), the 32-bit upper-layer length and the next
 * header value. Not complemented.
 */
export function pseudoHeaderSumV6(proto: number, b: Uint8Array, srcOff: number, dstOff: number, length: number): number {
  let s = proto + (length & 0xffff) + (length >>> 16);
  for (let i = 0; i < 16; i += 2) s += be16(b, srcOff + i) + be16(b, dstOff + i);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/**
 * Checksum of a TCP or UDP segment over IPv4, given the segment's range with its checksum field
 * as it is (zero it first when computing a new one). Returns the value for the field.
 */
export function transportChecksumV4(proto: number, src: number, dst: number, b: Uint8Array, off: number, len: number): number {
  return ~sum16(b, off, len, pseudoHeaderSumV4(proto, src, dst, len)) & 0xffff;
}

/** As `transportChecksumV4`, over IPv6 with addresses read from `b` at `srcOff` and `dstOff`. */
export function transportChecksumV6(
  proto: number,
  addrBuf: Uint8Array,
  srcOff: number,
  dstOff: number,
  b: Uint8Array,
  off: number,
  len: number,
): number {
  return ~sum16(b, off, len, pseudoHeaderSumV6(proto, addrBuf, srcOff, dstOff, len)) & 0xffff;
}

/**
 * RFC 1624 §3 eqn. 3: the new checksum field after one 16-bit word of the covered data changes
 * from `oldWord` to `newWord`: HC' = ~(~HC + ~m + m'). Handles the -0/+0 case the RFC describes.
 */
export function checksumUpdate16(oldChecksum: number, oldWord: number, newWord: number): number {
  let s = (~oldChecksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** RFC 1624 update for a 32-bit field (an IPv4 address) changing from `oldValue` to `newValue`. */
export function checksumUpdate32(oldChecksum: number, oldValue: number, newValue: number): number {
  let s =
    (~oldChecksum & 0xffff) +
    (~(oldValue >>> 16) & 0xffff) +
    (~oldValue & 0xffff) +
    ((newValue >>> 16) & 0xffff) +
    (newValue & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/**
 * RFC 1624 generalised: the new checksum field after covered data whose sum was `oldSum` now
 * sums to `newSum` (both folded `sum16` values, e.g. of an address before and after a rewrite).
 */
export function checksumAdjust(oldChecksum: number, oldSum: number, newSum: number): number {
  let s = (~oldChecksum & 0xffff) + (~oldSum & 0xffff) + (newSum & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}
