/**
 * ICMP echo for the TUN/TAP tests, on the wire codecs: answering an echo request in place (the
 * responder behind a TUN, standalone or as a dataplane engine) and building requests (the
 * reverse direction, pktkit pinging the kernel). Every packet accepted is checksum-verified.
 */
import { checksumUpdate16 } from '../../src/wire/checksum.js';
import { Icmpv4Type, Icmpv4View, emitIcmpv4, newIcmpv4Fields } from '../../src/wire/icmpv4.js';
import { IpProto, Ipv4View, emitIpv4, newIpv4Fields } from '../../src/wire/ipv4.js';
import { WireStatus } from '../../src/wire/status.js';

const IPV4_HDR = 20;
const ICMP_HDR = 8;

/** Reusable views for one thread's responder. */
export class EchoResponder {
  private readonly ip = new Ipv4View();
  private readonly icmp = new Icmpv4View();
  answered = 0;
  ignored = 0;

  /**
   * Turns the IPv4 packet `p` into the reply in place when it is an echo request (to `only`, a
   * uint32, when given) with valid checksums; returns true then. Swapping the addresses keeps
   * the IPv4 checksum; the ICMP one is adjusted for the type (RFC 1624).
   */
  answer(p: Uint8Array, only = -1): boolean {
    const ip = this.ip.reset(p, 0, p.length);
    if (ip.check() !== WireStatus.Ok || ip.protocol !== IpProto.ICMP || !ip.verifyChecksum() || (only !== -1 && ip.dst !== only)) {
      this.ignored++;
      return false;
    }
    const icmp = this.icmp.reset(p, ip.payloadOff, ip.payloadLen);
    if (icmp.check() !== WireStatus.Ok || icmp.type !== Icmpv4Type.Echo || !icmp.verifyChecksum()) {
      this.ignored++;
      return false;
    }
    const src = ip.src;
    ip.src = ip.dst;
    ip.dst = src;
    icmp.checksum = checksumUpdate16(icmp.checksum, (Icmpv4Type.Echo << 8) | icmp.code, (Icmpv4Type.EchoReply << 8) | icmp.code);
    icmp.type = Icmpv4Type.EchoReply;
    this.answered++;
    return true;
  }
}

/** An echo request from `src` to `dst` (uint32s) with `dataLen` bytes of data. */
export function echoRequest(src: number, dst: number, ident: number, seq: number, dataLen = 56): Uint8Array {
  const p = new Uint8Array(IPV4_HDR + ICMP_HDR + dataLen);
  for (let i = 0; i < dataLen; i++) p[IPV4_HDR + ICMP_HDR + i] = (seq + i) & 0xff;
  const icmp = newIcmpv4Fields();
  icmp.type = Icmpv4Type.Echo;
  icmp.ident = ident;
  icmp.seq = seq;
  icmp.payloadLen = dataLen;
  emitIcmpv4(icmp, p, IPV4_HDR);
  const ip = newIpv4Fields();
  ip.src = src;
  ip.dst = dst;
  ip.protocol = IpProto.ICMP;
  ip.ttl = 64;
  ip.payloadLen = ICMP_HDR + dataLen;
  emitIpv4(ip, p, 0);
  return p;
}

/** The sequence number of an echo reply from `from` (uint32) with ident `ident`, or -1. Verifies checksums. */
export function echoReplySeq(p: Uint8Array, from: number, ident: number): number {
  const ip = new Ipv4View().reset(p, 0, p.length);
  if (ip.check() !== WireStatus.Ok || ip.protocol !== IpProto.ICMP || ip.src !== from || !ip.verifyChecksum()) return -1;
  const icmp = new Icmpv4View().reset(p, ip.payloadOff, ip.payloadLen);
  if (icmp.check() !== WireStatus.Ok || icmp.type !== Icmpv4Type.EchoReply || icmp.ident !== ident || !icmp.verifyChecksum()) return -1;
  return icmp.seq;
}
