/**
 * ICMPv6 (RFC 4443): the error messages of §3 and Echo of §4, with the checksum over the IPv6
 * pseudo-header (RFC 4443 §2.3, RFC 8200 §8.1). Neighbor Discovery messages, which are ICMPv6
 * types 133 to 137, have their own view in ndp.ts.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Type      |     Code      |          Checksum             |
 *   |  rest of header: by type (below)                              |
 *   |  data: echo data, or as much of the invoking packet as fits   |
 *
 *   Destination Unreachable (1), Time Exceeded (3):  unused (32)
 *   Packet Too Big (2):                              MTU (32)
 *   Parameter Problem (4):                           Pointer (32)
 *   Echo Request (128) / Echo Reply (129):           Identifier (16) | Sequence Number (16)
 *
 * `Icmpv6View` reads and writes a message in place; `Icmpv6Fields` is the parsed value, filled by
 * `parseIcmpv6` and written by `emitIcmpv6`. ICMPv6 has no length field: reset the view with the
 * upper-layer length (the IPv6 payload after any extension headers), not the frame's.
 *
 * Checksums take the location of the two 16-byte addresses of the pseudo-header
 * (`addrBuf`, `srcOff`, `dstOff`), normally the packet's own IPv6 header, so nothing is copied.
 * For a reply, that is the header of the packet being built, with its addresses already written.
 *
 * Errors quote the invoking packet from its IPv6 header on (`quoteOff`). RFC 4443 §2.4(c) has the
 * sender quote as much as fits in the minimum IPv6 MTU (1280 bytes), so `parseIcmpv6` insists on
 * at least a whole IPv6 header (40 bytes) for the error types.
 *
 * Not handled here: the RFC 4884 extension structure (its length byte is in the "unused" word,
 * which is written as zero), MLD (RFC 2710, RFC 3810), Node Information and other informational
 * types; `parseIcmpv6` returns Unsupported for every type but the four errors and Echo. The rate
 * limiting and the "do not answer an error with an error" rules of §2.4 are engine policy.
 */

import { IcmpHeaderView } from './icmp-header.js';
import { be16, be32, setBe16, setBe32 } from './bytes.js';
import { transportChecksumV6 } from './checksum.js';
import { IpProto } from './ipv4.js';
import { WireStatus, wireFormatError } from './status.js';

const TYPE = 0;
const CODE = 1;
const CSUM = 2;
const REST = 4;
const ECHO_IDENT = 4;
const ECHO_SEQ = 6;
const PTB_MTU = 4;
const PARAM_POINTER = 4;
const DATA = 8;

export const ICMPV6_HEADER_LEN = 8;
/** RFC 8200 §3: a fixed IPv6 header; the least an error can quote of its invoking packet. */
export const ICMPV6_MIN_QUOTE_LEN = 40;

/** ICMPv6 types (IANA "ICMPv6 Type Numbers"): errors have the high bit clear (RFC 4443 §2.1). */
export const Icmpv6Type = {
  DestUnreachable: 1,
  PacketTooBig: 2,
  TimeExceeded: 3,
  ParamProblem: 4,
  EchoRequest: 128,
  EchoReply: 129,
  MldQuery: 130,
  MldReport: 131,
  MldDone: 132,
  RouterSolicitation: 133,
  RouterAdvertisement: 134,
  NeighborSolicitation: 135,
  NeighborAdvertisement: 136,
  Redirect: 137,
  Mldv2Report: 143,
} as const;

/** RFC 4443 §2.1: types below 128 are errors. */
const ERROR_TYPE_LIMIT = 128;

/** Destination Unreachable codes (RFC 4443 §3.1; 7 from RFC 6550, 8 from RFC 8883). */
export const Icmpv6UnreachCode = {
  NoRoute: 0,
  AdminProhibited: 1,
  BeyondScope: 2,
  Address: 3,
  Port: 4,
  SourcePolicy: 5,
  RejectRoute: 6,
  SourceRoutingHeader: 7,
  HeadersTooLong: 8,
} as const;

/** Time Exceeded codes (RFC 4443 §3.3). */
export const Icmpv6TimeExceededCode = { HopLimit: 0, FragReassembly: 1 } as const;

/** Parameter Problem codes (RFC 4443 §3.4). */
export const Icmpv6ParamProblemCode = { Header: 0, NextHeader: 1, Option: 2 } as const;

/** True for the error types (RFC 4443 §2.1: the high bit of the type is clear). */
export function icmpv6IsError(type: number): boolean {
  return type < ERROR_TYPE_LIMIT;
}

/** A reusable view over an ICMPv6 message in place. Not safe to share across reentrant calls. */
export class Icmpv6View extends IcmpHeaderView {
  /** The one check at the trust boundary: at least the 8-byte header. After Ok every accessor reads in bounds. */
  check(): WireStatus {
    return this.len < ICMPV6_HEADER_LEN ? WireStatus.Truncated : WireStatus.Ok;
  }

  /** Echo Request and Reply: the identifier. */
  get ident(): number {
    return be16(this.buf, this.off + ECHO_IDENT);
  }
  set ident(v: number) {
    setBe16(this.buf, this.off + ECHO_IDENT, v);
  }
  /** Echo Request and Reply: the sequence number. */
  get seq(): number {
    return be16(this.buf, this.off + ECHO_SEQ);
  }
  set seq(v: number) {
    setBe16(this.buf, this.off + ECHO_SEQ, v);
  }
  /** Packet Too Big: the MTU of the next-hop link (uint32). */
  get mtu(): number {
    return be32(this.buf, this.off + PTB_MTU);
  }
  set mtu(v: number) {
    setBe32(this.buf, this.off + PTB_MTU, v);
  }
  /** Parameter Problem: offset of the offending octet in the quoted packet (uint32). */
  get pointer(): number {
    return be32(this.buf, this.off + PARAM_POINTER);
  }
  set pointer(v: number) {
    setBe32(this.buf, this.off + PARAM_POINTER, v);
  }
  /** True for the error types (below 128). */
  get isError(): boolean {
    return this.buf[this.off + TYPE]! < ERROR_TYPE_LIMIT;
  }
  /** Offset (in `buf`) of the data: echo data, or the invoking packet's IPv6 header. */
  get payloadOff(): number {
    return this.off + DATA;
  }
  /** Length of the data after the 8-byte header. */
  get payloadLen(): number {
    return this.len - ICMPV6_HEADER_LEN;
  }
  /** For errors: offset (in `buf`) of the quoted invoking packet (its IPv6 header). */
  get quoteOff(): number {
    return this.off + DATA;
  }
  /** For errors: how many bytes of the invoking packet are quoted. */
  get quoteLen(): number {
    return this.len - ICMPV6_HEADER_LEN;
  }

  /**
   * True when the checksum verifies over the pseudo-header whose 16-byte source and destination
   * addresses are at `srcOff` and `dstOff` in `addrBuf`.
   */
  verifyChecksum(addrBuf: Uint8Array, srcOff: number, dstOff: number): boolean {
    return transportChecksumV6(IpProto.ICMPv6, addrBuf, srcOff, dstOff, this.buf, this.off, this.len) === 0;
  }
  /** Computes and stores the checksum over the pseudo-header and the whole message. */
  fillChecksum(addrBuf: Uint8Array, srcOff: number, dstOff: number): void {
    setBe16(this.buf, this.off + CSUM, 0);
    setBe16(
      this.buf,
      this.off + CSUM,
      transportChecksumV6(IpProto.ICMPv6, addrBuf, srcOff, dstOff, this.buf, this.off, this.len),
    );
  }
}

/**
 * The parsed value of an ICMPv6 error or echo message (smoltcp's `Icmpv6Repr`, flattened): the
 * fields of the rest of the header that the type does not use are zero.
 */
export interface Icmpv6Fields {
  type: number;
  code: number;
  /** Echo Request, Echo Reply. */
  ident: number;
  /** Echo Request, Echo Reply. */
  seq: number;
  /** Packet Too Big (uint32). */
  mtu: number;
  /** Parameter Problem (uint32). */
  pointer: number;
  /** Bytes after the 8-byte header: echo data or the quoted packet. */
  payloadLen: number;
}

/** Fresh fields: an Echo Request with everything else zero. */
export function newIcmpv6Fields(): Icmpv6Fields {
  return { type: Icmpv6Type.EchoRequest, code: 0, ident: 0, seq: 0, mtu: 0, pointer: 0, payloadLen: 0 };
}

/**
 * Checks `v` and fills `out`. Allocates nothing. Types other than the four errors and Echo give
 * Unsupported (Neighbor Discovery goes to ndp.ts); an error quoting less than an IPv6 header gives
 * Truncated. To verify the checksum, call `v.verifyChecksum(...)`, which needs the addresses.
 */
export function parseIcmpv6(v: Icmpv6View, out: Icmpv6Fields): WireStatus {
  const st = v.check();
  if (st !== WireStatus.Ok) return st;
  const type = v.type;
  const echo = type === Icmpv6Type.EchoRequest || type === Icmpv6Type.EchoReply;
  if (!echo && (type < Icmpv6Type.DestUnreachable || type > Icmpv6Type.ParamProblem)) return WireStatus.Unsupported;
  if (!echo && v.quoteLen < ICMPV6_MIN_QUOTE_LEN) return WireStatus.Truncated;
  out.type = type;
  out.code = v.code;
  out.ident = echo ? v.ident : 0;
  out.seq = echo ? v.seq : 0;
  out.mtu = type === Icmpv6Type.PacketTooBig ? v.mtu : 0;
  out.pointer = type === Icmpv6Type.ParamProblem ? v.pointer : 0;
  out.payloadLen = v.payloadLen;
  return WireStatus.Ok;
}

/** Header length `emitIcmpv6` writes: always 8 (the data, `f.payloadLen` bytes, is the caller's). */
export function icmpv6EmitLen(_f: Icmpv6Fields): number {
  return ICMPV6_HEADER_LEN;
}

/**
 * Writes the header for `f` at `off`, the rest of the header laid out for `f.type` (unused bits
 * zero), and the checksum over the pseudo-header (addresses at `srcOff` and `dstOff` in `addrBuf`),
 * the header and the `f.payloadLen` bytes of data, which must already be in place after it.
 * Returns the header length. The caller guarantees room.
 */
export function emitIcmpv6(
  f: Icmpv6Fields,
  buf: Uint8Array,
  off: number,
  addrBuf: Uint8Array,
  srcOff: number,
  dstOff: number,
): number {
  const type = f.type;
  buf[off + TYPE] = type;
  buf[off + CODE] = f.code;
  setBe16(buf, off + CSUM, 0);
  if (type === Icmpv6Type.EchoRequest || type === Icmpv6Type.EchoReply) {
    setBe16(buf, off + ECHO_IDENT, f.ident);
    setBe16(buf, off + ECHO_SEQ, f.seq);
  } else if (type === Icmpv6Type.PacketTooBig) {
    setBe32(buf, off + PTB_MTU, f.mtu);
  } else if (type === Icmpv6Type.ParamProblem) {
    setBe32(buf, off + PARAM_POINTER, f.pointer);
  } else {
    setBe32(buf, off + REST, 0);
  }
  const len = ICMPV6_HEADER_LEN + f.payloadLen;
  setBe16(buf, off + CSUM, transportChecksumV6(IpProto.ICMPv6, addrBuf, srcOff, dstOff, buf, off, len));
  return ICMPV6_HEADER_LEN;
}

/**
 * Cold-path convenience: parses an ICMPv6 message (all of `bytes` from `off`) into new fields.
 * Does not verify the checksum (that needs the IPv6 addresses).
 * @throws {WireFormatError} naming the reason when `bytes` is not a message this codec models.
 */
export function decodeIcmpv6(bytes: Uint8Array, off = 0): Icmpv6Fields {
  const f = newIcmpv6Fields();
  const st = parseIcmpv6(new Icmpv6View().reset(bytes, off), f);
  if (st !== WireStatus.Ok) throw wireFormatError('icmpv6', st, off);
  return f;
}
