import test from 'ava';
import { Frame, buildFrame, newFrame } from '../../src/core/frame.js';
import { Packet } from '../../src/core/packet.js';
import { EtherType } from '../../src/wire/ethernet.js';
import { IpProto } from '../../src/wire/ipv4.js';
import { WireStatus } from '../../src/wire/status.js';
import { transportChecksumV4, transportChecksumV6, checksum } from '../../src/wire/checksum.js';
import { parseIPv6 } from '../../src/wire/addr.js';
import { fromHex, toHex } from '../helpers/bytes.js';
import { KERNEL_IPV4_TCP_SYN, KERNEL_IPV4_UDP, KERNEL_IPV6_ICMPV6_ECHO, KERNEL_IPV6_TCP_SYN, KERNEL_IPV6_UDP } from '../vectors/kernel-tun.js';

test('Frame: the seed accessors on a built frame, and newFrame = buildFrame', (t) => {
  const payload = fromHex(KERNEL_IPV4_UDP);
  const bytes = newFrame('52:54:00:12:34:56', 0x0200_0000_0001, EtherType.IPv4, payload);
  t.is(toHex(bytes, 0, 14), '525400123456020000000001' + '0800');
  const f = Frame.from(bytes);
  t.true(f.isValid);
  t.is(f.dstMAC, 0x5254_0012_3456);
  t.is(f.srcMAC, 0x0200_0000_0001);
  t.is(f.etherType, EtherType.IPv4);
  t.false(f.hasVLAN);
  t.is(f.headerLen, 14);
  t.is(toHex(f.payload), KERNEL_IPV4_UDP);
  const tagged = Frame.from(buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: 2, etherType: EtherType.ARP, vlanID: 42, pcp: 6, payload: new Uint8Array(2) }));
  t.true(tagged.isBroadcast);
  t.true(tagged.hasVLAN);
  t.is(tagged.vlanID, 42);
  t.is(tagged.vlanPCP, 6);
  t.is(tagged.etherType, EtherType.ARP);
  t.is(tagged.payload.length, 2);
  t.false(Frame.from(new Uint8Array(13)).isValid);
});

test('Packet: IPv4 accessors', (t) => {
  const p = Packet.from(fromHex(KERNEL_IPV4_TCP_SYN));
  t.is(p.check(), WireStatus.Ok);
  t.is(p.version, 4);
  t.is(p.ipv4HeaderLen, 20);
  t.is(p.ipv4TotalLen, 60);
  t.is(p.ipv4TTL, 64);
  t.is(p.ipv4Protocol, IpProto.TCP);
  t.is(p.ipv4SrcAddr, 0x0a630001);
  t.is(p.ipv4DstAddr, 0x0a630002);
  t.is(p.ipProtocol, IpProto.TCP);
  t.is(p.payloadOff, 20);
  t.is(p.payloadLen, 40);
  t.is(p.srcAddr.toString(), '10.99.0.1');
  t.is(p.dstAddr.toString(), '10.99.0.2');
  t.false(p.isBroadcast);
  t.false(p.isMulticast);
});

test('Packet: IPv6 accessors skip extension headers (unlike the Go original)', (t) => {
  const base = fromHex(KERNEL_IPV6_UDP);
  // Insert an 8-byte Destination Options header between the fixed header and UDP.
  const b = new Uint8Array(base.length + 8);
  b.set(base.subarray(0, 40));
  b.set(fromHex('1100 0104 0000 0000'), 40);
  b.set(base.subarray(40), 48);
  b[5] = base[5]! + 8;
  b[6] = IpProto.IPv6Opts;
  const p = Packet.from(b);
  t.is(p.check(), WireStatus.Ok);
  t.is(p.version, 6);
  t.is(p.ipv6NextHeader, IpProto.IPv6Opts);
  t.is(p.ipProtocol, IpProto.UDP);
  t.is(p.payloadOff, 48);
  t.is(p.payloadLen, 28);
  t.is(p.ipv6PayloadLen, 36);
  t.is(p.ipv6HopLimit, 64);
  t.is(p.srcAddr.toString(), 'fd99::1');
  t.is(p.ipv6SrcAddr.toString(), 'fd99::1');
  t.is(p.ipv6DstAddr.toString(), 'fd99::2');
  t.is(toHex(p.payload), toHex(base, 40));
});

test('Packet: broadcast and multicast', (t) => {
  const v4 = fromHex(KERNEL_IPV4_UDP);
  const p = new Packet();
  v4.set([255, 255, 255, 255], 16);
  t.is(p.reset(v4).check(), WireStatus.Ok);
  t.true(p.isBroadcast);
  t.false(p.isMulticast);
  v4.set([224, 0, 0, 251], 16);
  p.reset(v4).check();
  t.true(p.isMulticast);
  const v6 = fromHex(KERNEL_IPV6_UDP);
  v6[24] = 0xff;
  p.reset(v6).check();
  t.true(p.isMulticast);
  t.false(p.isBroadcast);
  t.is(p.reset(new Uint8Array(0)).check(), WireStatus.Truncated);
  t.is(p.reset(fromHex('50')).check(), WireStatus.BadVersion);
});

function v4TransportOk(b: Uint8Array): boolean {
  const hl = (b[0]! & 0xf) * 4;
  const src = ((b[12]! << 24) | (b[13]! << 16) | (b[14]! << 8) | b[15]!) >>> 0;
  const dst = ((b[16]! << 24) | (b[17]! << 16) | (b[18]! << 8) | b[19]!) >>> 0;
  return transportChecksumV4(b[9]!, src, dst, b, hl, b.length - hl) === 0;
}

test('Packet: IPv4 address setters fix the header and TCP/UDP checksums incrementally', (t) => {
  for (const hex of [KERNEL_IPV4_TCP_SYN, KERNEL_IPV4_UDP]) {
    const b = fromHex(hex);
    const p = Packet.from(b);
    t.is(p.check(), WireStatus.Ok);
    p.setIPv4SrcAddr(0xc0a80164);
    p.setIPv4DstAddr(0x08080404);
    t.is(p.ipv4SrcAddr, 0xc0a80164);
    t.is(checksum(b, 0, 20), 0, 'IP header checksum');
    t.true(v4TransportOk(b), 'transport checksum');
    p.setIPv4DstAddr(0x01020304, false);
    t.false(v4TransportOk(b), 'without fixing, the checksum is stale');
  }
});

test('Packet: a UDP checksum of 0 (none) over IPv4 stays 0', (t) => {
  const b = fromHex(KERNEL_IPV4_UDP);
  b[26] = 0;
  b[27] = 0;
  const p = Packet.from(b);
  p.check();
  p.setIPv4SrcAddr(0x0b0b0b0b);
  t.is(toHex(b, 26, 2), '0000');
  t.is(checksum(b, 0, 20), 0);
});

test('Packet: IPv6 address setters fix TCP, UDP and ICMPv6 checksums', (t) => {
  const a = parseIPv6('2001:db8::abcd');
  for (const hex of [KERNEL_IPV6_TCP_SYN, KERNEL_IPV6_UDP, KERNEL_IPV6_ICMPV6_ECHO]) {
    const b = fromHex(hex);
    const p = Packet.from(b);
    t.is(p.check(), WireStatus.Ok);
    p.setIPv6SrcAddr(a);
    p.setIPv6DstAddr(parseIPv6('64:ff9b::1'));
    t.is(p.srcAddr.toString(), '2001:db8::abcd');
    t.is(transportChecksumV6(p.ipProtocol, b, 8, 24, b, 40, b.length - 40), 0, hex.slice(12, 14));
  }
});
