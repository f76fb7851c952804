/** Test doubles and frame builders for the L2Adapter tests. */
import { ManualClock } from '../../src/core/clock.js';
import { L2Hub } from '../../src/core/l2-hub.js';
import { L2Adapter, type L2AdapterOptions } from '../../src/l2/adapter.js';
import { IpAddr, parseIPv4, parseIPv6 } from '../../src/wire/addr.js';
import { ARP_OP_REQUEST, emitArp, newArpFields } from '../../src/wire/arp.js';
import { setBe16, setBe32, writeMac } from '../../src/wire/bytes.js';
import { transportChecksumV6 } from '../../src/wire/checksum.js';
import { EtherType } from '../../src/wire/ethernet.js';
import { IpProto, emitIpv4, newIpv4Fields } from '../../src/wire/ipv4.js';
import { emitIpv6, newIpv6Fields } from '../../src/wire/ipv6.js';
import { NDP_ABSENT, NdpType, emitNdp, ndpEmitLen, newNdpFields } from '../../src/wire/ndp.js';
import { RecordingL3 } from '../helpers/devices.js';

export { RecordingL3 };

/** An IPv4 UDP packet from `src` to `dst` (text) with `payloadLen` bytes, the first of which is `tag`. */
export function udp4(src: string, dst: string, tag = 0, payloadLen = 8, dstPort = 9): Uint8Array {
  const f = newIpv4Fields();
  f.src = parseIPv4(src);
  f.dst = parseIPv4(dst);
  f.protocol = IpProto.UDP;
  f.payloadLen = 8 + payloadLen;
  const p = new Uint8Array(20 + 8 + payloadLen);
  emitIpv4(f, p, 0);
  setBe16(p, 20, 4000);
  setBe16(p, 22, dstPort);
  setBe16(p, 24, 8 + payloadLen);
  p[28] = tag;
  return p;
}

/** An IPv6 UDP packet (checksum not filled: the adapter does not read it). */
export function udp6(src: string, dst: string, tag = 0, payloadLen = 8, hopLimit = 64): Uint8Array {
  const f = newIpv6Fields();
  parseIPv6(src, f.src);
  parseIPv6(dst, f.dst);
  f.nextHeader = IpProto.UDP;
  f.hopLimit = hopLimit;
  f.payloadLen = 8 + payloadLen;
  const p = new Uint8Array(40 + 8 + payloadLen);
  emitIpv6(f, p, 0);
  setBe16(p, 40, 4000);
  setBe16(p, 42, 9);
  setBe16(p, 44, 8 + payloadLen);
  p[48] = tag;
  return p;
}

/** An Ethernet frame around `payload`. */
export function eth(dst: number, src: number, type: number, payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(14 + payload.length);
  writeMac(b, 0, dst);
  writeMac(b, 6, src);
  setBe16(b, 12, type);
  b.set(payload, 14);
  return b;
}

/** An ARP frame. */
export function arpFrame(op: number, dstMac: number, senderMac: number, senderIp: string, targetMac: number, targetIp: string): Uint8Array {
  const f = newArpFields();
  f.op = op;
  f.senderMac = senderMac;
  f.senderIp = parseIPv4(senderIp);
  f.targetMac = targetMac;
  f.targetIp = parseIPv4(targetIp);
  const b = new Uint8Array(28);
  emitArp(f, b, 0);
  return eth(dstMac, senderMac, EtherType.ARP, b);
}

export function arpRequest(senderMac: number, senderIp: string, targetIp: string): Uint8Array {
  return arpFrame(ARP_OP_REQUEST, 0xffff_ffff_ffff, senderMac, senderIp, 0, targetIp);
}

export interface NdOpts {
  type: number;
  src: string;
  dst: string;
  target: string;
  /** SLLA (NS) or TLLA (NA). */
  lla?: number;
  solicited?: boolean;
  override?: boolean;
  hopLimit?: number;
  ethDst: number;
  ethSrc: number;
}

/** An NS or NA frame, checksum filled. */
export function ndFrame(o: NdOpts): Uint8Array {
  const f = newNdpFields();
  f.type = o.type;
  parseIPv6(o.target, f.target);
  if (o.type === NdpType.NeighborSolicitation) f.srcMac = o.lla ?? NDP_ABSENT;
  else f.targetMac = o.lla ?? NDP_ABSENT;
  f.solicited = o.solicited ?? false;
  f.override = o.override ?? false;
  const len = ndpEmitLen(f);
  const ip = newIpv6Fields();
  parseIPv6(o.src, ip.src);
  parseIPv6(o.dst, ip.dst);
  ip.nextHeader = IpProto.ICMPv6;
  ip.hopLimit = o.hopLimit ?? 255;
  ip.payloadLen = len;
  const p = new Uint8Array(40 + len);
  emitIpv6(ip, p, 0);
  emitNdp(f, p, 40, p, 8, 24);
  return eth(o.ethDst, o.ethSrc, EtherType.IPv6, p);
}

/** Recomputes the ICMPv6 checksum of an IPv6 frame after a test edits it. */
export function fixIcmpv6Checksum(frame: Uint8Array): void {
  setBe16(frame, 14 + 40 + 2, 0);
  setBe16(frame, 14 + 40 + 2, transportChecksumV6(IpProto.ICMPv6, frame, 14 + 8, 14 + 24, frame, 54, frame.length - 54));
}

/** An adapter over a RecordingL3, recording the frames it produces. */
export function adapterWith(addr: string | null, opts: L2AdapterOptions = {}) {
  const clock = (opts.clock as ManualClock | undefined) ?? new ManualClock();
  const l3 = new RecordingL3(addr);
  const a = new L2Adapter(l3, { clock, random: () => 0.5, ...opts });
  const out: Uint8Array[] = [];
  a.setHandler((f) => out.push(f.slice()));
  return { clock, l3, a, out };
}

/** Two adapters (10.0.0.1 and 10.0.0.2 on /24, fd00::1 and fd00::2 as extra addresses) on an L2Hub. */
export function pair(opts: L2AdapterOptions = {}) {
  const clock = new ManualClock();
  const hub = new L2Hub({ clock, hashSeed: 1 });
  const l3a = new RecordingL3('10.0.0.1/24');
  const l3b = new RecordingL3('10.0.0.2/24');
  const a = new L2Adapter(l3a, { clock, random: () => 0.5, mac: 0x0200_0000_000a, ...opts });
  const b = new L2Adapter(l3b, { clock, random: () => 0.5, mac: 0x0200_0000_000b, ...opts });
  a.addAddr('fd00::1/64');
  b.addAddr('fd00::2/64');
  const ha = hub.connect(a);
  const hb = hub.connect(b);
  return { clock, hub, a, b, l3a, l3b, ha, hb };
}

/** Counts frames in `frames` whose EtherType is `type` (and, for ARP, whose operation is `op`). */
export function countType(frames: Uint8Array[], type: number, op?: number): number {
  return frames.filter((f) => ((f[12]! << 8) | f[13]!) === type && (op === undefined || f[21] === op)).length;
}

/** The ICMPv6 type of an IPv6 frame (0 for other frames). */
export function icmp6Type(f: Uint8Array): number {
  return ((f[12]! << 8) | f[13]!) === EtherType.IPv6 && f[20] === IpProto.ICMPv6 ? f[54]! : 0;
}

export function ip4(s: string): number {
  return parseIPv4(s);
}

export function addr(s: string): IpAddr {
  return IpAddr.parse(s);
}

export { setBe32 };
