/** Packet builders and checkers of the slirp tests (cold path: allocation is fine here). */
import { parseIPv4, parseIPv6 } from '../../src/wire/addr.js';
import { be16, setBe16 } from '../../src/wire/bytes.js';
import { checksum, transportChecksumV4, transportChecksumV6 } from '../../src/wire/checksum.js';
import { Icmpv4Type, emitIcmpv4, newIcmpv4Fields } from '../../src/wire/icmpv4.js';
import { Icmpv6Type, emitIcmpv6, newIcmpv6Fields } from '../../src/wire/icmpv6.js';
import { IpProto, emitIpv4, newIpv4Fields } from '../../src/wire/ipv4.js';
import { emitIpv6, newIpv6Fields } from '../../src/wire/ipv6.js';
import { emitUdpV4, emitUdpV6, newUdpFields } from '../../src/wire/udp.js';

/** A zeroed IPv4 packet with its header written (transport bytes after byte 20 left to the caller). */
function ipv4Packet(src: string, dst: string, protocol: number, payloadLen: number): Uint8Array {
  const p = new Uint8Array(20 + payloadLen);
  const ip = newIpv4Fields();
  ip.src = parseIPv4(src);
  ip.dst = parseIPv4(dst);
  ip.protocol = protocol;
  ip.payloadLen = payloadLen;
  emitIpv4(ip, p, 0);
  return p;
}

/** The same for IPv6 (transport after byte 40; the pseudo-header addresses are at 8 and 24). */
function ipv6Packet(src: string, dst: string, nextHeader: number, payloadLen: number): Uint8Array {
  const p = new Uint8Array(40 + payloadLen);
  const ip = newIpv6Fields();
  ip.src = parseIPv6(src);
  ip.dst = parseIPv6(dst);
  ip.nextHeader = nextHeader;
  ip.payloadLen = payloadLen;
  emitIpv6(ip, p, 0);
  return p;
}

function udpFields(sport: number, dport: number, len: number): ReturnType<typeof newUdpFields> {
  const u = newUdpFields();
  u.srcPort = sport;
  u.dstPort = dport;
  u.payloadLen = len;
  return u;
}

export function udp4(src: string, sport: number, dst: string, dport: number, data: Uint8Array): Uint8Array {
  const p = ipv4Packet(src, dst, IpProto.UDP, 8 + data.length);
  p.set(data, 28);
  emitUdpV4(udpFields(sport, dport, data.length), p, 20, parseIPv4(src), parseIPv4(dst));
  return p;
}

export function udp6(src: string, sport: number, dst: string, dport: number, data: Uint8Array): Uint8Array {
  const p = ipv6Packet(src, dst, IpProto.UDP, 8 + data.length);
  p.set(data, 48);
  emitUdpV6(udpFields(sport, dport, data.length), p, 40, p, 8, 24);
  return p;
}

export function echo4(src: string, dst: string, ident: number, seq: number, data: Uint8Array): Uint8Array {
  const p = ipv4Packet(src, dst, IpProto.ICMP, 8 + data.length);
  p.set(data, 28);
  const f = newIcmpv4Fields();
  f.type = Icmpv4Type.Echo;
  f.ident = ident;
  f.seq = seq;
  f.payloadLen = data.length;
  emitIcmpv4(f, p, 20);
  return p;
}

export function echo6(src: string, dst: string, ident: number, seq: number, data: Uint8Array): Uint8Array {
  const p = ipv6Packet(src, dst, IpProto.ICMPv6, 8 + data.length);
  p.set(data, 48);
  const f = newIcmpv6Fields();
  f.type = Icmpv6Type.EchoRequest;
  f.ident = ident;
  f.seq = seq;
  f.payloadLen = data.length;
  emitIcmpv6(f, p, 40, p, 8, 24);
  return p;
}

/** A UDP datagram read back, its IP and UDP checksums verified (throws otherwise). */
export interface UdpSeen {
  family: 4 | 6;
  sport: number;
  dport: number;
  data: Buffer;
}

export function readUdp(p: Uint8Array): UdpSeen | null {
  if (p[0]! >>> 4 === 4) {
    if (p[9] !== IpProto.UDP) return null;
    if (checksum(p, 0, 20) !== 0) throw new Error('bad IPv4 header checksum');
    const ulen = be16(p, 24);
    const src = (p[12]! << 24 | p[13]! << 16 | p[14]! << 8 | p[15]!) >>> 0;
    const dst = (p[16]! << 24 | p[17]! << 16 | p[18]! << 8 | p[19]!) >>> 0;
    if (transportChecksumV4(IpProto.UDP, src, dst, p, 20, ulen) !== 0) throw new Error('bad UDP checksum');
    return { family: 4, sport: be16(p, 20), dport: be16(p, 22), data: Buffer.from(p.subarray(28, 20 + ulen)) };
  }
  if (p[6] !== IpProto.UDP) return null;
  const ulen = be16(p, 44);
  if (transportChecksumV6(IpProto.UDP, p, 8, 24, p, 40, ulen) !== 0) throw new Error('bad UDP checksum (v6)');
  return { family: 6, sport: be16(p, 40), dport: be16(p, 42), data: Buffer.from(p.subarray(48, 40 + ulen)) };
}

export { setBe16 };
