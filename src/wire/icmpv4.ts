/**
 * ICMP for IPv4 (RFC 792), with the Next-Hop MTU of Fragmentation Needed (RFC 1191 §4).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Type      |     Code      |          Checksum             |
 *   |  rest of header: by type (below)                              |
 *   |  data: echo data, or the quoted datagram of an error          |
 *
 *   Echo (8) / Echo Reply (0):     Identifier (16) | Sequence Number (16)
 *   Destination Unreachable (3):   unused (16)     | Next-Hop MTU (16, code 4 only: RFC 1191)
 *   Redirect (5):                  Gateway Internet Address (32)
 *   Time Exceeded (11):            unused (32)
 *   Parameter Problem (12):        Pointer (8)     | unused (24)
 *
 * `Icmpv4View` reads and writes a message in place; `Icmpv4Fields` is the parsed value, filled by
 * `parseIcmpv4` and written by `emitIcmpv4`. ICMP has no length field: the message is the whole
 * IPv4 payload, so reset the view with the IPv4 header's payload length, never the frame's (the
 * checksum covers exactly the message, and Ethernet padding would break it).
 *
 * Errors (Destination Unreachable, Time Exceeded, Parameter Problem) and Redirect quote "the
 * internet header plus the first 64 bits of the original datagram's data" (RFC 792) at
 * `quoteOff`; Linux quotes up to 576 bytes in all (RFC 1812 §4.3.2.3). `parseIcmpv4` insists on
 * the RFC 792 minimum of 28 quoted bytes, so an engine can read the quoted IPv4 header's fixed
 * part and the first 8 bytes after it (ports) once it has checked that header with an Ipv4View.
 *
 * Not handled here: Timestamp, Information and Address Mask messages (RFC 792/950, obsoleted by
 * RFC 6918), Source Quench (deprecated by RFC 6633), Router Discovery (RFC 1256), and the
 * RFC 4884 extension structure: its length byte, in the "unused" bits, is not read and is written
 * as zero. `parseIcmpv4` returns Unsupported for those types; the view still reads any type.
 */

import { IcmpHeaderView } from './icmp-header.js';
import { be16, be32, setBe16, setBe32 } from './bytes.js';
import { checksum } from './checksum.js';
import { IPV4_MIN_HEADER_LEN } from './ipv4.js';
import { WireStatus, wireFormatError } from './status.js';

const TYPE = 0;
const CODE = 1;
const CSUM = 2;
const REST = 4;
const ECHO_IDENT = 4;
const ECHO_SEQ = 6;
const UNREACH_UNUSED = 4;
const UNREACH_NEXT_HOP_MTU = 6;
const REDIRECT_GATEWAY = 4;
const PARAM_POINTER = 4;
const PARAM_UNUSED = 5;
const DATA = 8;

export const ICMPV4_HEADER_LEN = 8;
/** RFC 792: an error quotes at least the internet header and 64 bits of the datagram's data. */
export const ICMPV4_MIN_QUOTE_LEN = IPV4_MIN_HEADER_LEN + 8;

/** ICMP types (IANA "ICMP Type Numbers") that this codec models, plus a few others for display. */
export const Icmpv4Type = {
  EchoReply: 0,
  DestUnreachable: 3,
  SourceQuench: 4,
  Redirect: 5,
  Echo: 8,
  RouterAdvertisement: 9,
  RouterSolicitation: 10,
  TimeExceeded: 11,
  ParamProblem: 12,
  Timestamp: 13,
  TimestampReply: 14,
} as const;

/** Destination Unreachable codes (RFC 792; 4 from RFC 1191; 6 to 15 from RFC 1122 and RFC 1812). */
export const Icmpv4UnreachCode = {
  Net: 0,
  Host: 1,
  Protocol: 2,
  Port: 3,
  FragNeeded: 4,
  SourceRouteFailed: 5,
  NetUnknown: 6,
  HostUnknown: 7,
  SourceHostIsolated: 8,
  NetProhibited: 9,
  HostProhibited: 10,
  NetTos: 11,
  HostTos: 12,
  AdminProhibited: 13,
  HostPrecedenceViolation: 14,
  PrecedenceCutoff: 15,
} as const;

/** Redirect codes (RFC 792). */
export const Icmpv4RedirectCode = { Net: 0, Host: 1, TosNet: 2, TosHost: 3 } as const;

/** Time Exceeded codes (RFC 792). */
export const Icmpv4TimeExceededCode = { TtlExceeded: 0, FragReassembly: 1 } as const;

/** Parameter Problem codes (RFC 792; 1 from RFC 1108, 2 from RFC 1812). */
export const Icmpv4ParamProblemCode = { Pointer: 0, MissingOption: 1, BadLength: 2 } as const;

/** True for the types that quote the offending datagram: the three errors and Redirect. */
export function icmpv4QuotesDatagram(type: number): boolean {
  return (
    type === Icmpv4Type.DestUnreachable ||
    type === Icmpv4Type.Redirect ||
    type === Icmpv4Type.TimeExceeded ||
    type === Icmpv4Type.ParamProblem
  );
}

/** A reusable view over an ICMP message in place. Not safe to share across reentrant calls. */
export class Icmpv4View extends IcmpHeaderView {
  /** The one check at the trust boundary: at least the 8-byte header. After Ok every accessor reads in bounds. */
  check(): WireStatus {
    return this.len < ICMPV4_HEADER_LEN ? WireStatus.Truncated : WireStatus.Ok;
  }

  /** Echo and Echo Reply: the identifier. */
  get ident(): number {
    return be16(this.buf, this.off + ECHO_IDENT);
  }
  set ident(v: number) {
    setBe16(this.buf, this.off + ECHO_IDENT, v);
  }
  /** Echo and Echo Reply: the sequence number. */
  get seq(): number {
    return be16(this.buf, this.off + ECHO_SEQ);
  }
  set seq(v: number) {
    setBe16(this.buf, this.off + ECHO_SEQ, v);
  }
  /** Destination Unreachable, code FragNeeded: the next-hop MTU (RFC 1191 §4; 0 from old routers). */
  get nextHopMtu(): number {
    return be16(this.buf, this.off + UNREACH_NEXT_HOP_MTU);
  }
  set nextHopMtu(v: number) {
    setBe16(this.buf, this.off + UNREACH_NEXT_HOP_MTU, v);
  }
  /** Redirect: the gateway to use, as a uint32. */
  get gateway(): number {
    return be32(this.buf, this.off + REDIRECT_GATEWAY);
  }
  set gateway(v: number) {
    setBe32(this.buf, this.off + REDIRECT_GATEWAY, v);
  }
  /** Parameter Problem: offset of the offending byte in the quoted datagram. */
  get pointer(): number {
    return this.buf[this.off + PARAM_POINTER]!;
  }
  set pointer(v: number) {
    this.buf[this.off + PARAM_POINTER] = v;
  }
  /** True for Destination Unreachable, Redirect, Time Exceeded and Parameter Problem. */
  get quotesDatagram(): boolean {
    return icmpv4QuotesDatagram(this.buf[this.off + TYPE]!);
  }
  /** Offset (in `buf`) of the data: echo data, or the quoted datagram's IPv4 header. */
  get payloadOff(): number {
    return this.off + DATA;
  }
  /** Length of the data after the 8-byte header. */
  get payloadLen(): number {
    return this.len - ICMPV4_HEADER_LEN;
  }
  /** For errors and Redirect: offset (in `buf`) of the quoted datagram (its IPv4 header). */
  get quoteOff(): number {
    return this.off + DATA;
  }
  /** For errors and Redirect: how many bytes of the datagram are quoted. */
  get quoteLen(): number {
    return this.len - ICMPV4_HEADER_LEN;
  }

  /** True when the checksum (RFC 792: over the whole message) verifies. */
  verifyChecksum(): boolean {
    return checksum(this.buf, this.off, this.len) === 0;
  }
  /** Computes and stores the checksum over the whole message. */
  fillChecksum(): void {
    setBe16(this.buf, this.off + CSUM, 0);
    setBe16(this.buf, this.off + CSUM, checksum(this.buf, this.off, this.len));
  }
}

/**
 * The parsed value of an ICMP message (smoltcp's `Icmpv4Repr`, flattened): the fields of the
 * rest of the header that the type does not use are zero.
 */
export interface Icmpv4Fields {
  type: number;
  code: number;
  /** Echo, Echo Reply. */
  ident: number;
  /** Echo, Echo Reply. */
  seq: number;
  /** Destination Unreachable: the Next-Hop MTU word (RFC 1191; meaningful with code FragNeeded). */
  nextHopMtu: number;
  /** Redirect: the gateway (uint32). */
  gateway: number;
  /** Parameter Problem: the pointer. */
  pointer: number;
  /** Bytes after the 8-byte header: echo data or the quoted datagram. */
  payloadLen: number;
}

/** Fresh fields: an Echo request with everything else zero. */
export function newIcmpv4Fields(): Icmpv4Fields {
  return { type: Icmpv4Type.Echo, code: 0, ident: 0, seq: 0, nextHopMtu: 0, gateway: 0, pointer: 0, payloadLen: 0 };
}

/**
 * Checks `v` and fills `out`. Allocates nothing. Types outside Echo, Echo Reply, Destination
 * Unreachable, Redirect, Time Exceeded and Parameter Problem give Unsupported; an error or
 * Redirect quoting fewer than 28 bytes gives Truncated. With `verifyChecksum`, a wrong checksum
 * gives BadChecksum.
 */
export function parseIcmpv4(v: Icmpv4View, out: Icmpv4Fields, verifyChecksum = false): WireStatus {
  const st = v.check();
  if (st !== WireStatus.Ok) return st;
  const type = v.type;
  const quotes = icmpv4QuotesDatagram(type);
  if (!quotes && type !== Icmpv4Type.Echo && type !== Icmpv4Type.EchoReply) return WireStatus.Unsupported;
  if (quotes && v.quoteLen < ICMPV4_MIN_QUOTE_LEN) return WireStatus.Truncated;
  if (verifyChecksum && !v.verifyChecksum()) return WireStatus.BadChecksum;
  const echo = !quotes;
  out.type = type;
  out.code = v.code;
  out.ident = echo ? v.ident : 0;
  out.seq = echo ? v.seq : 0;
  out.nextHopMtu = type === Icmpv4Type.DestUnreachable ? v.nextHopMtu : 0;
  out.gateway = type === Icmpv4Type.Redirect ? v.gateway : 0;
  out.pointer = type === Icmpv4Type.ParamProblem ? v.pointer : 0;
  out.payloadLen = v.payloadLen;
  return WireStatus.Ok;
}

/** Header length `emitIcmpv4` writes: always 8 (the data, `f.payloadLen` bytes, is the caller's). */
export function icmpv4EmitLen(_f: Icmpv4Fields): number {
  return ICMPV4_HEADER_LEN;
}

/**
 * Writes the header for `f` at `off`, the rest of the header laid out for `f.type` (unused bits
 * zero), and the checksum over the header and the `f.payloadLen` bytes of data, which must
 * already be in place after it. Returns the header length. The caller guarantees room.
 */
export function emitIcmpv4(f: Icmpv4Fields, buf: Uint8Array, off: number): number {
  const type = f.type;
  buf[off + TYPE] = type;
  buf[off + CODE] = f.code;
  setBe16(buf, off + CSUM, 0);
  if (type === Icmpv4Type.Echo || type === Icmpv4Type.EchoReply) {
    setBe16(buf, off + ECHO_IDENT, f.ident);
    setBe16(buf, off + ECHO_SEQ, f.seq);
  } else if (type === Icmpv4Type.DestUnreachable) {
    setBe16(buf, off + UNREACH_UNUSED, 0);
    setBe16(buf, off + UNREACH_NEXT_HOP_MTU, f.nextHopMtu);
  } else if (type === Icmpv4Type.Redirect) {
    setBe32(buf, off + REDIRECT_GATEWAY, f.gateway);
  } else if (type === Icmpv4Type.ParamProblem) {
    buf[off + PARAM_POINTER] = f.pointer;
    buf.fill(0, off + PARAM_UNUSED, off + DATA);
  } else {
    setBe32(buf, off + REST, 0);
  }
  setBe16(buf, off + CSUM, checksum(buf, off, ICMPV4_HEADER_LEN + f.payloadLen));
  return ICMPV4_HEADER_LEN;
}

/**
 * Cold-path convenience: parses an ICMP message (all of `bytes` from `off`) into new fields.
 * Does not verify the checksum.
 * @throws {WireFormatError} naming the reason when `bytes` is not a message this codec models.
 */
export function decodeIcmpv4(bytes: Uint8Array, off = 0): Icmpv4Fields {
  const f = newIcmpv4Fields();
  const st = parseIcmpv4(new Icmpv4View().reset(bytes, off), f);
  if (st !== WireStatus.Ok) throw wireFormatError('icmpv4', st, off);
  return f;
}
