/**
 * The seed API's `PseudoHeaderChecksum(proto, src, dst, length)` over address values, for code
 * ported from the Go README. Engines use `pseudoHeaderSumV4`/`pseudoHeaderSumV6` on numbers and
 * in-place bytes instead (no IpAddr objects on a packet path).
 */

import { PktTypeError } from '../errors.js';
import type { IpAddr } from '../wire/addr.js';
import { pseudoHeaderSumV4, pseudoHeaderSumV6 } from '../wire/checksum.js';

const pair = new Uint8Array(32);

/**
 * The un-complemented pseudo-header sum (as Go's PseudoHeaderChecksum), ready for
 * `combineChecksums` with the segment's `sum16`.
 * @throws {PktTypeError} when the two addresses are of different families.
 */
export function pseudoHeaderChecksum(proto: number, src: IpAddr, dst: IpAddr, length: number): number {
  if (src.family !== dst.family) throw new PktTypeError(`pseudoHeaderChecksum: src is IPv${src.family} but dst is IPv${dst.family}`);
  if (src.family === 4) return pseudoHeaderSumV4(proto, src.v4, dst.v4, length);
  pair.set(src.bytes, 0);
  pair.set(dst.bytes, 16);
  return pseudoHeaderSumV6(proto, pair, 0, 16, length);
}
