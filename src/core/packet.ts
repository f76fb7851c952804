/**
 * `Packet`: the seed API's IP packet accessors (Go `pktkit.Packet`) as a reusable view over an
 * IPv4 or IPv6 packet, dispatching on the version nibble.
 *
 *   const p = this.packet.reset(bytes);
 *   if (p.check() !== WireStatus.Ok) return drop(…);
 *   if (p.ipProtocol === IpProto.UDP) handleUdp(p.buf, p.payloadOff, p.payloadLen);
 *
 * `check()` runs the IPv4 or IPv6 check (the IPv6 one walks extension headers), after which
 * every accessor is in bounds. Unlike the Go original, `payloadOff`/`payload` and `ipProtocol` of
 * an IPv6 packet are those of the upper layer, past any extension headers.
 *
 * Addresses: IPv4 as uint32 (`ipv4SrcAddr`), IPv6 read in place (`ipv6SrcOff` into `buf`). The
 * generic `srcAddr`/`dstAddr` return `IpAddr` objects and allocate: for display and tests.
 *
 * The address setters can fix checksums incrementally (RFC 1624): the IPv4 header checksum and,
 * when the packet carries the start of a TCP, UDP or ICMPv6 message, that checksum too, since
 * the pseudo-header covers the addresses. That is the rewrite a NAT does.
 */

import { IpAddr } from '../wire/addr.js';
import { be16, be32, be32i, setBe16 } from '../wire/bytes.js';
import { checksumAdjust, sum16 } from '../wire/checksum.js';
import { IPV4_OFF, IpProto, Ipv4View } from '../wire/ipv4.js';
import { IPV6_ADDR_LEN, Ipv6View } from '../wire/ipv6.js';
import { EMPTY_BYTES } from '../wire/bytes.js';
import { WireStatus } from '../wire/status.js';

// The seed accessors read the IPv4 fields directly rather than through the Ipv4View getters:
// every level of getter costs bytecode against V8's inlining budget, and a uint32 above 2^31
// returned from a call that was not inlined is boxed (an allocation per packet).
const { TOTAL_LEN: V4_TOTAL_LEN, TTL: V4_TTL, PROTO: V4_PROTO, SRC: V4_SRC, DST: V4_DST } = IPV4_OFF;
const { Ok: OK, Truncated: TRUNCATED, BadVersion: BAD_VERSION } = WireStatus;
// Where the checksum sits in each upper-layer header covered by a pseudo-header.
const TCP_CSUM = 16;
const TCP_MIN = 20;
const UDP_CSUM = 6;
const UDP_LEN = 8;
const ICMPV6_CSUM = 2;
const ICMPV6_MIN = 4;

export class Packet {
  buf: Uint8Array = EMPTY_BYTES;
  off = 0;
  len = 0;
  /** The IPv4 view, valid after `check()` on a version-4 packet. */
  readonly v4 = new Ipv4View();
  /** The IPv6 view, valid after `check()` on a version-6 packet. */
  readonly v6 = new Ipv6View();
  /** The version `check()` found (4 or 6), 0 before a check or after a failed one. */
  private ver = 0;

  /** A new view over `bytes` (cold path; engines reuse one view with `reset`). */
  static from(bytes: Uint8Array): Packet {
    return new Packet().reset(bytes);
  }

  // Kept small (V8 inlines small functions first; see docs/ARCHITECTURE.md "Hot paths"): the
  // version's view is pointed at the packet by check(), not here.
  reset(buf: Uint8Array, off = 0, len = buf.length - off): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    this.ver = 0;
    return this;
  }

  /** Checks the IPv4 or IPv6 header (and the IPv6 extension-header chain). */
  check(): WireStatus {
    // Compact on purpose: V8 charges this function's whole bytecode, and that of what it
    // inlines, against each caller's inlining budget (see docs/ARCHITECTURE.md, "Hot paths").
    const v = this.len > 0 ? this.buf[this.off]! >>> 4 : 0;
    const st = v === 4 ? this.checkV4() : v === 6 ? this.checkV6() : v === 0 && this.len === 0 ? TRUNCATED : BAD_VERSION;
    this.ver = st === OK ? v : 0;
    return st;
  }

  private checkV4(): WireStatus {
    const v = this.v4;
    v.buf = this.buf;
    v.off = this.off;
    v.len = this.len;
    return v.check();
  }

  private checkV6(): WireStatus {
    const v = this.v6;
    v.buf = this.buf;
    v.off = this.off;
    v.len = this.len;
    return v.check();
  }

  /** True when `check()` passes (the seed's IsValid). */
  get isValid(): boolean {
    return this.check() === WireStatus.Ok;
  }

  /** 4, 6, or the nibble found (0 for an empty buffer). */
  get version(): number {
    return this.len < 1 ? 0 : this.buf[this.off]! >>> 4;
  }

  // --- IPv4 (valid after check() on a version-4 packet) ---------------------------------------
  get ipv4HeaderLen(): number {
    return (this.buf[this.off]! & 0x0f) << 2;
  }
  get ipv4TotalLen(): number {
    return be16(this.buf, this.off + V4_TOTAL_LEN);
  }
  get ipv4TTL(): number {
    return this.buf[this.off + V4_TTL]!;
  }
  get ipv4Protocol(): number {
    return this.buf[this.off + V4_PROTO]!;
  }
  /**
   * Source as a uint32. Engines that key tables by address should read it as an int32
   * (`be32i(p.buf, p.v4.srcOff)`): an int32 is always a small integer in V8, a uint32 at or
   * above 2^31 is boxed whenever it crosses a call V8 did not inline.
   */
  get ipv4SrcAddr(): number {
    return be32(this.buf, this.off + V4_SRC);
  }
  /** Destination as a uint32 (see `ipv4SrcAddr` for hot-path use). */
  get ipv4DstAddr(): number {
    return be32(this.buf, this.off + V4_DST);
  }

  // --- IPv6 (valid after check() on a version-6 packet) ---------------------------------------
  get ipv6PayloadLen(): number {
    return this.v6.payloadLen;
  }
  /** The fixed header's Next Header (see `ipProtocol` for the upper layer). */
  get ipv6NextHeader(): number {
    return this.v6.nextHeader;
  }
  get ipv6HopLimit(): number {
    return this.v6.hopLimit;
  }
  /** The IPv6 source as a new IpAddr (the seed's IPv6SrcAddr; allocates: use ipv6SrcOff on hot paths). */
  get ipv6SrcAddr(): IpAddr {
    return IpAddr.fromBytes(this.buf, this.v6.srcOff, IPV6_ADDR_LEN);
  }
  /** The IPv6 destination as a new IpAddr (the seed's IPv6DstAddr; allocates). */
  get ipv6DstAddr(): IpAddr {
    return IpAddr.fromBytes(this.buf, this.v6.dstOff, IPV6_ADDR_LEN);
  }
  /** Offset in `buf` of the 16 source bytes. */
  get ipv6SrcOff(): number {
    return this.v6.srcOff;
  }
  /** Offset in `buf` of the 16 destination bytes. */
  get ipv6DstOff(): number {
    return this.v6.dstOff;
  }

  // --- Either version ---------------------------------------------------------------------------
  /** The upper-layer protocol: IPv4 Protocol, or IPv6's after extension headers. */
  get ipProtocol(): number {
    return this.ver === 4 ? this.buf[this.off + V4_PROTO]! : this.v6.upperProtocol;
  }
  /** Offset in `buf` of the upper-layer header. */
  get payloadOff(): number {
    return this.ver === 4 ? this.off + ((this.buf[this.off]! & 0x0f) << 2) : this.v6.upperOff;
  }
  /** Length of the upper-layer data (bounded by the IP length fields, not the buffer). */
  get payloadLen(): number {
    return this.ver === 4 ? be16(this.buf, this.off + V4_TOTAL_LEN) - ((this.buf[this.off]! & 0x0f) << 2) : this.v6.upperLen;
  }
  /** The upper-layer data as a new view (allocates; engines use payloadOff/payloadLen). */
  get payload(): Uint8Array {
    return this.buf.subarray(this.payloadOff, this.payloadOff + this.payloadLen);
  }
  /** The source address as a new IpAddr (allocates). */
  get srcAddr(): IpAddr {
    return this.ver === 4 ? IpAddr.fromV4(this.v4.src) : IpAddr.fromBytes(this.buf, this.v6.srcOff, IPV6_ADDR_LEN);
  }
  /** The destination address as a new IpAddr (allocates). */
  get dstAddr(): IpAddr {
    return this.ver === 4 ? IpAddr.fromV4(this.v4.dst) : IpAddr.fromBytes(this.buf, this.v6.dstOff, IPV6_ADDR_LEN);
  }
  /** True for the IPv4 limited broadcast 255.255.255.255 (IPv6 has no broadcast). */
  get isBroadcast(): boolean {
    return this.ver === 4 && be32i(this.buf, this.off + V4_DST) === -1;
  }
  /** True for IPv4 224.0.0.0/4 and IPv6 ff00::/8 destinations. */
  get isMulticast(): boolean {
    const v = this.ver;
    return v === 4 ? this.buf[this.off + V4_DST]! >>> 4 === 0xe : v === 6 && this.v6.isMulticast;
  }

  // --- Rewrites ---------------------------------------------------------------------------------
  /** Writes the IPv4 source; with `fixChecksums`, updates the IP and transport checksums. */
  setIPv4SrcAddr(addr: number, fixChecksums = true): void {
    this.rewriteV4(this.v4.srcOff, addr, fixChecksums);
  }
  /** Writes the IPv4 destination; with `fixChecksums`, updates the IP and transport checksums. */
  setIPv4DstAddr(addr: number, fixChecksums = true): void {
    this.rewriteV4(this.v4.dstOff, addr, fixChecksums);
  }
  /** Copies 16 bytes into the IPv6 source; with `fixChecksums`, updates the transport checksum. */
  setIPv6SrcAddr(addr: Uint8Array, addrOff = 0, fixChecksums = true): void {
    this.rewriteV6(this.v6.srcOff, addr, addrOff, fixChecksums);
  }
  /** Copies 16 bytes into the IPv6 destination; with `fixChecksums`, updates the transport checksum. */
  setIPv6DstAddr(addr: Uint8Array, addrOff = 0, fixChecksums = true): void {
    this.rewriteV6(this.v6.dstOff, addr, addrOff, fixChecksums);
  }

  private rewriteV4(fieldOff: number, addr: number, fix: boolean): void {
    const b = this.buf;
    const oldSum = sum16(b, fieldOff, 4);
    setBe16(b, fieldOff, addr >>> 16);
    setBe16(b, fieldOff + 2, addr & 0xffff);
    if (!fix) return;
    const newSum = sum16(b, fieldOff, 4);
    const v = this.v4;
    v.checksum = checksumAdjust(v.checksum, oldSum, newSum);
    // Only the fragment holding the transport header has its checksum to fix.
    if (v.fragOffset === 0) this.fixTransport(v.protocol, v.payloadOff, v.payloadLen, oldSum, newSum, false);
  }

  private rewriteV6(fieldOff: number, addr: Uint8Array, addrOff: number, fix: boolean): void {
    const b = this.buf;
    const oldSum = sum16(b, fieldOff, IPV6_ADDR_LEN);
    for (let i = 0; i < IPV6_ADDR_LEN; i++) b[fieldOff + i] = addr[addrOff + i]!;
    if (!fix) return;
    const v = this.v6;
    if (v.fragOffset === 0) this.fixTransport(v.upperProtocol, v.upperOff, v.upperLen, oldSum, sum16(b, fieldOff, IPV6_ADDR_LEN), true);
  }

  private fixTransport(proto: number, off: number, len: number, oldSum: number, newSum: number, v6: boolean): void {
    const b = this.buf;
    if (proto === IpProto.TCP && len >= TCP_MIN) {
      setBe16(b, off + TCP_CSUM, checksumAdjust(be16(b, off + TCP_CSUM), oldSum, newSum));
    } else if (proto === IpProto.UDP && len >= UDP_LEN) {
      const c = be16(b, off + UDP_CSUM);
      if (c === 0 && !v6) return; // RFC 768: zero means no checksum over IPv4
      const n = checksumAdjust(c, oldSum, newSum);
      setBe16(b, off + UDP_CSUM, n === 0 ? 0xffff : n);
    } else if (v6 && proto === IpProto.ICMPv6 && len >= ICMPV6_MIN) {
      setBe16(b, off + ICMPV6_CSUM, checksumAdjust(be16(b, off + ICMPV6_CSUM), oldSum, newSum));
    }
  }
}
