/**
 * A host behind a TAP for the tests, on the wire codecs: it answers ARP requests for its IPv4
 * address, IPv6 neighbour solicitations for its IPv6 address (with a solicited NA carrying its
 * MAC), and ICMP / ICMPv6 echo requests to either, and records the ARP requests and
 * solicitations it saw (decoded with src/wire/arp.ts and src/wire/ndp.ts, checksums verified).
 */
import { ARP_OP_REPLY, ARP_OP_REQUEST, ArpView, emitArp, newArpFields, parseArp } from '../../src/wire/arp.js';
import { checksumUpdate16 } from '../../src/wire/checksum.js';
import { ETH_HEADER_LEN, ETH_MIN_FRAME_LEN, EtherType, EthernetView } from '../../src/wire/ethernet.js';
import { Icmpv6Type } from '../../src/wire/icmpv6.js';
import { IpProto } from '../../src/wire/ipv4.js';
import { IPV6_HEADER_LEN, Ipv6View, emitIpv6, ipv6AddrEqual, newIpv6Fields } from '../../src/wire/ipv6.js';
import { NDP_HOP_LIMIT, NdpType, NdpView, emitNdp, ndpEmitLen, newNdpFields, parseNdp } from '../../src/wire/ndp.js';
import { WireStatus } from '../../src/wire/status.js';
import { readMac, writeMac } from '../../src/wire/bytes.js';
import { EchoResponder } from './icmp-echo.js';

/** What the responder saw. */
export interface SeenNeighbourQuery {
  kind: 'arp' | 'ns';
  /** The asker's MAC. */
  fromMac: number;
  /** The address asked for (IPv4 dotted, IPv6 hex). */
  target: string;
}

export class L2Responder {
  readonly mac: number;
  readonly ip4: number;
  readonly ip6: Uint8Array | null;
  readonly seen: SeenNeighbourQuery[] = [];
  echoes = 0;
  private readonly out = new Uint8Array(2048);
  private readonly eth = new EthernetView();
  private readonly arp = new ArpView();
  private readonly arpFields = newArpFields();
  private readonly ip6v = new Ipv6View();
  private readonly ndp = new NdpView();
  private readonly ndpFields = newNdpFields();
  private readonly echo = new EchoResponder();

  constructor(mac: number, ip4: number, ip6: Uint8Array | null = null) {
    this.mac = mac;
    this.ip4 = ip4;
    this.ip6 = ip6;
  }

  /** The reply to `frame` (a view of this responder's buffer, valid until the next call), or null. */
  handle(frame: Uint8Array): Uint8Array | null {
    const eth = this.eth.reset(frame);
    if (eth.check() !== WireStatus.Ok) return null;
    const type = eth.etherType;
    if (type === EtherType.ARP) return this.onArp(frame, eth.payloadOff);
    if (type === EtherType.IPv4 && eth.dstMAC === this.mac) {
      const out = this.copy(frame);
      if (!this.echo.answer(out.subarray(ETH_HEADER_LEN), this.ip4)) return null;
      this.echoes++;
      return this.swapMacs(out);
    }
    if (type === EtherType.IPv6 && this.ip6 !== null) return this.onIpv6(frame);
    return null;
  }

  private copy(frame: Uint8Array): Uint8Array {
    this.out.set(frame);
    return this.out.subarray(0, frame.length);
  }

  private swapMacs(f: Uint8Array): Uint8Array {
    const src = readMac(f, 6);
    writeMac(f, 0, src);
    writeMac(f, 6, this.mac);
    return f;
  }

  private onArp(frame: Uint8Array, off: number): Uint8Array | null {
    const a = this.arpFields;
    if (parseArp(this.arp.reset(frame, off), a) !== WireStatus.Ok || a.op !== ARP_OP_REQUEST) return null;
    this.seen.push({ kind: 'arp', fromMac: a.senderMac, target: ipv4Text(a.targetIp) });
    if (a.targetIp !== this.ip4) return null;
    const out = this.out;
    out.fill(0, 0, ETH_MIN_FRAME_LEN);
    writeMac(out, 0, a.senderMac);
    writeMac(out, 6, this.mac);
    out[12] = EtherType.ARP >> 8;
    out[13] = EtherType.ARP & 0xff;
    emitArp({ op: ARP_OP_REPLY, senderMac: this.mac, senderIp: this.ip4, targetMac: a.senderMac, targetIp: a.senderIp }, out, ETH_HEADER_LEN);
    return out.subarray(0, ETH_MIN_FRAME_LEN);
  }

  private onIpv6(frame: Uint8Array): Uint8Array | null {
    const ip = this.ip6v.reset(frame, ETH_HEADER_LEN);
    if (ip.check() !== WireStatus.Ok || ip.upperProtocol !== IpProto.ICMPv6) return null;
    const type = frame[ip.upperOff]!;
    if (type === NdpType.NeighborSolicitation) {
      const ndp = this.ndp.reset(frame, ip.upperOff, ip.upperLen);
      const f = this.ndpFields;
      if (parseNdp(ndp, f) !== WireStatus.Ok || !ndp.verifyChecksum(frame, ip.srcOff, ip.dstOff)) return null;
      this.seen.push({ kind: 'ns', fromMac: f.srcMac, target: Buffer.from(f.target).toString('hex') });
      if (!ipv6AddrEqual(f.target, 0, this.ip6!, 0) || f.srcMac < 0) return null;
      // A solicited, overriding NA to the asker (RFC 4861 §7.2.4), with our MAC.
      const na = newNdpFields();
      na.type = NdpType.NeighborAdvertisement;
      na.solicited = true;
      na.override = true;
      na.target.set(this.ip6!);
      na.targetMac = this.mac;
      const h = newIpv6Fields();
      h.src.set(this.ip6!);
      h.dst.set(frame.subarray(ip.srcOff, ip.srcOff + 16));
      h.nextHeader = IpProto.ICMPv6;
      h.hopLimit = NDP_HOP_LIMIT;
      h.payloadLen = ndpEmitLen(na);
      const out = this.out;
      writeMac(out, 0, f.srcMac);
      writeMac(out, 6, this.mac);
      out[12] = EtherType.IPv6 >> 8;
      out[13] = EtherType.IPv6 & 0xff;
      emitIpv6(h, out, ETH_HEADER_LEN);
      const srcOff = ETH_HEADER_LEN + 8;
      emitNdp(na, out, ETH_HEADER_LEN + IPV6_HEADER_LEN, out, srcOff, srcOff + 16);
      return out.subarray(0, ETH_HEADER_LEN + IPV6_HEADER_LEN + h.payloadLen);
    }
    if (type === Icmpv6Type.EchoRequest && ipv6AddrEqual(frame, ip.dstOff, this.ip6!, 0)) {
      const out = this.copy(frame);
      const v = this.ip6v.reset(out, ETH_HEADER_LEN);
      v.check();
      const src = out.slice(v.srcOff, v.srcOff + 16);
      v.setSrc(out, v.dstOff);
      v.setDst(src);
      // The pseudo-header sum does not change when the addresses swap; the type does.
      const t = v.upperOff;
      const csum = (out[t + 2]! << 8) | out[t + 3]!;
      const next = checksumUpdate16(csum, Icmpv6Type.EchoRequest << 8, Icmpv6Type.EchoReply << 8);
      out[t] = Icmpv6Type.EchoReply;
      out[t + 2] = next >> 8;
      out[t + 3] = next & 0xff;
      this.echoes++;
      return this.swapMacs(out);
    }
    return null;
  }
}

function ipv4Text(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}
