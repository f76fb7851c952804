/**
 * UDP header (RFC 768), with its checksum over IPv4 (RFC 768) and IPv6 (RFC 8200 §8.1).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |          Source Port          |       Destination Port        |
 *   |            Length             |           Checksum            |
 *   |                          data ...                             |
 *
 * `UdpView` reads and writes a header in place; `UdpFields` is the parsed value, filled by
 * `parseUdp` and written by `emitUdp` (no checksum) or `emitUdpV4`/`emitUdpV6` (with one).
 * After `check()` returns Ok the datagram is bounded by the Length field: bytes after it in the
 * buffer (Ethernet padding, or an IP payload longer than the datagram) are not payload.
 *
 * Checksums: the checksum covers a pseudo-header, the header and the data. A computed checksum of
 * zero is sent as 0xffff (RFC 768: "If the computed checksum is zero, it is transmitted as all
 * ones"), because a zero field means something else: over IPv4, "no checksum" (the datagram is
 * accepted); over IPv6, an invalid datagram (RFC 8200 §8.1: "IPv6 receivers must discard UDP
 * packets containing a zero checksum").
 *
 * Not handled here: IPv6 jumbograms (RFC 2675, Length 0; rejected as BadLength), the RFC 6936
 * zero-checksum exception for tunnels over IPv6, and UDP-Lite.
 */

import { EMPTY_BYTES, be16, setBe16 } from './bytes.js';
import { transportChecksumV4, transportChecksumV6 } from './checksum.js';
import { IpProto } from './ipv4.js';
import { WireStatus, wireFormatError } from './status.js';

const SRC_PORT = 0;
const DST_PORT = 2;
const LENGTH = 4;
const CSUM = 6;

export const UDP_HEADER_LEN = 8;
/** The checksum field's value for "no checksum" (IPv4 only). */
export const UDP_NO_CHECKSUM = 0;
/** What a computed checksum of zero is sent as. */
const CSUM_ZERO_SENT_AS = 0xffff;

/** A reusable view over a UDP header in place. Not safe to share across reentrant calls. */
export class UdpView {
  buf: Uint8Array = EMPTY_BYTES;
  off = 0;
  len = 0;

  /**
   * Points the view at `len` bytes of `buf` from `off` (normally the IP payload, whose length the
   * IP header gives). Call `check()` before the accessors.
   */
  reset(buf: Uint8Array, off = 0, len = buf.length - off): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /** The one check at the trust boundary: 8 <= Length <= buffer. After Ok every accessor reads in bounds. */
  check(): WireStatus {
    if (this.len < UDP_HEADER_LEN) return WireStatus.Truncated;
    const length = be16(this.buf, this.off + LENGTH);
    if (length < UDP_HEADER_LEN) return WireStatus.BadLength;
    if (length > this.len) return WireStatus.Truncated;
    return WireStatus.Ok;
  }

  get srcPort(): number {
    return be16(this.buf, this.off + SRC_PORT);
  }
  set srcPort(v: number) {
    setBe16(this.buf, this.off + SRC_PORT, v);
  }
  get dstPort(): number {
    return be16(this.buf, this.off + DST_PORT);
  }
  set dstPort(v: number) {
    setBe16(this.buf, this.off + DST_PORT, v);
  }
  /** Length: header plus data, in bytes. */
  get length(): number {
    return be16(this.buf, this.off + LENGTH);
  }
  set length(v: number) {
    setBe16(this.buf, this.off + LENGTH, v);
  }
  get checksum(): number {
    return be16(this.buf, this.off + CSUM);
  }
  set checksum(v: number) {
    setBe16(this.buf, this.off + CSUM, v);
  }
  /** Offset (in `buf`) of the data. */
  get payloadOff(): number {
    return this.off + UDP_HEADER_LEN;
  }
  /** Data length: Length minus the header. */
  get payloadLen(): number {
    return be16(this.buf, this.off + LENGTH) - UDP_HEADER_LEN;
  }

  /**
   * True when the checksum verifies over IPv4 with addresses `src` and `dst` (uint32s), or when
   * the field is zero: RFC 768 lets an IPv4 sender leave the checksum out.
   */
  verifyChecksumV4(src: number, dst: number): boolean {
    if (be16(this.buf, this.off + CSUM) === UDP_NO_CHECKSUM) return true;
    return transportChecksumV4(IpProto.UDP, src, dst, this.buf, this.off, this.length) === 0;
  }
  /** Computes and stores the checksum over IPv4 (a computed zero is stored as 0xffff). */
  fillChecksumV4(src: number, dst: number): void {
    setBe16(this.buf, this.off + CSUM, 0);
    const c = transportChecksumV4(IpProto.UDP, src, dst, this.buf, this.off, this.length);
    setBe16(this.buf, this.off + CSUM, c === 0 ? CSUM_ZERO_SENT_AS : c);
  }
  /**
   * True when the checksum verifies over IPv6, the 16-byte source and destination addresses being
   * at `srcOff` and `dstOff` in `addrBuf` (normally the packet's own IPv6 header). A zero field is
   * false: RFC 8200 §8.1 makes the checksum mandatory.
   */
  verifyChecksumV6(addrBuf: Uint8Array, srcOff: number, dstOff: number): boolean {
    if (be16(this.buf, this.off + CSUM) === UDP_NO_CHECKSUM) return false;
    return transportChecksumV6(IpProto.UDP, addrBuf, srcOff, dstOff, this.buf, this.off, this.length) === 0;
  }
  /** Computes and stores the checksum over IPv6 (a computed zero is stored as 0xffff). */
  fillChecksumV6(addrBuf: Uint8Array, srcOff: number, dstOff: number): void {
    setBe16(this.buf, this.off + CSUM, 0);
    const c = transportChecksumV6(IpProto.UDP, addrBuf, srcOff, dstOff, this.buf, this.off, this.length);
    setBe16(this.buf, this.off + CSUM, c === 0 ? CSUM_ZERO_SENT_AS : c);
  }
}

/** The parsed value of a UDP header (smoltcp's `UdpRepr`). The checksum is not a field: it is computed. */
export interface UdpFields {
  srcPort: number;
  dstPort: number;
  /** Data length in bytes (Length minus the 8-byte header). */
  payloadLen: number;
}

/** Fresh fields, all zero. */
export function newUdpFields(): UdpFields {
  return { srcPort: 0, dstPort: 0, payloadLen: 0 };
}

/** Checks `v` and fills `out`. Allocates nothing. Checksums are verified by the view's methods. */
export function parseUdp(v: UdpView, out: UdpFields): WireStatus {
  const st = v.check();
  if (st !== WireStatus.Ok) return st;
  out.srcPort = v.srcPort;
  out.dstPort = v.dstPort;
  out.payloadLen = v.payloadLen;
  return WireStatus.Ok;
}

/** Header length `emitUdp` writes: always 8 (the data, `f.payloadLen` bytes, is the caller's). */
export function udpEmitLen(_f: UdpFields): number {
  return UDP_HEADER_LEN;
}

/**
 * Writes the header for `f` at `off` with a zero checksum, which over IPv4 means "no checksum"
 * and over IPv6 is invalid: use `emitUdpV4`/`emitUdpV6` to send one. Returns the header length.
 * The caller guarantees room.
 */
export function emitUdp(f: UdpFields, buf: Uint8Array, off: number): number {
  setBe16(buf, off + SRC_PORT, f.srcPort);
  setBe16(buf, off + DST_PORT, f.dstPort);
  setBe16(buf, off + LENGTH, UDP_HEADER_LEN + f.payloadLen);
  setBe16(buf, off + CSUM, UDP_NO_CHECKSUM);
  return UDP_HEADER_LEN;
}

/**
 * As `emitUdp`, then fills the checksum over IPv4 addresses `src` and `dst`. The data
 * (`f.payloadLen` bytes) must already be in place after the header: the checksum covers it.
 */
export function emitUdpV4(f: UdpFields, buf: Uint8Array, off: number, src: number, dst: number): number {
  emitUdp(f, buf, off);
  const c = transportChecksumV4(IpProto.UDP, src, dst, buf, off, UDP_HEADER_LEN + f.payloadLen);
  setBe16(buf, off + CSUM, c === 0 ? CSUM_ZERO_SENT_AS : c);
  return UDP_HEADER_LEN;
}

/**
 * As `emitUdp`, then fills the checksum over IPv6 addresses at `srcOff` and `dstOff` in `addrBuf`
 * (16 bytes each; usually the IPv6 header just written). The data must already be in place.
 */
export function emitUdpV6(
  f: UdpFields,
  buf: Uint8Array,
  off: number,
  addrBuf: Uint8Array,
  srcOff: number,
  dstOff: number,
): number {
  emitUdp(f, buf, off);
  const c = transportChecksumV6(IpProto.UDP, addrBuf, srcOff, dstOff, buf, off, UDP_HEADER_LEN + f.payloadLen);
  setBe16(buf, off + CSUM, c === 0 ? CSUM_ZERO_SENT_AS : c);
  return UDP_HEADER_LEN;
}

/**
 * Cold-path convenience: parses a UDP header from `bytes` (to its end: the IP payload) into new
 * fields. Does not verify the checksum.
 * @throws {WireFormatError} naming the reason when `bytes` is not a valid UDP datagram.
 */
export function decodeUdp(bytes: Uint8Array, off = 0): UdpFields {
  const f = newUdpFields();
  const st = parseUdp(new UdpView().reset(bytes, off), f);
  if (st !== WireStatus.Ok) throw wireFormatError('udp', st, off);
  return f;
}
