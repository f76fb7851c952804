/**
 * TCP header (RFC 9293 §3.1) and the options a TCP engine negotiates: MSS (RFC 9293 §3.2),
 * Window Scale and Timestamps (RFC 7323 §2, §3), SACK-Permitted and SACK (RFC 2018 §2, §3).
 * The ECE and CWR flags are RFC 3168 §6.1's.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |          Source Port          |       Destination Port        |
 *   |                        Sequence Number                        |
 *   |                    Acknowledgment Number                      |
 *   |  Data |       |C|E|U|A|P|R|S|F|                               |
 *   | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 *   |       |       |R|E|G|K|H|T|N|N|                               |
 *   |           Checksum            |         Urgent Pointer        |
 *   |                           [Options]                           |
 *
 * `TcpView` reads and writes a segment in place; it is reset over the whole segment (header and
 * payload, the IP payload), so that `payloadLen` and the checksum helpers know where it ends.
 * `TcpFields` is the parsed header plus the known options, filled by `parseTcp` without
 * allocating (SACK blocks go into a preallocated Uint32Array) and written by `emitTcp`.
 *
 * Options are emitted in the order and 32-bit alignment Linux uses (MSS; SACK-Permitted fused
 * with Timestamps, or NOP NOP Timestamps; NOP NOP SACK-Permitted without timestamps; NOP Window
 * Scale; NOP NOP SACK), so a SYN emitted from a kernel SYN's fields is byte-identical to it.
 *
 * Not here: sequence-space arithmetic and every rule about when an option may be sent or must be
 * ignored (only on a SYN, only if negotiated): those belong to the TCP engine, which sees the
 * connection state. Parsing records whatever options a segment carries. Also not here: TCP-AO,
 * MD5 signatures, Fast Open cookies, MPTCP (skipped as unknown kinds), and the reserved bits
 * (including RFC 9768's AE), which emit writes as zero.
 */

import { EMPTY_BYTES, be16, be32, setBe16, setBe32 } from './bytes.js';
import { transportChecksumV4, transportChecksumV6 } from './checksum.js';
import { IpProto } from './ipv4.js';
import { OPT_NOP, OptionCursor } from './options.js';
import { WireStatus, wireFormatError } from './status.js';

const SRC_PORT = 0;
const DST_PORT = 2;
const SEQ = 4;
const ACK = 8;
const DATA_OFF = 12;
const FLAGS = 13;
const WINDOW = 14;
const CSUM = 16;
const URGENT = 18;
const OPTIONS = 20;

/** Reserved bits that share the Data Offset byte. */
const RESERVED_MASK = 0x0f;

export const TCP_MIN_HEADER_LEN = 20;
/** Data Offset is four bits of 32-bit words. */
export const TCP_MAX_HEADER_LEN = 60;
export const TCP_MAX_OPTIONS_LEN = TCP_MAX_HEADER_LEN - TCP_MIN_HEADER_LEN;

/** Control bits (RFC 9293 §3.1; ECE and CWR from RFC 3168 §6.1), as bits of the flags byte. */
export const TCP_FLAG_FIN = 0x01;
export const TCP_FLAG_SYN = 0x02;
export const TCP_FLAG_RST = 0x04;
export const TCP_FLAG_PSH = 0x08;
export const TCP_FLAG_ACK = 0x10;
export const TCP_FLAG_URG = 0x20;
export const TCP_FLAG_ECE = 0x40;
export const TCP_FLAG_CWR = 0x80;

/** Option kinds (IANA "TCP Option Kind Numbers"); 0 and 1 are OPT_END and OPT_NOP in options.ts. */
export const TCP_OPT_MSS = 2;
export const TCP_OPT_WINDOW_SCALE = 3;
export const TCP_OPT_SACK_PERMITTED = 4;
export const TCP_OPT_SACK = 5;
export const TCP_OPT_TIMESTAMPS = 8;

// Option Length fields count the kind and length bytes (OPT_HDR_LEN) as well as the data.
const OPT_HDR_LEN = 2;
const MSS_LEN = 4;
const WINDOW_SCALE_LEN = 3;
const SACK_PERMITTED_LEN = 2;
const TIMESTAMPS_LEN = 10;
const SACK_BLOCK_LEN = 8;
/** Offsets inside option data: TSecr after TSval, a SACK block's right edge after its left. */
const TS_ECR = 4;
const SACK_RIGHT = 4;
// Emitted options are 32-bit words: NOPs in front pad each option to a multiple of 4 bytes.
const WORD = 4;
const MSS_WORDS_LEN = WORD;
const TIMESTAMPS_WORDS_LEN = 3 * WORD;
const SACK_PERMITTED_WORDS_LEN = WORD;
const WINDOW_SCALE_WORDS_LEN = WORD;
const SACK_WORDS_BASE_LEN = WORD;

/** RFC 2018 §3: a SACK option carries at most 4 blocks (40 bytes of option space). */
export const TCP_MAX_SACK_BLOCKS = 4;
/**
 * RFC 7323 §2.3: "If a Window Scale option is received with a shift.cnt value larger than 14,
 * the TCP SHOULD log the error but MUST use 14 instead of the specified value."
 */
export const TCP_MAX_WINDOW_SCALE = 14;

/** A reusable view over a TCP segment in place. Not safe to share across reentrant calls. */
export class TcpView {
  buf: Uint8Array = EMPTY_BYTES;
  off = 0;
  len = 0;

  /**
   * Points the view at the `len`-byte segment (header and payload) at `off` in `buf`; `len` is
   * the IP payload length. Call `check()` before the accessors.
   */
  reset(buf: Uint8Array, off = 0, len = buf.length - off): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /**
   * The one check at the trust boundary: 20 <= Data Offset * 4 <= segment length. After Ok every
   * accessor below reads in bounds. Options are checked by `parseTcp`, not here.
   */
  check(): WireStatus {
    if (this.len < TCP_MIN_HEADER_LEN) return WireStatus.Truncated;
    const hl = (this.buf[this.off + DATA_OFF]! >>> 4) << 2;
    if (hl < TCP_MIN_HEADER_LEN) return WireStatus.BadHeaderLen;
    if (hl > this.len) return WireStatus.Truncated;
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
  /** Sequence number (uint32). */
  get seq(): number {
    return be32(this.buf, this.off + SEQ);
  }
  set seq(v: number) {
    setBe32(this.buf, this.off + SEQ, v);
  }
  /** Acknowledgment number (uint32), meaningful when the ACK flag is set. */
  get ack(): number {
    return be32(this.buf, this.off + ACK);
  }
  set ack(v: number) {
    setBe32(this.buf, this.off + ACK, v);
  }
  /** Header length in bytes (Data Offset * 4). The setter keeps the reserved bits. */
  get headerLen(): number {
    return (this.buf[this.off + DATA_OFF]! >>> 4) << 2;
  }
  set headerLen(bytes: number) {
    const b = this.buf;
    b[this.off + DATA_OFF] = ((bytes >>> 2) << 4) | (b[this.off + DATA_OFF]! & RESERVED_MASK);
  }
  /** The eight control bits: TCP_FLAG_* ORed together. */
  get flags(): number {
    return this.buf[this.off + FLAGS]!;
  }
  set flags(v: number) {
    this.buf[this.off + FLAGS] = v;
  }
  /** True when every bit of `mask` (TCP_FLAG_*) is set. */
  hasFlags(mask: number): boolean {
    return (this.buf[this.off + FLAGS]! & mask) === mask;
  }
  /** Window, unscaled (as on the wire). */
  get window(): number {
    return be16(this.buf, this.off + WINDOW);
  }
  set window(v: number) {
    setBe16(this.buf, this.off + WINDOW, v);
  }
  get checksum(): number {
    return be16(this.buf, this.off + CSUM);
  }
  set checksum(v: number) {
    setBe16(this.buf, this.off + CSUM, v);
  }
  /** Urgent pointer, meaningful when the URG flag is set. */
  get urgent(): number {
    return be16(this.buf, this.off + URGENT);
  }
  set urgent(v: number) {
    setBe16(this.buf, this.off + URGENT, v);
  }
  /** Offset (in `buf`) of the options area, and its length in bytes. */
  get optionsOff(): number {
    return this.off + OPTIONS;
  }
  get optionsLen(): number {
    return this.headerLen - TCP_MIN_HEADER_LEN;
  }
  /** Offset (in `buf`) of the payload. */
  get payloadOff(): number {
    return this.off + this.headerLen;
  }
  /** Payload length: the segment length given to `reset` minus the header. */
  get payloadLen(): number {
    return this.len - this.headerLen;
  }

  /** True when the checksum verifies over IPv4 (addresses as uint32). */
  verifyChecksumV4(src: number, dst: number): boolean {
    return transportChecksumV4(IpProto.TCP, src, dst, this.buf, this.off, this.len) === 0;
  }
  /** Computes and stores the checksum over IPv4. Write the payload first. */
  fillChecksumV4(src: number, dst: number): void {
    setBe16(this.buf, this.off + CSUM, 0);
    setBe16(this.buf, this.off + CSUM, transportChecksumV4(IpProto.TCP, src, dst, this.buf, this.off, this.len));
  }
  /**
   * True when the checksum verifies over IPv6; the 16-byte addresses are read from `addrBuf` at
   * `srcOff` and `dstOff` (usually the packet's own IPv6 header).
   */
  verifyChecksumV6(addrBuf: Uint8Array, srcOff: number, dstOff: number): boolean {
    return transportChecksumV6(IpProto.TCP, addrBuf, srcOff, dstOff, this.buf, this.off, this.len) === 0;
  }
  /** Computes and stores the checksum over IPv6. Write the payload first. */
  fillChecksumV6(addrBuf: Uint8Array, srcOff: number, dstOff: number): void {
    setBe16(this.buf, this.off + CSUM, 0);
    setBe16(
      this.buf,
      this.off + CSUM,
      transportChecksumV6(IpProto.TCP, addrBuf, srcOff, dstOff, this.buf, this.off, this.len),
    );
  }
}

/**
 * The parsed value of a TCP header and its known options (smoltcp's `TcpRepr`). Reuse one per
 * engine or worker: `parseTcp` overwrites every field and allocates nothing.
 */
export interface TcpFields {
  srcPort: number;
  dstPort: number;
  /** Sequence and acknowledgment numbers (uint32). */
  seq: number;
  ack: number;
  /** TCP_FLAG_* bits. */
  flags: number;
  /** Window as on the wire (unscaled). */
  window: number;
  urgent: number;
  /** Maximum Segment Size option; 0 when absent. */
  mss: number;
  /** Window Scale shift count, at most 14 once parsed; -1 when absent. */
  windowScale: number;
  sackPermitted: boolean;
  hasTimestamps: boolean;
  /** Timestamps option values (uint32), meaningful when `hasTimestamps`. */
  tsVal: number;
  tsEcr: number;
  /** SACK blocks as [left0, right0, left1, right1, ...]; the first `sackCount` pairs are valid. */
  sackBlocks: Uint32Array;
  /** Number of SACK blocks (0-4). */
  sackCount: number;
}

/** Fresh fields: every port, number and flag 0, no options, room for 4 SACK blocks. */
export function newTcpFields(): TcpFields {
  return {
    srcPort: 0,
    dstPort: 0,
    seq: 0,
    ack: 0,
    flags: 0,
    window: 0,
    urgent: 0,
    mss: 0,
    windowScale: -1,
    sackPermitted: false,
    hasTimestamps: false,
    tsVal: 0,
    tsEcr: 0,
    sackBlocks: new Uint32Array(TCP_MAX_SACK_BLOCKS * 2),
    sackCount: 0,
  };
}

const optionWalker = new OptionCursor();

/**
 * Checks `v` and fills `out`, including the known options; unknown option kinds are skipped.
 * A malformed option list, or a known option with the wrong length (a SACK option must hold 1 to
 * 4 whole blocks), gives BadOption. Allocates nothing. On a status other than Ok, `out` may be
 * partly written.
 *
 * V8: the fields are read with direct be16/be32 loads, not through the view's getters, and the
 * option walk is a function of its own. That keeps this function small enough to be inlined
 * whole into a hot caller: a call left un-inlined that returns a uint32 at or above 2^31 (a
 * sequence number, half the time) has to box it in a new HeapNumber, and with the getters
 * nested one level deeper V8's inlining budget ran out and parsing allocated.
 */
export function parseTcp(v: TcpView, out: TcpFields): WireStatus {
  const st = v.check();
  if (st !== WireStatus.Ok) return st;
  const b = v.buf;
  const o = v.off;
  const optLen = ((b[o + DATA_OFF]! >>> 4) << 2) - TCP_MIN_HEADER_LEN;
  const ost = parseOptions(b, o + OPTIONS, optLen, out);
  if (ost !== WireStatus.Ok) return ost;
  out.srcPort = be16(b, o + SRC_PORT);
  out.dstPort = be16(b, o + DST_PORT);
  out.seq = be32(b, o + SEQ);
  out.ack = be32(b, o + ACK);
  out.flags = b[o + FLAGS]!;
  out.window = be16(b, o + WINDOW);
  out.urgent = be16(b, o + URGENT);
  return WireStatus.Ok;
}

/** Resets the option fields of `out` and fills them from the `len` option bytes at `off`. */
function parseOptions(b: Uint8Array, off: number, len: number, out: TcpFields): WireStatus {
  out.mss = 0;
  out.windowScale = -1;
  out.sackPermitted = false;
  out.hasTimestamps = false;
  out.tsVal = 0;
  out.tsEcr = 0;
  out.sackCount = 0;
  if (len === 0) return WireStatus.Ok;
  const cur = optionWalker.reset(b, off, len);
  while (cur.next()) {
    const d = cur.dataOff;
    const lengthField = cur.dataLen + OPT_HDR_LEN;
    switch (cur.kind) {
      case TCP_OPT_MSS:
        if (lengthField !== MSS_LEN) return WireStatus.BadOption;
        out.mss = be16(b, d);
        break;
      case TCP_OPT_WINDOW_SCALE:
        if (lengthField !== WINDOW_SCALE_LEN) return WireStatus.BadOption;
        out.windowScale = Math.min(b[d]!, TCP_MAX_WINDOW_SCALE);
        break;
      case TCP_OPT_SACK_PERMITTED:
        if (lengthField !== SACK_PERMITTED_LEN) return WireStatus.BadOption;
        out.sackPermitted = true;
        break;
      case TCP_OPT_SACK: {
        const blocks = (cur.dataLen / SACK_BLOCK_LEN) | 0;
        if (blocks * SACK_BLOCK_LEN !== cur.dataLen || blocks < 1 || blocks > TCP_MAX_SACK_BLOCKS) {
          return WireStatus.BadOption;
        }
        const sb = out.sackBlocks;
        for (let i = 0, p = d; i < blocks; i++, p += SACK_BLOCK_LEN) {
          sb[2 * i] = be32(b, p);
          sb[2 * i + 1] = be32(b, p + SACK_RIGHT);
        }
        out.sackCount = blocks;
        break;
      }
      case TCP_OPT_TIMESTAMPS:
        if (lengthField !== TIMESTAMPS_LEN) return WireStatus.BadOption;
        out.hasTimestamps = true;
        out.tsVal = be32(b, d);
        out.tsEcr = be32(b, d + TS_ECR);
        break;
      default:
        break;
    }
  }
  return cur.status;
}

/** Option bytes before any SACK blocks: everything `emitTcp` writes except the SACK option. */
function fixedOptionsLen(f: TcpFields): number {
  let n = 0;
  if (f.mss > 0) n += MSS_WORDS_LEN;
  if (f.hasTimestamps) n += TIMESTAMPS_WORDS_LEN;
  else if (f.sackPermitted) n += SACK_PERMITTED_WORDS_LEN;
  if (f.windowScale >= 0) n += WINDOW_SCALE_WORDS_LEN;
  return n;
}

/** How many of `f`'s SACK blocks fit in the option space left after `used` bytes. */
function sackBlocksToEmit(f: TcpFields, used: number): number {
  if (f.sackCount <= 0) return 0;
  const room = ((TCP_MAX_OPTIONS_LEN - used - SACK_WORDS_BASE_LEN) / SACK_BLOCK_LEN) | 0;
  return Math.max(0, Math.min(f.sackCount, TCP_MAX_SACK_BLOCKS, room));
}

/**
 * Header length `emitTcp` writes for `f`: 20 plus the options, each aligned to 4 bytes. SACK
 * blocks past the 40 bytes of option space are left out (the first ones, the most recent in
 * RFC 2018 §4's order, are kept): with timestamps there is room for 3.
 */
export function tcpEmitLen(f: TcpFields): number {
  const fixed = fixedOptionsLen(f);
  const blocks = sackBlocksToEmit(f, fixed);
  return TCP_MIN_HEADER_LEN + fixed + (blocks > 0 ? SACK_WORDS_BASE_LEN + blocks * SACK_BLOCK_LEN : 0);
}

/**
 * Writes the header for `f` at `off` with the checksum field zero; the caller writes the payload
 * after it and then calls `TcpView.fillChecksumV4/V6` over the whole segment. Returns the header
 * length (`tcpEmitLen(f)`). The caller guarantees room.
 */
export function emitTcp(f: TcpFields, buf: Uint8Array, off: number): number {
  const fixed = fixedOptionsLen(f);
  const blocks = sackBlocksToEmit(f, fixed);
  const hl = TCP_MIN_HEADER_LEN + fixed + (blocks > 0 ? SACK_WORDS_BASE_LEN + blocks * SACK_BLOCK_LEN : 0);
  setBe16(buf, off + SRC_PORT, f.srcPort);
  setBe16(buf, off + DST_PORT, f.dstPort);
  setBe32(buf, off + SEQ, f.seq);
  setBe32(buf, off + ACK, f.ack);
  buf[off + DATA_OFF] = (hl >>> 2) << 4;
  buf[off + FLAGS] = f.flags;
  setBe16(buf, off + WINDOW, f.window);
  setBe16(buf, off + CSUM, 0);
  setBe16(buf, off + URGENT, f.urgent);
  // Each option is one or more 32-bit words, written big-endian as kind/length bytes composed
  // into a word (NOPs in front where the option is shorter than its words).
  let p = off + OPTIONS;
  if (f.mss > 0) {
    setBe32(buf, p, (TCP_OPT_MSS << 24) | (MSS_LEN << 16) | (f.mss & 0xffff));
    p += WORD;
  }
  if (f.hasTimestamps) {
    // SACK-Permitted, when offered too, takes the place of the two NOPs (as Linux writes it).
    const lead = f.sackPermitted ? (TCP_OPT_SACK_PERMITTED << 8) | SACK_PERMITTED_LEN : (OPT_NOP << 8) | OPT_NOP;
    setBe32(buf, p, (lead << 16) | (TCP_OPT_TIMESTAMPS << 8) | TIMESTAMPS_LEN);
    setBe32(buf, p + WORD, f.tsVal);
    setBe32(buf, p + WORD + TS_ECR, f.tsEcr);
    p += TIMESTAMPS_WORDS_LEN;
  } else if (f.sackPermitted) {
    setBe32(buf, p, (OPT_NOP << 24) | (OPT_NOP << 16) | (TCP_OPT_SACK_PERMITTED << 8) | SACK_PERMITTED_LEN);
    p += SACK_PERMITTED_WORDS_LEN;
  }
  if (f.windowScale >= 0) {
    setBe32(buf, p, (OPT_NOP << 24) | (TCP_OPT_WINDOW_SCALE << 16) | (WINDOW_SCALE_LEN << 8) | (f.windowScale & 0xff));
    p += WINDOW_SCALE_WORDS_LEN;
  }
  if (blocks > 0) {
    const len = OPT_HDR_LEN + blocks * SACK_BLOCK_LEN;
    setBe32(buf, p, (OPT_NOP << 24) | (OPT_NOP << 16) | (TCP_OPT_SACK << 8) | len);
    p += SACK_WORDS_BASE_LEN;
    const sb = f.sackBlocks;
    for (let i = 0; i < blocks; i++, p += SACK_BLOCK_LEN) {
      setBe32(buf, p, sb[2 * i]!);
      setBe32(buf, p + SACK_RIGHT, sb[2 * i + 1]!);
    }
  }
  return hl;
}

/**
 * Cold-path convenience: parses the segment in `bytes` from `off` to the end into new fields.
 * @throws {WireFormatError} naming the reason when it is not a valid TCP header.
 */
export function decodeTcp(bytes: Uint8Array, off = 0): TcpFields {
  const f = newTcpFields();
  const st = parseTcp(new TcpView().reset(bytes, off), f);
  if (st !== WireStatus.Ok) throw wireFormatError('tcp', st, off);
  return f;
}
