/**
 * The packets a slirp `Stack` makes itself (TCP's are the vtcp stack's): UDP datagrams from the
 * real side (RFC 768, checksum always filled, over IPv4 and IPv6), ICMP Echo Replies for its own
 * addresses and for replies that came back through ICMP sockets (RFC 792, RFC 4443 §4.2), and
 * Destination Unreachable errors quoting the offending packet (RFC 792: the IP header and at
 * least 8 bytes; RFC 1812 §4.3.2.3: as much as fits in 576 bytes; RFC 4443 §2.4 (c): as much as
 * fits in the IPv6 minimum MTU, 1280).
 *
 * One scratch buffer per builder, reused: the handed-out view is valid only until the handler it
 * goes to returns (the device contract). Single-threaded, not reentrant.
 */

import { be16 } from '../wire/bytes.js';
import { checksum } from '../wire/checksum.js';
import { Icmpv4Type, emitIcmpv4, newIcmpv4Fields, type Icmpv4Fields } from '../wire/icmpv4.js';
import { Icmpv6Type, emitIcmpv6, newIcmpv6Fields, type Icmpv6Fields } from '../wire/icmpv6.js';
import { IpProto, emitIpv4, newIpv4Fields, type Ipv4Fields } from '../wire/ipv4.js';
import { IPV6_HEADER_LEN, emitIpv6, newIpv6Fields, type Ipv6Fields } from '../wire/ipv6.js';
import { UDP_HEADER_LEN, emitUdpV4, emitUdpV6, newUdpFields, type UdpFields } from '../wire/udp.js';

const IPV4_HEADER_LEN = 20;
const ICMP_HEADER_LEN = 8;
/** RFC 1812 §4.3.2.3: an ICMPv4 error is at most 576 bytes. */
const ICMPV4_ERROR_MAX = 576;
/** RFC 4443 §2.4 (c): an ICMPv6 error does not exceed the minimum IPv6 MTU. */
const ICMPV6_ERROR_MAX = 1280;
/** Largest packet built here: a 64 KiB datagram and its headers. */
export const SCRATCH_LEN = 65535 + IPV6_HEADER_LEN;
/** Largest UDP payload that fits in one IPv4 / IPv6 packet. */
export const UDP_MAX_PAYLOAD4 = 65535 - IPV4_HEADER_LEN - UDP_HEADER_LEN;
export const UDP_MAX_PAYLOAD6 = 65535 - UDP_HEADER_LEN;
// Offsets in the IPv4 header (RFC 791 §3.1) and the IPv6 one (RFC 8200 §3).
const V4_SRC = 12;
const V4_DST = 16;
const V6_SRC = 8;
const V6_DST = 24;
// Echo header fields (RFC 792, RFC 4443 §4.1).
const ECHO_IDENT = 4;
const ECHO_SEQ = 6;

export class PacketBuilder {
  private readonly buf = new Uint8Array(SCRATCH_LEN);
  private readonly ip4: Ipv4Fields = newIpv4Fields();
  private readonly ip6: Ipv6Fields = newIpv6Fields();
  private readonly udp: UdpFields = newUdpFields();
  private readonly icmp4: Icmpv4Fields = newIcmpv4Fields();
  private readonly icmp6: Icmpv6Fields = newIcmpv6Fields();
  private ident = 0;

  private v4Header(src: number, dst: number, proto: number, payloadLen: number, buf: Uint8Array = this.buf, off = 0): void {
    const h = this.ip4;
    h.src = src;
    h.dst = dst;
    h.protocol = proto;
    h.payloadLen = payloadLen;
    this.ident = (this.ident + 1) & 0xffff;
    h.ident = this.ident;
    emitIpv4(h, buf, off);
  }

  private v6Header(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, next: number, payloadLen: number, buf: Uint8Array = this.buf, off = 0): void {
    const h = this.ip6;
    for (let i = 0; i < 16; i++) {
      h.src[i] = src[srcOff + i]!;
      h.dst[i] = dst[dstOff + i]!;
    }
    h.nextHeader = next;
    h.payloadLen = payloadLen;
    emitIpv6(h, buf, off);
  }

  /**
   * In place, no copy: writes the IPv4 and UDP headers of a datagram src:sport -> dst:dport whose
   * `len` bytes of payload are already at `buf[off + 28]` (the batched receive leaves that
   * headroom). Addresses as u32 or int32 alike. Returns the packet's length, from `off`.
   */
  udp4InPlace(buf: Uint8Array, off: number, src: number, sport: number, dst: number, dport: number, len: number): number {
    const u = this.udp;
    u.srcPort = sport;
    u.dstPort = dport;
    u.payloadLen = len;
    emitUdpV4(u, buf, off + IPV4_HEADER_LEN, src, dst);
    this.v4Header(src, dst, IpProto.UDP, UDP_HEADER_LEN + len, buf, off);
    return IPV4_HEADER_LEN + UDP_HEADER_LEN + len;
  }

  /** As `udp4InPlace` over IPv6 (payload at `buf[off + 48]`; addresses 16 bytes at the offsets given). */
  udp6InPlace(buf: Uint8Array, off: number, src: Uint8Array, srcOff: number, sport: number, dst: Uint8Array, dstOff: number, dport: number, len: number): number {
    this.v6Header(src, srcOff, dst, dstOff, IpProto.UDP, UDP_HEADER_LEN + len, buf, off);
    const u = this.udp;
    u.srcPort = sport;
    u.dstPort = dport;
    u.payloadLen = len;
    emitUdpV6(u, buf, off + IPV6_HEADER_LEN, buf, off + V6_SRC, off + V6_DST);
    return IPV6_HEADER_LEN + UDP_HEADER_LEN + len;
  }

  /** An IPv4 UDP datagram src:sport -> dst:dport carrying `data[off, off+len)`. */
  udp4(src: number, sport: number, dst: number, dport: number, data: Uint8Array, off: number, len: number): Uint8Array {
    const b = this.buf;
    const o = IPV4_HEADER_LEN;
    b.set(data.subarray(off, off + len), o + UDP_HEADER_LEN);
    const u = this.udp;
    u.srcPort = sport;
    u.dstPort = dport;
    u.payloadLen = len;
    emitUdpV4(u, b, o, src, dst);
    this.v4Header(src, dst, IpProto.UDP, UDP_HEADER_LEN + len);
    return b.subarray(0, o + UDP_HEADER_LEN + len);
  }

  /** An IPv6 UDP datagram (addresses 16 bytes at the offsets given). */
  udp6(src: Uint8Array, srcOff: number, sport: number, dst: Uint8Array, dstOff: number, dport: number, data: Uint8Array, off: number, len: number): Uint8Array {
    const b = this.buf;
    const o = IPV6_HEADER_LEN;
    this.v6Header(src, srcOff, dst, dstOff, IpProto.UDP, UDP_HEADER_LEN + len);
    b.set(data.subarray(off, off + len), o + UDP_HEADER_LEN);
    const u = this.udp;
    u.srcPort = sport;
    u.dstPort = dport;
    u.payloadLen = len;
    emitUdpV6(u, b, o, b, V6_SRC, V6_DST);
    return b.subarray(0, o + UDP_HEADER_LEN + len);
  }

  /** The Echo Reply to the IPv4 Echo Request `p` (header length `hl`, total `total`). */
  echoReply4(p: Uint8Array, hl: number, total: number): Uint8Array {
    const b = this.buf;
    const dataLen = total - hl - ICMP_HEADER_LEN;
    const f = this.icmp4;
    f.type = Icmpv4Type.EchoReply;
    f.code = 0;
    f.ident = be16(p, hl + ECHO_IDENT);
    f.seq = be16(p, hl + ECHO_SEQ);
    f.payloadLen = dataLen;
    b.set(p.subarray(hl + ICMP_HEADER_LEN, total), IPV4_HEADER_LEN + ICMP_HEADER_LEN);
    emitIcmpv4(f, b, IPV4_HEADER_LEN);
    // From the address that was pinged to the one that pinged.
    this.v4Header(((p[V4_DST]! << 24) | (p[V4_DST + 1]! << 16) | (p[V4_DST + 2]! << 8) | p[V4_DST + 3]!) >>> 0,
      ((p[V4_SRC]! << 24) | (p[V4_SRC + 1]! << 16) | (p[V4_SRC + 2]! << 8) | p[V4_SRC + 3]!) >>> 0, IpProto.ICMP, ICMP_HEADER_LEN + dataLen);
    return b.subarray(0, IPV4_HEADER_LEN + ICMP_HEADER_LEN + dataLen);
  }

  /** The Echo Reply to the ICMPv6 Echo Request at `off` (to the end `end`) in the IPv6 packet `p`. */
  echoReply6(p: Uint8Array, off: number, end: number): Uint8Array {
    const b = this.buf;
    const dataLen = end - off - ICMP_HEADER_LEN;
    this.v6Header(p, V6_DST, p, V6_SRC, IpProto.ICMPv6, ICMP_HEADER_LEN + dataLen);
    const f = this.icmp6;
    f.type = Icmpv6Type.EchoReply;
    f.code = 0;
    f.ident = be16(p, off + ECHO_IDENT);
    f.seq = be16(p, off + ECHO_SEQ);
    f.payloadLen = dataLen;
    b.set(p.subarray(off + ICMP_HEADER_LEN, end), IPV6_HEADER_LEN + ICMP_HEADER_LEN);
    emitIcmpv6(f, b, IPV6_HEADER_LEN, b, V6_SRC, V6_DST);
    return b.subarray(0, IPV6_HEADER_LEN + ICMP_HEADER_LEN + dataLen);
  }

  /** Destination Unreachable (`code`) from `from` about the IPv4 packet `p` of `total` bytes. */
  unreach4(p: Uint8Array, total: number, code: number, from: number): Uint8Array {
    const b = this.buf;
    const quote = Math.min(total, ICMPV4_ERROR_MAX - IPV4_HEADER_LEN - ICMP_HEADER_LEN);
    const f = this.icmp4;
    f.type = Icmpv4Type.DestUnreachable;
    f.code = code;
    f.nextHopMtu = 0;
    f.payloadLen = quote;
    b.set(p.subarray(0, quote), IPV4_HEADER_LEN + ICMP_HEADER_LEN);
    emitIcmpv4(f, b, IPV4_HEADER_LEN);
    const to = ((p[V4_SRC]! << 24) | (p[V4_SRC + 1]! << 16) | (p[V4_SRC + 2]! << 8) | p[V4_SRC + 3]!) >>> 0;
    this.v4Header(from, to, IpProto.ICMP, ICMP_HEADER_LEN + quote);
    return b.subarray(0, IPV4_HEADER_LEN + ICMP_HEADER_LEN + quote);
  }

  /** ICMPv6 Destination Unreachable (`code`) from the 16 bytes at `fromOff` in `from` about `p`. */
  unreach6(p: Uint8Array, total: number, code: number, from: Uint8Array, fromOff: number): Uint8Array {
    const b = this.buf;
    const quote = Math.min(total, ICMPV6_ERROR_MAX - IPV6_HEADER_LEN - ICMP_HEADER_LEN);
    this.v6Header(from, fromOff, p, V6_SRC, IpProto.ICMPv6, ICMP_HEADER_LEN + quote);
    b.set(p.subarray(0, quote), IPV6_HEADER_LEN + ICMP_HEADER_LEN);
    const f = this.icmp6;
    f.type = Icmpv6Type.DestUnreachable;
    f.code = code;
    f.payloadLen = quote;
    emitIcmpv6(f, b, IPV6_HEADER_LEN, b, V6_SRC, V6_DST);
    return b.subarray(0, IPV6_HEADER_LEN + ICMP_HEADER_LEN + quote);
  }

  /**
   * An IPv4 Echo Reply from `src` to `dst` (uint32s) with `ident`, `seq` and the data
   * `data[off, off+len)`: a reply that came back through an ICMP socket (icmp.ts), rebuilt for
   * the virtual host.
   */
  echoReplyFrom4(src: number, dst: number, ident: number, seq: number, data: Uint8Array, off: number, len: number): Uint8Array {
    const b = this.buf;
    const f = this.icmp4;
    f.type = Icmpv4Type.EchoReply;
    f.code = 0;
    f.ident = ident;
    f.seq = seq;
    f.payloadLen = len;
    b.set(data.subarray(off, off + len), IPV4_HEADER_LEN + ICMP_HEADER_LEN);
    emitIcmpv4(f, b, IPV4_HEADER_LEN);
    this.v4Header(src, dst, IpProto.ICMP, ICMP_HEADER_LEN + len);
    return b.subarray(0, IPV4_HEADER_LEN + ICMP_HEADER_LEN + len);
  }

  /** As `echoReplyFrom4` over IPv6 (addresses 16 bytes at the offsets given). */
  echoReplyFrom6(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, ident: number, seq: number, data: Uint8Array, off: number, len: number): Uint8Array {
    const b = this.buf;
    this.v6Header(src, srcOff, dst, dstOff, IpProto.ICMPv6, ICMP_HEADER_LEN + len);
    const f = this.icmp6;
    f.type = Icmpv6Type.EchoReply;
    f.code = 0;
    f.ident = ident;
    f.seq = seq;
    f.payloadLen = len;
    b.set(data.subarray(off, off + len), IPV6_HEADER_LEN + ICMP_HEADER_LEN);
    emitIcmpv6(f, b, IPV6_HEADER_LEN, b, V6_SRC, V6_DST);
    return b.subarray(0, IPV6_HEADER_LEN + ICMP_HEADER_LEN + len);
  }
}

/** True when the IPv4 header `p[0, hl)` has a valid checksum. */
export function ipv4HeaderOk(p: Uint8Array, hl: number): boolean {
  return checksum(p, 0, hl) === 0;
}

