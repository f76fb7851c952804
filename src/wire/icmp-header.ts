/**
 * The header every ICMP and ICMPv6 message starts with (RFC 792, RFC 4443 §2.1, which Neighbor
 * Discovery messages share, RFC 4861 §4):
 *
 *   | Type (1) | Code (1) | Checksum (2) | message body…
 *
 * `IcmpHeaderView` holds what Icmpv4View, Icmpv6View and NdpView have in common: the position in
 * the buffer, `reset`, and the three header fields. Each subclass has its own `check()` and body
 * fields; the checksum rules differ (ICMPv6 covers a pseudo-header), so they are not here.
 */

import { EMPTY_BYTES, be16, setBe16 } from './bytes.js';

const TYPE = 0;
const CODE = 1;
const CSUM = 2;

export class IcmpHeaderView {
  buf: Uint8Array = EMPTY_BYTES;
  off = 0;
  len = 0;

  /**
   * Points the view at the `len` bytes of the message in `buf` from `off`: the IP payload length
   * (ICMP has no length field of its own). Call `check()` before the accessors.
   */
  reset(buf: Uint8Array, off = 0, len = buf.length - off): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  get type(): number {
    return this.buf[this.off + TYPE]!;
  }
  set type(v: number) {
    this.buf[this.off + TYPE] = v;
  }
  get code(): number {
    return this.buf[this.off + CODE]!;
  }
  set code(v: number) {
    this.buf[this.off + CODE] = v;
  }
  get checksum(): number {
    return be16(this.buf, this.off + CSUM);
  }
  set checksum(v: number) {
    setBe16(this.buf, this.off + CSUM, v);
  }
}
