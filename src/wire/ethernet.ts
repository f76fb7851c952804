/**
 * Ethernet II header with at most one IEEE 802.1Q tag.
 *
 *   untagged:  | dst MAC (6) | src MAC (6) | EtherType (2) | payload…
 *   tagged:    | dst MAC (6) | src MAC (6) | 0x8100 (2) | PCP:3 DEI:1 VID:12 (2) | EtherType (2) | payload…
 *
 * MACs are 48-bit numbers. `etherType` is VLAN-aware: for a tagged frame it is the inner type.
 * A type/length field below 0x0600 is an IEEE 802.3 length (LLC frames): such frames are well
 * formed here, and their `etherType` is that length; nothing in pktkit interprets LLC.
 *
 * Not handled: stacked tags (802.1ad QinQ: an outer 0x88A8 tag is reported as the EtherType),
 * the frame check sequence (never present on virtual links, TUN/TAP or AF_XDP).
 */

import { EMPTY_BYTES, be16, readMac, setBe16, writeMac } from './bytes.js';
import { WireStatus, wireFormatError } from './status.js';

const DST = 0;
const SRC = 6;
const BROADCAST = 0xffff_ffff_ffff;
const TYPE = 12;
const TCI = 14;
const INNER_TYPE = 16;

export const ETH_HEADER_LEN = 14;
export const ETH_VLAN_HEADER_LEN = 18;
/** Smallest frame on a physical segment without FCS (IEEE 802.3 minimum 64 minus 4). */
export const ETH_MIN_FRAME_LEN = 60;
const VID_MASK = 0x0fff;
// The 802.1Q TPID as a plain constant: hot accessors compare against it, and a literal is fewer
// bytecodes than a property load from the EtherType object (V8 inlines small getters first).
const TPID_8021Q = 0x8100;

/** EtherTypes (IEEE "EtherType" registry). */
export const EtherType = {
  IPv4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100,
  IPv6: 0x86dd,
  QinQ: 0x88a8,
} as const;

/** A reusable view over an Ethernet header in place. */
export class EthernetView {
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

  /** 14 bytes, or 18 when the type field says 802.1Q. */
  check(): WireStatus {
    const len = this.len;
    if (len >= ETH_VLAN_HEADER_LEN) return WireStatus.Ok;
    return len < ETH_HEADER_LEN || be16(this.buf, this.off + TYPE) === TPID_8021Q ? WireStatus.Truncated : WireStatus.Ok;
  }

  /** Destination MAC as a 48-bit number. */
  get dstMAC(): number {
    // DST is 0. Kept this small (under V8's 27-byte "always inline" bytecode limit) so that the
    // double it returns is not boxed when a caller's call site has no frequency feedback yet.
    return readMac(this.buf, this.off);
  }
  set dstMAC(mac: number) {
    writeMac(this.buf, this.off + DST, mac);
  }
  /** Source MAC as a 48-bit number. */
  get srcMAC(): number {
    return readMac(this.buf, SRC + this.off);
  }
  set srcMAC(mac: number) {
    writeMac(this.buf, this.off + SRC, mac);
  }
  /** True when an 802.1Q tag follows the source MAC. */
  get hasVLAN(): boolean {
    return be16(this.buf, this.off + TYPE) === TPID_8021Q;
  }
  /** The EtherType of the payload, past one 802.1Q tag. */
  get etherType(): number {
    const t = be16(this.buf, this.off + TYPE);
    return t === TPID_8021Q ? be16(this.buf, this.off + INNER_TYPE) : t;
  }
  /** Writes the payload's EtherType (the inner one on a tagged frame). */
  set etherType(v: number) {
    setBe16(this.buf, this.off + (this.hasVLAN ? INNER_TYPE : TYPE), v);
  }
  /** VLAN identifier (12 bits); 0 on an untagged frame. */
  get vlanID(): number {
    return this.hasVLAN ? be16(this.buf, this.off + TCI) & VID_MASK : 0;
  }
  /** Writes the VLAN identifier of a tagged frame (no-op on an untagged one). */
  set vlanID(v: number) {
    if (!this.hasVLAN) return;
    const tci = be16(this.buf, this.off + TCI);
    setBe16(this.buf, this.off + TCI, (tci & ~VID_MASK) | (v & VID_MASK));
  }
  /** 802.1p priority code point (3 bits); 0 on an untagged frame. */
  get vlanPCP(): number {
    return this.hasVLAN ? this.buf[this.off + TCI]! >>> 5 : 0;
  }
  /** Header length in bytes: 14, or 18 with a tag. */
  get headerLen(): number {
    return this.hasVLAN ? ETH_VLAN_HEADER_LEN : ETH_HEADER_LEN;
  }
  /** Offset (in `buf`) of the payload. */
  get payloadOff(): number {
    return this.off + this.headerLen;
  }
  /** Payload length: everything after the header (including any padding). */
  get payloadLen(): number {
    return this.len - this.headerLen;
  }
  /** True for ff:ff:ff:ff:ff:ff. */
  get isBroadcast(): boolean {
    return readMac(this.buf, this.off) === BROADCAST; // DST is 0
  }
  /** True for any group address (multicast or broadcast): the I/G bit of the first octet. */
  get isMulticast(): boolean {
    return (this.buf[this.off]! & 1) !== 0; // DST is 0
  }
}

/** The parsed value of an Ethernet header. */
export interface EthernetFields {
  dst: number;
  src: number;
  etherType: number;
  /** VLAN identifier, or -1 for an untagged frame. */
  vlanID: number;
  /** Priority code point of the tag (ignored when untagged). */
  pcp: number;
}

export function newEthernetFields(): EthernetFields {
  return { dst: 0, src: 0, etherType: 0, vlanID: -1, pcp: 0 };
}

/** Checks `v` and fills `out`. Allocates nothing. */
export function parseEthernet(v: EthernetView, out: EthernetFields): WireStatus {
  const st = v.check();
  if (st !== WireStatus.Ok) return st;
  out.dst = v.dstMAC;
  out.src = v.srcMAC;
  out.etherType = v.etherType;
  out.vlanID = v.hasVLAN ? v.vlanID : -1;
  out.pcp = v.vlanPCP;
  return WireStatus.Ok;
}

/** Header length `emitEthernet` writes: 14, or 18 with a VLAN. */
export function ethernetEmitLen(f: EthernetFields): number {
  return f.vlanID >= 0 ? ETH_VLAN_HEADER_LEN : ETH_HEADER_LEN;
}

/** Writes the header for `f` at `off` and returns its length. The caller guarantees room. */
export function emitEthernet(f: EthernetFields, buf: Uint8Array, off: number): number {
  writeMac(buf, off + DST, f.dst);
  writeMac(buf, off + SRC, f.src);
  if (f.vlanID < 0) {
    setBe16(buf, off + TYPE, f.etherType);
    return ETH_HEADER_LEN;
  }
  setBe16(buf, off + TYPE, EtherType.VLAN);
  setBe16(buf, off + TCI, ((f.pcp & 0x7) << 13) | (f.vlanID & VID_MASK));
  setBe16(buf, off + INNER_TYPE, f.etherType);
  return ETH_VLAN_HEADER_LEN;
}

/**
 * Cold-path convenience: parses an Ethernet header into new fields.
 * @throws {WireFormatError} when `bytes` is too short.
 */
export function decodeEthernet(bytes: Uint8Array, off = 0): EthernetFields {
  const f = newEthernetFields();
  const st = parseEthernet(new EthernetView().reset(bytes, off), f);
  if (st !== WireStatus.Ok) throw wireFormatError('ethernet', st, off);
  return f;
}
