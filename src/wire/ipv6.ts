/**
 * IPv6 header (RFC 8200 §3) and the walk over its extension headers (§4) to the upper layer.
 *
 *    0                   1                   2                   3
 *   |Version| Traffic Class |           Flow Label                  |
 *   |         Payload Length        |  Next Header  |   Hop Limit   |
 *   |                 Source Address (16 bytes)                     |
 *   |              Destination Address (16 bytes)                   |
 *   | extension headers … | upper-layer header …
 *
 * `check()` validates the fixed header and then walks the chain of extension headers once:
 * Hop-by-Hop Options (only first, §4.1), Routing, Fragment, Destination Options and AH, up to
 * `IPV6_MAX_EXT_HEADERS` of them (the walk is linear and bounded). It records where the upper
 * layer starts and which protocol it is, so that `upperProtocol`/`upperOff` are plain loads.
 * ESP (50) and No Next Header (59) end the walk: ESP's contents are encrypted, so ESP is itself
 * the upper layer.
 *
 * Unlike the Go original, the payload accessors skip extension headers.
 *
 * Not handled: jumbograms (RFC 2675: a zero Payload Length with a Jumbo option is reported as an
 * empty payload), reassembly (the Fragment header's fields are exposed), the options inside
 * Hop-by-Hop and Destination Options headers (skipped whole).
 */

import { EMPTY_BYTES, be16, be32, bytesEqual, setBe16, setBe32 } from './bytes.js';
import { IpProto } from './ipv4.js';
import { WireStatus, wireFormatError } from './status.js';

const VER_TC_FLOW = 0;
const PAYLOAD_LEN = 4;
const NEXT_HEADER = 6;
const HOP_LIMIT = 7;
const SRC = 8;
const DST = 24;

export const IPV6_VERSION = 6;
export const IPV6_HEADER_LEN = 40;
export const IPV6_ADDR_LEN = 16;
/** Extension headers walked before giving up with TooManyHeaders (RFC 8200 §4.1 lists at most 8 kinds). */
export const IPV6_MAX_EXT_HEADERS = 8;

// Extension header layout (§4.3-§4.8): next header at +0, length at +1 in 8-octet units not
// counting the first 8 (AH, RFC 4302 §2.2: in 4-octet units, minus 2).
const EXT_NEXT = 0;
const EXT_LEN = 1;
const FRAG_HEADER_LEN = 8;
const FRAG_OFFSET_FLAGS = 2;
const FRAG_IDENT = 4;
const FRAG_M = 0x0001;

/** 1 for the next-header values the walk treats as extension headers (a table, not a call). */
const IS_EXTENSION = new Uint8Array(256);
for (const nh of [IpProto.HopByHop, IpProto.IPv6Route, IpProto.IPv6Frag, IpProto.IPv6Opts, IpProto.AH]) IS_EXTENSION[nh] = 1;

const { Ok: OK, Truncated: TRUNCATED, BadVersion: BAD_VERSION } = WireStatus;

/** A reusable view over an IPv6 packet in place. */
export class Ipv6View {
  buf: Uint8Array = EMPTY_BYTES;
  off = 0;
  len = 0;
  /** Set by `check()`: the upper-layer protocol after extension headers (59 for none). */
  upperProtocol = 0;
  /** Set by `check()`: absolute offset in `buf` of the upper-layer header. */
  upperOff = 0;
  /** Set by `check()`: absolute offset of the Fragment header, or -1. */
  fragHeaderOff = -1;

  reset(buf: Uint8Array, off = 0, len = buf.length - off): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    this.upperProtocol = 0;
    this.upperOff = 0;
    this.fragHeaderOff = -1;
    return this;
  }

  /**
   * The one check at the trust boundary: version 6, 40 + Payload Length <= buffer, and a
   * well-formed extension-header chain inside the payload. After Ok every accessor is in bounds.
   */
  check(): WireStatus {
    // The common case (no extension headers) is kept small so that V8 inlines it into callers;
    // the walk is a separate method that only packets with extension headers reach.
    const b = this.buf;
    const o = this.off;
    const len = this.len;
    if (len < IPV6_HEADER_LEN) return TRUNCATED;
    if (b[o]! >>> 4 !== IPV6_VERSION) return BAD_VERSION; // VER_TC_FLOW is 0
    // 40 + Payload Length (bytes 4-5) must fit.
    if (IPV6_HEADER_LEN + ((b[o + PAYLOAD_LEN]! << 8) | b[o + PAYLOAD_LEN + 1]!) > len) return TRUNCATED;
    const nh = b[o + NEXT_HEADER]!;
    this.fragHeaderOff = -1;
    if (IS_EXTENSION[nh] === 1) return this.walkExtensions(nh);
    this.upperProtocol = nh;
    this.upperOff = o + IPV6_HEADER_LEN;
    return OK;
  }

  /** Walks the extension-header chain that starts with `nh` right after the fixed header. */
  private walkExtensions(nh: number): WireStatus {
    const b = this.buf;
    let p = this.off + IPV6_HEADER_LEN;
    const end = p + be16(b, this.off + PAYLOAD_LEN);
    let count = 0;
    while (IS_EXTENSION[nh] === 1) {
      // RFC 8200 §4.1: Hop-by-Hop Options may only come first.
      if (nh === IpProto.HopByHop && count > 0) return WireStatus.BadOption;
      if (++count > IPV6_MAX_EXT_HEADERS) return WireStatus.TooManyHeaders;
      if (p + 2 > end) return WireStatus.Truncated;
      let hl: number;
      if (nh === IpProto.IPv6Frag) {
        hl = FRAG_HEADER_LEN;
        this.fragHeaderOff = p;
      } else if (nh === IpProto.AH) {
        hl = (b[p + EXT_LEN]! + 2) << 2;
      } else {
        hl = (b[p + EXT_LEN]! + 1) << 3;
      }
      if (p + hl > end) return WireStatus.Truncated;
      nh = b[p + EXT_NEXT]!;
      p += hl;
    }
    this.upperProtocol = nh;
    this.upperOff = p;
    return OK;
  }

  get version(): number {
    return this.buf[this.off + VER_TC_FLOW]! >>> 4;
  }
  get trafficClass(): number {
    return (be16(this.buf, this.off + VER_TC_FLOW) >>> 4) & 0xff;
  }
  set trafficClass(v: number) {
    const w = be16(this.buf, this.off + VER_TC_FLOW);
    setBe16(this.buf, this.off + VER_TC_FLOW, (w & 0xf00f) | ((v & 0xff) << 4));
  }
  get flowLabel(): number {
    return be32(this.buf, this.off + VER_TC_FLOW) & 0xfffff;
  }
  set flowLabel(v: number) {
    const w = be32(this.buf, this.off + VER_TC_FLOW);
    setBe32(this.buf, this.off + VER_TC_FLOW, (w & 0xfff00000) | (v & 0xfffff));
  }
  /** The Payload Length field: bytes after the fixed header, extension headers included. */
  get payloadLen(): number {
    return be16(this.buf, this.off + PAYLOAD_LEN);
  }
  set payloadLen(v: number) {
    setBe16(this.buf, this.off + PAYLOAD_LEN, v);
  }
  /** The fixed header's Next Header field (the first extension header, if any). */
  get nextHeader(): number {
    return this.buf[this.off + NEXT_HEADER]!;
  }
  set nextHeader(v: number) {
    this.buf[this.off + NEXT_HEADER] = v;
  }
  get hopLimit(): number {
    return this.buf[this.off + HOP_LIMIT]!;
  }
  set hopLimit(v: number) {
    this.buf[this.off + HOP_LIMIT] = v;
  }
  /** Offset (in `buf`) of the 16 source bytes. */
  get srcOff(): number {
    return this.off + SRC;
  }
  /** Offset (in `buf`) of the 16 destination bytes. */
  get dstOff(): number {
    return this.off + DST;
  }
  /** Word `i` (0-3) of the source address as a uint32. */
  srcWord(i: number): number {
    return be32(this.buf, this.off + SRC + i * 4);
  }
  /** Word `i` (0-3) of the destination address as a uint32. */
  dstWord(i: number): number {
    return be32(this.buf, this.off + DST + i * 4);
  }
  /** Copies 16 address bytes from `src` at `srcOff` into the source field. */
  setSrc(src: Uint8Array, srcOff = 0): void {
    for (let i = 0; i < IPV6_ADDR_LEN; i++) this.buf[this.off + SRC + i] = src[srcOff + i]!;
  }
  /** Copies 16 address bytes from `src` at `srcOff` into the destination field. */
  setDst(src: Uint8Array, srcOff = 0): void {
    for (let i = 0; i < IPV6_ADDR_LEN; i++) this.buf[this.off + DST + i] = src[srcOff + i]!;
  }
  /** Bytes from the upper-layer header to the end of the payload. */
  get upperLen(): number {
    return this.off + IPV6_HEADER_LEN + this.payloadLen - this.upperOff;
  }
  /** True when a Fragment header is present. */
  get isFragment(): boolean {
    return this.fragHeaderOff >= 0;
  }
  /** Fragment offset in bytes (0 without a Fragment header). */
  get fragOffset(): number {
    return this.fragHeaderOff < 0 ? 0 : be16(this.buf, this.fragHeaderOff + FRAG_OFFSET_FLAGS) & ~0x7;
  }
  /** The Fragment header's M (more fragments) flag. */
  get moreFrags(): boolean {
    return this.fragHeaderOff >= 0 && (be16(this.buf, this.fragHeaderOff + FRAG_OFFSET_FLAGS) & FRAG_M) !== 0;
  }
  /** The Fragment header's Identification (0 without one). */
  get fragIdent(): number {
    return this.fragHeaderOff < 0 ? 0 : be32(this.buf, this.fragHeaderOff + FRAG_IDENT);
  }
  /** True for a multicast destination (ff00::/8). */
  get isMulticast(): boolean {
    return this.buf[this.off + DST] === 0xff;
  }
}

/** The parsed value of an IPv6 fixed header. Addresses are copied into the arrays `out` owns. */
export interface Ipv6Fields {
  src: Uint8Array;
  dst: Uint8Array;
  /** The fixed header's Next Header (emitted as is; extension headers are payload to `emitIpv6`). */
  nextHeader: number;
  hopLimit: number;
  /** Payload length, extension headers included. */
  payloadLen: number;
  trafficClass: number;
  flowLabel: number;
}

export function newIpv6Fields(): Ipv6Fields {
  return {
    src: new Uint8Array(IPV6_ADDR_LEN),
    dst: new Uint8Array(IPV6_ADDR_LEN),
    nextHeader: IpProto.IPv6NoNext,
    hopLimit: 64,
    payloadLen: 0,
    trafficClass: 0,
    flowLabel: 0,
  };
}

/** Checks `v` and fills `out` (copying the addresses into `out.src`/`out.dst`). Allocates nothing. */
export function parseIpv6(v: Ipv6View, out: Ipv6Fields): WireStatus {
  const st = v.check();
  if (st !== WireStatus.Ok) return st;
  const b = v.buf;
  for (let i = 0; i < IPV6_ADDR_LEN; i++) {
    out.src[i] = b[v.srcOff + i]!;
    out.dst[i] = b[v.dstOff + i]!;
  }
  out.nextHeader = v.nextHeader;
  out.hopLimit = v.hopLimit;
  out.payloadLen = v.payloadLen;
  out.trafficClass = v.trafficClass;
  out.flowLabel = v.flowLabel;
  return WireStatus.Ok;
}

/** Header length `emitIpv6` writes: always 40. */
export function ipv6EmitLen(_f: Ipv6Fields): number {
  return IPV6_HEADER_LEN;
}

/** Writes the fixed header for `f` at `off`; returns 40. The caller guarantees room. */
export function emitIpv6(f: Ipv6Fields, buf: Uint8Array, off: number): number {
  setBe32(buf, off + VER_TC_FLOW, ((IPV6_VERSION << 28) | ((f.trafficClass & 0xff) << 20) | (f.flowLabel & 0xfffff)) >>> 0);
  setBe16(buf, off + PAYLOAD_LEN, f.payloadLen);
  buf[off + NEXT_HEADER] = f.nextHeader;
  buf[off + HOP_LIMIT] = f.hopLimit;
  for (let i = 0; i < IPV6_ADDR_LEN; i++) {
    buf[off + SRC + i] = f.src[i]!;
    buf[off + DST + i] = f.dst[i]!;
  }
  return IPV6_HEADER_LEN;
}

/** True when the two 16-byte addresses are equal. */
export function ipv6AddrEqual(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): boolean {
  return bytesEqual(a, aOff, b, bOff, IPV6_ADDR_LEN);
}

/**
 * Cold-path convenience: parses a packet's fixed header into new fields.
 * @throws {WireFormatError} when `bytes` is not a valid IPv6 packet.
 */
export function decodeIpv6(bytes: Uint8Array, off = 0): Ipv6Fields {
  const f = newIpv6Fields();
  const st = parseIpv6(new Ipv6View().reset(bytes, off), f);
  if (st !== WireStatus.Ok) throw wireFormatError('ipv6', st, off);
  return f;
}
