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
 * and folded at the end. The fast loop reads 32-bit big-endian words through a DataView, four at
 * a time into two accumulators (see docs/BENCHMARKS.md for the speed). Input is summed in 32 KiB
 * chunks, folded in between, so that the accumulators stay small integers (no deopt to doubles).
 */

import { be16 } from './bytes.js';

// One DataView per ArrayBuffer, cached: making a DataView per call costs more than summing a
// small header. Frames usually come from one slab or ring, so this one-entry cache nearly always
// hits; a miss allocates one DataView.
let cachedBuffer: ArrayBufferLike | null = null;
let cachedView: DataView = new DataView(new ArrayBuffer(0));

function viewOf(b: Uint8Array): DataView {
  if (b.buffer !== cachedBuffer) {
    cachedBuffer = b.buffer;
    cachedView = new DataView(b.buffer);
  }
  return cachedView;
}

// 2048 iterations of at most 4 x 0xffff per accumulator keep both, and their sum, below 2^31.
const CHUNK = 32768;

/**
 * Folded one's-complement sum of `len` bytes at `off`, added to `initial` (a previous sum).
 * An odd final byte is padded with a zero byte on the right, as RFC 1071 says.
 * Allocates nothing (after the first call on a given ArrayBuffer).
 */
export function sum16(b: Uint8Array, off = 0, len = b.length - off, initial = 0): number {
  const dv = viewOf(b);
  let i = b.byteOffset + off;
  const end = i + len;
  let s = initial;
  while (end - i >= 16) {
    const stop = i + Math.min(CHUNK, (end - i) & ~15);
    let s0 = 0;
    let s1 = 0;
    for (; i < stop; i += 16) {
      const a = dv.getUint32(i);
      const c = dv.getUint32(i + 4);
      const d = dv.getUint32(i + 8);
      const e = dv.getUint32(i + 12);
      s0 += (a >>> 16) + (a & 0xffff) + (c >>> 16) + (c & 0xffff);
      s1 += (d >>> 16) + (d & 0xffff) + (e >>> 16) + (e & 0xffff);
    }
    s += s0 + s1;
    s = (s & 0xffff) + Math.floor(s / 0x10000);
  }
  for (; i + 1 < end; i += 2) s += dv.getUint16(i);
  if (i < end) s += dv.getUint8(i) << 8;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
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
