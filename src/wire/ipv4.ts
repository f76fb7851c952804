/**
 * IPv4 header (RFC 791 §3.1).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |Version|  IHL  |   DSCP    |ECN|          Total Length         |
 *   |         Identification        |Flags|      Fragment Offset    |
 *   |  Time to Live |    Protocol   |         Header Checksum       |
 *   |                       Source Address                          |
 *   |                    Destination Address                        |
 *   |                    Options                    |    Padding    |
 *
 * `Ipv4View` reads and writes a header in place; `Ipv4Fields` is the parsed value, filled by
 * `parseIpv4` and written by `emitIpv4`. After `check()` returns Ok, every accessor is in bounds
 * and the payload is bounded by the Total Length field (trailing bytes, such as Ethernet padding,
 * are not payload).
 *
 * Not handled here: reassembly of fragments (the fragment fields are exposed), and the meaning of
 * individual options (a cursor walks them; see options.ts).
 */

import { EMPTY_BYTES, be16, be32, setBe16, setBe32 } from './bytes.js';
import { checksum, checksumUpdate16, checksumUpdate32 } from './checksum.js';
import { OptionCursor } from './options.js';
import { WireStatus, wireFormatError } from './status.js';

const VER_IHL = 0;
const TOS = 1;
const TOTAL_LEN = 2;
const IDENT = 4;
const FLAGS_FRAG = 6;
const TTL = 8;
const PROTO = 9;
const CSUM = 10;
const SRC = 12;
const DST = 16;
const OPTIONS = 20;
const MIN_LEN = 20;
const { Ok: OK, Truncated: TRUNCATED, BadVersion: BAD_VERSION, BadHeaderLen: BAD_HEADER_LEN, BadLength: BAD_LENGTH } = WireStatus;

/** Field offsets, exported for the core Packet view (which reads them directly, see packet.ts). */
export const IPV4_OFF = { TOTAL_LEN, TTL, PROTO, SRC, DST } as const;

export const IPV4_VERSION = 4;
export const IPV4_MIN_HEADER_LEN = 20;
/** IHL is four bits of 32-bit words. */
export const IPV4_MAX_HEADER_LEN = 60;
/** Flags: Don't Fragment and More Fragments, as bits of the 16-bit flags/offset word. */
export const IPV4_FLAG_DF = 0x4000;
export const IPV4_FLAG_MF = 0x2000;
const FRAG_OFFSET_MASK = 0x1fff;

/** IP protocol numbers (IANA "Assigned Internet Protocol Numbers"). */
export const IpProto = {
  HopByHop: 0,
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  IPv6Route: 43,
  IPv6Frag: 44,
  GRE: 47,
  ESP: 50,
  AH: 51,
  ICMPv6: 58,
  IPv6NoNext: 59,
  IPv6Opts: 60,
} as const;

/** A reusable view over an IPv4 header in place. Not safe to share across reentrant calls. */
export class Ipv4View {
  buf: Uint8Array = EMPTY_BYTES;
  off = 0;
  len = 0;

  /** Points the view at `len` bytes of `buf` from `off`. Call `check()` before the accessors. */
  reset(buf: Uint8Array, off = 0, len = buf.length - off): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /**
   * The one check at the trust boundary: version 4, 20 <= IHL*4 <= Total Length <= buffer.
   * After Ok every accessor below reads in bounds.
   */
  check(): WireStatus {
    // Written compactly (local status constants, no helper calls): this runs first on every
    // packet and V8 charges its whole bytecode against the inlining budget of its caller.
    const b = this.buf;
    const o = this.off;
    const len = this.len;
    if (len < MIN_LEN) return TRUNCATED;
    const verIhl = b[o]!; // VER_IHL is 0
    const hl = (verIhl & 0x0f) << 2;
    if (verIhl >>> 4 !== IPV4_VERSION) return BAD_VERSION;
    if (hl < MIN_LEN) return BAD_HEADER_LEN;
    const total = (b[o + TOTAL_LEN]! << 8) | b[o + TOTAL_LEN + 1]!;
    if (total > len) return TRUNCATED;
    return total >= hl ? OK : hl > len ? TRUNCATED : BAD_LENGTH;
  }

  get version(): number {
    return this.buf[this.off + VER_IHL]! >>> 4;
  }
  /** Header length in bytes (IHL * 4). */
  get headerLen(): number {
    return (this.buf[this.off + VER_IHL]! & 0x0f) << 2;
  }
  set headerLen(bytes: number) {
    this.buf[this.off + VER_IHL] = (IPV4_VERSION << 4) | (bytes >>> 2);
  }
  get dscp(): number {
    return this.buf[this.off + TOS]! >>> 2;
  }
  set dscp(v: number) {
    const b = this.buf;
    b[this.off + TOS] = (v << 2) | (b[this.off + TOS]! & 0x03);
  }
  get ecn(): number {
    return this.buf[this.off + TOS]! & 0x03;
  }
  set ecn(v: number) {
    const b = this.buf;
    b[this.off + TOS] = (b[this.off + TOS]! & 0xfc) | (v & 0x03);
  }
  /** Total Length: header plus payload, in bytes. */
  get totalLen(): number {
    return be16(this.buf, this.off + TOTAL_LEN);
  }
  set totalLen(v: number) {
    setBe16(this.buf, this.off + TOTAL_LEN, v);
  }
  get ident(): number {
    return be16(this.buf, this.off + IDENT);
  }
  set ident(v: number) {
    setBe16(this.buf, this.off + IDENT, v);
  }
  get dontFrag(): boolean {
    return (be16(this.buf, this.off + FLAGS_FRAG) & IPV4_FLAG_DF) !== 0;
  }
  set dontFrag(v: boolean) {
    const w = be16(this.buf, this.off + FLAGS_FRAG);
    setBe16(this.buf, this.off + FLAGS_FRAG, v ? w | IPV4_FLAG_DF : w & ~IPV4_FLAG_DF);
  }
  get moreFrags(): boolean {
    return (be16(this.buf, this.off + FLAGS_FRAG) & IPV4_FLAG_MF) !== 0;
  }
  set moreFrags(v: boolean) {
    const w = be16(this.buf, this.off + FLAGS_FRAG);
    setBe16(this.buf, this.off + FLAGS_FRAG, v ? w | IPV4_FLAG_MF : w & ~IPV4_FLAG_MF);
  }
  /** Fragment offset in bytes (the field counts 8-byte units). */
  get fragOffset(): number {
    return (be16(this.buf, this.off + FLAGS_FRAG) & FRAG_OFFSET_MASK) << 3;
  }
  set fragOffset(bytes: number) {
    const w = be16(this.buf, this.off + FLAGS_FRAG);
    setBe16(this.buf, this.off + FLAGS_FRAG, (w & ~FRAG_OFFSET_MASK) | ((bytes >>> 3) & FRAG_OFFSET_MASK));
  }
  /** True for any fragment: More Fragments set or a nonzero offset. */
  get isFragment(): boolean {
    return (be16(this.buf, this.off + FLAGS_FRAG) & (IPV4_FLAG_MF | FRAG_OFFSET_MASK)) !== 0;
  }
  get ttl(): number {
    return this.buf[this.off + TTL]!;
  }
  set ttl(v: number) {
    this.buf[this.off + TTL] = v;
  }
  get protocol(): number {
    return this.buf[this.off + PROTO]!;
  }
  set protocol(v: number) {
    this.buf[this.off + PROTO] = v;
  }
  get checksum(): number {
    return be16(this.buf, this.off + CSUM);
  }
  set checksum(v: number) {
    setBe16(this.buf, this.off + CSUM, v);
  }
  /** Source address as a uint32. */
  get src(): number {
    return be32(this.buf, this.off + SRC);
  }
  set src(v: number) {
    setBe32(this.buf, this.off + SRC, v);
  }
  /** Destination address as a uint32. */
  get dst(): number {
    return be32(this.buf, this.off + DST);
  }
  set dst(v: number) {
    setBe32(this.buf, this.off + DST, v);
  }
  /** Offset (in `buf`) of the 4 source bytes. */
  get srcOff(): number {
    return this.off + SRC;
  }
  /** Offset (in `buf`) of the 4 destination bytes. */
  get dstOff(): number {
    return this.off + DST;
  }
  /** Offset (in `buf`) of the options area, and its length in bytes. */
  get optionsOff(): number {
    return this.off + OPTIONS;
  }
  get optionsLen(): number {
    return this.headerLen - IPV4_MIN_HEADER_LEN;
  }
  /** Offset (in `buf`) of the payload. */
  get payloadOff(): number {
    return this.off + this.headerLen;
  }
  /** Payload length: Total Length minus header length. */
  get payloadLen(): number {
    return this.totalLen - this.headerLen;
  }

  /** True when the header checksum verifies. */
  verifyChecksum(): boolean {
    return checksum(this.buf, this.off, this.headerLen) === 0;
  }
  /** Computes and stores the header checksum. */
  fillChecksum(): void {
    setBe16(this.buf, this.off + CSUM, 0);
    setBe16(this.buf, this.off + CSUM, checksum(this.buf, this.off, this.headerLen));
  }
  /** Rewrites the source address, updating the header checksum incrementally (RFC 1624). */
  rewriteSrc(v: number): void {
    this.checksum = checksumUpdate32(this.checksum, this.src, v);
    this.src = v;
  }
  /** Rewrites the destination address, updating the header checksum incrementally (RFC 1624). */
  rewriteDst(v: number): void {
    this.checksum = checksumUpdate32(this.checksum, this.dst, v);
    this.dst = v;
  }
  /** Decrements TTL, updating the checksum incrementally. Returns the new TTL. */
  decrementTtl(): number {
    const o = this.off;
    const oldWord = be16(this.buf, o + TTL);
    const ttl = this.buf[o + TTL]! - 1;
    this.buf[o + TTL] = ttl;
    this.checksum = checksumUpdate16(this.checksum, oldWord, be16(this.buf, o + TTL));
    return ttl;
  }
}

/** The parsed value of an IPv4 header (smoltcp's `Ipv4Repr`). */
export interface Ipv4Fields {
  src: number;
  dst: number;
  protocol: number;
  ttl: number;
  /** Payload length in bytes (Total Length minus header). */
  payloadLen: number;
  dscp: number;
  ecn: number;
  ident: number;
  dontFrag: boolean;
  moreFrags: boolean;
  /** Fragment offset in bytes; a multiple of 8. */
  fragOffset: number;
  /** Raw option bytes; emitted padded with zeros (End of Options) to a multiple of 4. */
  options: Uint8Array;
}

/** Fresh fields with defaults (TTL 64, DF set, no options). */
export function newIpv4Fields(): Ipv4Fields {
  return {
    src: 0,
    dst: 0,
    protocol: 0,
    ttl: 64,
    payloadLen: 0,
    dscp: 0,
    ecn: 0,
    ident: 0,
    dontFrag: true,
    moreFrags: false,
    fragOffset: 0,
    options: EMPTY_BYTES,
  };
}

const optionWalker = new OptionCursor();

/** Walks the option area; Ok or the first bad option's status. Its own function: see below. */
function checkOptions(b: Uint8Array, off: number, len: number): WireStatus {
  const cur = optionWalker.reset(b, off, len);
  while (cur.next());
  return cur.status;
}

/**
 * Checks `v` and fills `out`. Validates the option list's structure too. The options are copied
 * into `out.options` when there are any (rare; the only allocation), else set to EMPTY_BYTES.
 * With `verifyChecksum`, a wrong header checksum gives BadChecksum.
 *
 * Fields are read with direct loads rather than the view's getters, and the option walk is a
 * separate function: inlined into a large caller, getter chains exhaust V8's inlining budget,
 * and a getter left as a call boxes the uint32 addresses at or above 2^31 (an allocation).
 */
export function parseIpv4(v: Ipv4View, out: Ipv4Fields, verifyChecksum = false): WireStatus {
  const st = v.check();
  if (st !== WireStatus.Ok) return st;
  if (verifyChecksum && !v.verifyChecksum()) return WireStatus.BadChecksum;
  const b = v.buf;
  const o = v.off;
  const hl = (b[o + VER_IHL]! & 0x0f) << 2;
  const optLen = hl - IPV4_MIN_HEADER_LEN;
  if (optLen > 0) {
    const ost = checkOptions(b, o + OPTIONS, optLen);
    if (ost !== WireStatus.Ok) return ost;
  }
  const tos = b[o + TOS]!;
  const ff = be16(b, o + FLAGS_FRAG);
  out.src = be32(b, o + SRC);
  out.dst = be32(b, o + DST);
  out.protocol = b[o + PROTO]!;
  out.ttl = b[o + TTL]!;
  out.payloadLen = be16(b, o + TOTAL_LEN) - hl;
  out.dscp = tos >>> 2;
  out.ecn = tos & 0x03;
  out.ident = be16(b, o + IDENT);
  out.dontFrag = (ff & IPV4_FLAG_DF) !== 0;
  out.moreFrags = (ff & IPV4_FLAG_MF) !== 0;
  out.fragOffset = (ff & FRAG_OFFSET_MASK) << 3;
  out.options = optLen > 0 ? b.slice(o + OPTIONS, o + hl) : EMPTY_BYTES;
  return WireStatus.Ok;
}

/** Header length `emitIpv4` writes for `f`: 20 plus the options padded to 4 bytes. */
export function ipv4EmitLen(f: Ipv4Fields): number {
  return IPV4_MIN_HEADER_LEN + ((f.options.length + 3) & ~3);
}

/**
 * Writes the header for `f` at `off` (the payload, `f.payloadLen` bytes, is the caller's to
 * write after it) with a correct checksum. Returns the header length. The caller guarantees room.
 */
export function emitIpv4(f: Ipv4Fields, buf: Uint8Array, off: number): number {
  const hl = ipv4EmitLen(f);
  buf[off + VER_IHL] = (IPV4_VERSION << 4) | (hl >>> 2);
  buf[off + TOS] = (f.dscp << 2) | (f.ecn & 0x03);
  setBe16(buf, off + TOTAL_LEN, hl + f.payloadLen);
  setBe16(buf, off + IDENT, f.ident);
  setBe16(
    buf,
    off + FLAGS_FRAG,
    (f.dontFrag ? IPV4_FLAG_DF : 0) | (f.moreFrags ? IPV4_FLAG_MF : 0) | ((f.fragOffset >>> 3) & FRAG_OFFSET_MASK),
  );
  buf[off + TTL] = f.ttl;
  buf[off + PROTO] = f.protocol;
  setBe16(buf, off + CSUM, 0);
  setBe32(buf, off + SRC, f.src);
  setBe32(buf, off + DST, f.dst);
  buf.set(f.options, off + OPTIONS);
  buf.fill(0, off + OPTIONS + f.options.length, off + hl);
  setBe16(buf, off + CSUM, checksum(buf, off, hl));
  return hl;
}

/**
 * Cold-path convenience: parses a header from `bytes` into new fields.
 * @throws {WireFormatError} naming the reason when `bytes` is not a valid IPv4 header.
 */
export function decodeIpv4(bytes: Uint8Array, off = 0): Ipv4Fields {
  const f = newIpv4Fields();
  const st = parseIpv4(new Ipv4View().reset(bytes, off), f);
  if (st !== WireStatus.Ok) throw wireFormatError('ipv4', st, off);
  return f;
}
