/**
 * ARP for IPv4 over Ethernet (RFC 826), the 28-byte packet that follows an Ethernet header with
 * EtherType 0x0806.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |      Hardware Type (1)        |     Protocol Type (0x0800)    |
 *   |  HLEN (6)     |   PLEN (4)    |          Operation            |
 *   |              Sender Hardware Address (6 bytes) ...            |
 *   |     ... SHA                   |  Sender Protocol Address ...  |
 *   |     ... SPA                   |  Target Hardware Address ...  |
 *   |              ... THA                                          |
 *   |              Target Protocol Address                          |
 *
 * `ArpView` reads and writes a packet in place; `ArpFields` is the parsed value, filled by
 * `parseArp` and written by `emitArp`. MACs are 48-bit numbers and IPv4 addresses uint32s.
 *
 * What `check()` reports, and why:
 * - fewer than 28 bytes: Truncated (bytes after the 28th, such as Ethernet padding, are ignored);
 * - a hardware type other than Ethernet (1) or a protocol type other than IPv4 (0x0800):
 *   Unsupported, since these are well-formed ARP packets for another pair of protocols;
 * - Ethernet/IPv4 with a hardware length other than 6 or a protocol length other than 4:
 *   BadValue, since RFC 826 defines the lengths by the types, so the packet contradicts itself.
 * The operation is not checked: RFC 826 defines request (1) and reply (2), and the field is
 * handed to the engine, which ignores the others (RARP, RFC 903; InARP, RFC 2390).
 *
 * Not handled here: hardware or protocol types other than Ethernet and IPv4, and the ARP
 * engine's policy (RFC 5227 probes and announcements are ordinary requests to this codec).
 */

import { EMPTY_BYTES, be16, be32, readMac, setBe16, setBe32, writeMac } from './bytes.js';
import { WireStatus, wireFormatError } from './status.js';

const HTYPE = 0;
const PTYPE = 2;
const HLEN = 4;
const PLEN = 5;
const OPER = 6;
const SHA = 8;
const SPA = 14;
const THA = 18;
const TPA = 24;

/** Length of an ARP packet for IPv4 over Ethernet. */
export const ARP_LEN = 28;
/** RFC 826 / IANA "Hardware Types": Ethernet (10Mb). */
export const ARP_HTYPE_ETHERNET = 1;
/** The protocol type is an EtherType: IPv4. */
export const ARP_PTYPE_IPV4 = 0x0800;
export const ARP_HLEN_ETHERNET = 6;
export const ARP_PLEN_IPV4 = 4;
/** RFC 826 operations. */
export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;

/** A reusable view over an ARP packet in place. Not safe to share across reentrant calls. */
export class ArpView {
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
   * The one check at the trust boundary: at least 28 bytes, Ethernet/IPv4, lengths 6 and 4 (see
   * the file header for which status each failure gives). After Ok every accessor reads in bounds.
   */
  check(): WireStatus {
    if (this.len < ARP_LEN) return WireStatus.Truncated;
    const b = this.buf;
    const o = this.off;
    if (be16(b, o + HTYPE) !== ARP_HTYPE_ETHERNET || be16(b, o + PTYPE) !== ARP_PTYPE_IPV4) {
      return WireStatus.Unsupported;
    }
    if (b[o + HLEN] !== ARP_HLEN_ETHERNET || b[o + PLEN] !== ARP_PLEN_IPV4) return WireStatus.BadValue;
    return WireStatus.Ok;
  }

  get htype(): number {
    return be16(this.buf, this.off + HTYPE);
  }
  set htype(v: number) {
    setBe16(this.buf, this.off + HTYPE, v);
  }
  get ptype(): number {
    return be16(this.buf, this.off + PTYPE);
  }
  set ptype(v: number) {
    setBe16(this.buf, this.off + PTYPE, v);
  }
  /** Hardware address length in bytes. */
  get hlen(): number {
    return this.buf[this.off + HLEN]!;
  }
  set hlen(v: number) {
    this.buf[this.off + HLEN] = v;
  }
  /** Protocol address length in bytes. */
  get plen(): number {
    return this.buf[this.off + PLEN]!;
  }
  set plen(v: number) {
    this.buf[this.off + PLEN] = v;
  }
  /** ARP_OP_REQUEST or ARP_OP_REPLY (others are passed through unchecked). */
  get op(): number {
    return be16(this.buf, this.off + OPER);
  }
  set op(v: number) {
    setBe16(this.buf, this.off + OPER, v);
  }
  /** Sender hardware address as a 48-bit number. */
  get senderMac(): number {
    return readMac(this.buf, this.off + SHA);
  }
  set senderMac(v: number) {
    writeMac(this.buf, this.off + SHA, v);
  }
  /** Sender protocol address as a uint32. */
  get senderIp(): number {
    return be32(this.buf, this.off + SPA);
  }
  set senderIp(v: number) {
    setBe32(this.buf, this.off + SPA, v);
  }
  /** Target hardware address as a 48-bit number (zero in a request). */
  get targetMac(): number {
    return readMac(this.buf, this.off + THA);
  }
  set targetMac(v: number) {
    writeMac(this.buf, this.off + THA, v);
  }
  /** Target protocol address as a uint32. */
  get targetIp(): number {
    return be32(this.buf, this.off + TPA);
  }
  set targetIp(v: number) {
    setBe32(this.buf, this.off + TPA, v);
  }
  /** Offset (in `buf`) of the 6 sender hardware address bytes. */
  get senderMacOff(): number {
    return this.off + SHA;
  }
  /** Offset (in `buf`) of the 6 target hardware address bytes. */
  get targetMacOff(): number {
    return this.off + THA;
  }
}

/** The parsed value of an ARP packet for IPv4 over Ethernet (smoltcp's `ArpRepr`). */
export interface ArpFields {
  /** ARP_OP_REQUEST or ARP_OP_REPLY. */
  op: number;
  senderMac: number;
  senderIp: number;
  targetMac: number;
  targetIp: number;
}

/** Fresh fields: a request with every address zero. */
export function newArpFields(): ArpFields {
  return { op: ARP_OP_REQUEST, senderMac: 0, senderIp: 0, targetMac: 0, targetIp: 0 };
}

/** Checks `v` and fills `out`. Allocates nothing. */
export function parseArp(v: ArpView, out: ArpFields): WireStatus {
  const st = v.check();
  if (st !== WireStatus.Ok) return st;
  out.op = v.op;
  out.senderMac = v.senderMac;
  out.senderIp = v.senderIp;
  out.targetMac = v.targetMac;
  out.targetIp = v.targetIp;
  return WireStatus.Ok;
}

/** Bytes `emitArp` writes: always 28 (an Ethernet frame pads it to 46 bytes of payload). */
export function arpEmitLen(_f: ArpFields): number {
  return ARP_LEN;
}

/** Writes the packet for `f` at `off`. Returns the bytes written (28). The caller guarantees room. */
export function emitArp(f: ArpFields, buf: Uint8Array, off: number): number {
  setBe16(buf, off + HTYPE, ARP_HTYPE_ETHERNET);
  setBe16(buf, off + PTYPE, ARP_PTYPE_IPV4);
  buf[off + HLEN] = ARP_HLEN_ETHERNET;
  buf[off + PLEN] = ARP_PLEN_IPV4;
  setBe16(buf, off + OPER, f.op);
  writeMac(buf, off + SHA, f.senderMac);
  setBe32(buf, off + SPA, f.senderIp);
  writeMac(buf, off + THA, f.targetMac);
  setBe32(buf, off + TPA, f.targetIp);
  return ARP_LEN;
}

/**
 * Cold-path convenience: parses an ARP packet from `bytes` into new fields.
 * @throws {WireFormatError} naming the reason when `bytes` is not ARP for IPv4 over Ethernet.
 */
export function decodeArp(bytes: Uint8Array, off = 0): ArpFields {
  const f = newArpFields();
  const st = parseArp(new ArpView().reset(bytes, off), f);
  if (st !== WireStatus.Ok) throw wireFormatError('arp', st, off);
  return f;
}
