/**
 * Neighbor Discovery for an L2Adapter (RFC 4861): address resolution of IPv6 next hops through
 * the shared neighbour machine (neighbor-table.ts: INCOMPLETE, REACHABLE, STALE, DELAY, PROBE),
 * Neighbor Solicitations and Advertisements for our own addresses, and the cache updates of
 * §7.2.3 (NS received), §7.2.5 (NA received) and §6.3.4 (RA with a Source Link-Layer Address).
 *
 * Input validation (§7.1.1, §7.1.2, §6.1.2), each failure dropped and counted:
 *   - IPv6 Hop Limit 255 ("MUST ... is 255": the packet cannot have been forwarded), for every
 *     ND type (133-137);
 *   - a valid ICMPv6 checksum, code 0, a non-multicast target, well-formed options (NdpView);
 *   - NS from the unspecified address (DAD): to a solicited-node group, and no SLLA option;
 *   - NA to a multicast address: the Solicited flag clear;
 *   - RA: a link-local source.
 * NS and NA are consumed here; RS, RA and Redirect go on to the L3 device (after the RA's SLLA
 * is learnt), so that an L3 stack that does SLAAC or routing can see them.
 *
 * Output: solicitations from the address of ours whose prefix holds the target (else the
 * link-local), with our SLLA; multicast to the solicited-node group (ff02::1:ffXX:XXXX, MAC
 * 33:33:ff:XX:XX:XX) while resolving, unicast in PROBE. Advertisements carry our TLLA and the
 * Override flag; Solicited when they answer a unicast-sourced NS.
 *
 * Not supported: Duplicate Address Detection of our own addresses (a DAD probe or NA for one of
 * them is counted as a conflict; we defend with an NA), router and prefix lists, Redirect,
 * upper-layer reachability confirmation, anycast and proxy advertisements, SEND.
 */

import { be32i, setBe32 } from '../wire/bytes.js';
import { ETH_HEADER_LEN, EtherType } from '../wire/ethernet.js';
import { IpProto } from '../wire/ipv4.js';
import { IPV6_HEADER_LEN, emitIpv6, newIpv6Fields, type Ipv6View } from '../wire/ipv6.js';
import { NDP_ABSENT, NDP_HOP_LIMIT, NdpType, NdpView, emitNdp, ndpEmitLen, newNdpFields } from '../wire/ndp.js';
import { NDP_LLA_OPT_LEN, NdpOption, NdpOptionCursor } from '../wire/ndp-options.js';
import { WireStatus } from '../wire/status.js';
import type { Clock } from '../core/clock.js';
import { DropReason } from '../core/stats.js';
import type { L2Core } from './core.js';
import { NeighborTable, NudState, type Neighbor, type NeighborProtocol, type NeighborTableConfig } from './neighbor-table.js';
import { L2DropReason, L2Event } from './stats.js';

// ff02::1 (all-nodes, RFC 4291 §2.7.1) and its MAC 33:33:00:00:00:01 (RFC 2464 §7).
const ALL_NODES_W0 = 0xff02_0000 | 0;
const ALL_NODES_W3 = 1;
const MCAST_MAC_HI = 0x3333;
// Solicited-node group: ff02::1:ffXX:XXXX.
const SNM_W2 = 1;
const SNM_W3_BASE = 0xff00_0000 | 0;
const LOW24 = 0xff_ffff;
const NS_NA_LEN = 24 + NDP_LLA_OPT_LEN;
const ND_FRAME_LEN = ETH_HEADER_LEN + IPV6_HEADER_LEN + NS_NA_LEN;
const IP_OFF = ETH_HEADER_LEN;
const ND_OFF = ETH_HEADER_LEN + IPV6_HEADER_LEN;
const LINK_LOCAL_W0_MASK = 0xffc0_0000 | 0;
const LINK_LOCAL_W0 = 0xfe80_0000 | 0;

export class NdpEngine implements NeighborProtocol {
  readonly table: NeighborTable;
  private readonly core: L2Core;
  private readonly nd = new NdpView();
  private readonly cur = new NdpOptionCursor();
  private readonly fields = newNdpFields();
  private readonly ipf = newIpv6Fields();

  constructor(core: L2Core, clock: Clock, cfg: NeighborTableConfig, seed: number) {
    this.core = core;
    this.table = new NeighborTable(clock, cfg, core.counters, this, seed);
    this.ipf.nextHeader = IpProto.ICMPv6;
    this.ipf.hopLimit = NDP_HOP_LIMIT;
    this.ipf.payloadLen = NS_NA_LEN;
  }

  // ---- NeighborProtocol

  /** §7.2.2: multicast to the solicited-node group while INCOMPLETE; unicast in PROBE (§7.3.3). */
  solicit(n: Neighbor): void {
    const core = this.core;
    const src = core.addrs.src6For(n.w0, n.w1, n.w2, n.w3);
    if (src < 0) return core.counters.drop(DropReason.NoRoute);
    const ipf = this.ipf;
    this.ownAddr(src, ipf.src);
    const unicast = n.state !== NudState.Incomplete;
    if (unicast) setWords(ipf.dst, n.w0, n.w1, n.w2, n.w3);
    else setWords(ipf.dst, ALL_NODES_W0, 0, SNM_W2, SNM_W3_BASE | (n.w3 & LOW24));
    const f = this.fields;
    f.type = NdpType.NeighborSolicitation;
    setWords(f.target, n.w0, n.w1, n.w2, n.w3);
    f.srcMac = core.macHi * 0x1_0000_0000 + (core.macLo >>> 0);
    if (unicast) this.sendNd(n.macHi, n.macLo);
    else this.sendNd(MCAST_MAC_HI, SNM_W3_BASE | (n.w3 & LOW24));
    core.counters.event(L2Event.NsSent);
  }

  transmit(n: Neighbor, packet: Uint8Array): void {
    this.core.sendIp(packet, n.macHi, n.macLo, EtherType.IPv6);
  }

  // ---- input

  /**
   * Handles an ND message (ICMPv6 type 133-137) in the checked IPv6 packet `ip`, whose frame
   * came from the MAC `ethSrcHi`/`ethSrcLo`. Returns true when it was consumed (or dropped),
   * false when the L3 device should have it too (RS, RA, Redirect). Never throws on bad input.
   */
  input(ip: Ipv6View, ethSrcHi: number, ethSrcLo: number): boolean {
    const core = this.core;
    const b = ip.buf;
    if (ip.hopLimit !== NDP_HOP_LIMIT) {
      core.counters.drop(L2DropReason.BadHopLimit);
      return true;
    }
    const nd = this.nd.reset(b, ip.upperOff, ip.upperLen);
    const st = nd.check();
    if (st !== WireStatus.Ok) {
      core.counters.drop(st);
      return true;
    }
    if (!nd.verifyChecksum(b, ip.srcOff, ip.dstOff)) {
      core.counters.drop(WireStatus.BadChecksum);
      return true;
    }
    switch (nd.type) {
      case NdpType.NeighborSolicitation:
        this.onSolicitation(ip, ethSrcHi, ethSrcLo);
        return true;
      case NdpType.NeighborAdvertisement:
        this.onAdvertisement(ip);
        return true;
      case NdpType.RouterAdvertisement:
        return this.onRouterAdvertisement(ip);
      default:
        return false;
    }
  }

  /** §7.2.3 and §7.2.4. */
  private onSolicitation(ip: Ipv6View, ethSrcHi: number, ethSrcLo: number): void {
    const core = this.core;
    const b = ip.buf;
    const nd = this.nd;
    const own = core.addrs.index6(b, nd.targetOff);
    if (own < 0) return core.counters.drop(L2DropReason.NotForUs);
    const s = ip.srcOff;
    const s0 = be32i(b, s);
    const s1 = be32i(b, s + 4);
    const s2 = be32i(b, s + 8);
    const s3 = be32i(b, s + 12);
    const hasSlla = this.findLla(NdpOption.SourceLinkAddr);
    const ipf = this.ipf;
    if ((s0 | s1 | s2 | s3) === 0) {
      // §7.1.1: from the unspecified address, "the IP destination address is a solicited-node
      // multicast address" and "there is no source link-layer address option".
      const d = ip.dstOff;
      const snm = be32i(b, d) === ALL_NODES_W0 && be32i(b, d + 4) === 0 && be32i(b, d + 8) === SNM_W2 && (b[d + 12] === 0xff);
      if (hasSlla || !snm) return core.counters.drop(L2DropReason.NotValid);
      // §7.2.4: someone runs DAD on our address: answer to all-nodes, Solicited clear.
      core.counters.event(L2Event.AddressConflicts);
      setWords(ipf.dst, ALL_NODES_W0, 0, 0, ALL_NODES_W3);
      return this.advertise(own, MCAST_MAC_HI, ALL_NODES_W3, false);
    }
    if (core.addrs.index6(b, s) >= 0) {
      // Another host solicits from one of our addresses: a duplicate, not a neighbour to learn.
      core.counters.event(L2Event.AddressConflicts);
      return;
    }
    let toHi = ethSrcHi;
    let toLo = ethSrcLo;
    if (hasSlla) {
      toHi = this.llaHi;
      toLo = this.llaLo;
      const n = this.table.find6(s0, s1, s2, s3);
      if (n !== null) this.table.learn(n, toHi, toLo);
      else this.table.add6(s0, s1, s2, s3, NudState.Stale, toHi, toLo);
    }
    setWords(ipf.dst, s0, s1, s2, s3);
    this.advertise(own, toHi, toLo, true);
  }

  /** §7.2.5. */
  private onAdvertisement(ip: Ipv6View): void {
    const core = this.core;
    const b = ip.buf;
    const nd = this.nd;
    const solicited = nd.solicited;
    if (solicited && ip.isMulticast) return core.counters.drop(L2DropReason.NotValid);
    const t = nd.targetOff;
    if (core.addrs.index6(b, t) >= 0) {
      core.counters.event(L2Event.AddressConflicts);
      return;
    }
    // "If no entry exists, the advertisement SHOULD be silently discarded."
    const n = this.table.find6(be32i(b, t), be32i(b, t + 4), be32i(b, t + 8), be32i(b, t + 12));
    if (n === null) return;
    const has = this.findLla(NdpOption.TargetLinkAddr);
    this.table.update(n, has ? this.llaHi : -1, has ? this.llaLo : 0, solicited, nd.override);
  }

  /** §6.1.2 validity, then §6.3.4: a router's SLLA creates or updates its entry (STALE). */
  private onRouterAdvertisement(ip: Ipv6View): boolean {
    const b = ip.buf;
    const s = ip.srcOff;
    const s0 = be32i(b, s);
    if ((s0 & LINK_LOCAL_W0_MASK) !== LINK_LOCAL_W0) {
      this.core.counters.drop(L2DropReason.NotValid);
      return true;
    }
    if (this.findLla(NdpOption.SourceLinkAddr)) {
      const s1 = be32i(b, s + 4);
      const s2 = be32i(b, s + 8);
      const s3 = be32i(b, s + 12);
      const n = this.table.find6(s0, s1, s2, s3);
      if (n !== null) this.table.learn(n, this.llaHi, this.llaLo);
      else this.table.add6(s0, s1, s2, s3, NudState.Stale, this.llaHi, this.llaLo);
    }
    return false;
  }

  // The last link-layer address option found by findLla (two ints: no double crosses a call).
  private llaHi = 0;
  private llaLo = 0;

  /** Finds the first option of `type` (SLLA or TLLA) in the current message. */
  private findLla(type: number): boolean {
    const cur = this.nd.options(this.cur);
    while (cur.next()) {
      if (cur.type === type) {
        const p = cur.dataOff;
        const b = cur.buf;
        this.llaHi = (b[p]! << 8) | b[p + 1]!;
        this.llaLo = be32i(b, p + 2);
        return true;
      }
    }
    return false;
  }

  // ---- output

  /**
   * Sends an NA for our address `own` to `ipf.dst` (set by the caller) at the MAC given, with
   * our TLLA and the Override flag (§7.2.4: "SHOULD be set" for a non-anycast target).
   */
  private advertise(own: number, toHi: number, toLo: number, solicited: boolean): void {
    const ipf = this.ipf;
    const f = this.fields;
    this.ownAddr(own, ipf.src);
    this.ownAddr(own, f.target);
    f.type = NdpType.NeighborAdvertisement;
    f.router = false;
    f.solicited = solicited;
    f.override = true;
    f.targetMac = this.core.macHi * 0x1_0000_0000 + (this.core.macLo >>> 0);
    this.sendNd(toHi, toLo);
    this.core.counters.event(L2Event.NaSent);
  }

  /** §7.2.6: an unsolicited NA to all-nodes for our address `own` (after it is added). */
  announce(own: number): void {
    setWords(this.ipf.dst, ALL_NODES_W0, 0, 0, ALL_NODES_W3);
    this.advertise(own, MCAST_MAC_HI, ALL_NODES_W3, false);
  }

  /** Frames `this.fields` in `this.ipf` and sends it to the MAC given. */
  private sendNd(dstHi: number, dstLo: number): void {
    const core = this.core;
    const f = this.fields;
    const b = core.frame(ND_FRAME_LEN, dstHi, dstLo, EtherType.IPv6);
    if (b === null) return;
    this.ipf.payloadLen = ndpEmitLen(f);
    emitIpv6(this.ipf, b, IP_OFF);
    emitNdp(f, b, ND_OFF, b, IP_OFF + 8, IP_OFF + 24);
    f.srcMac = NDP_ABSENT;
    f.targetMac = NDP_ABSENT;
    core.emit(b);
  }

  private ownAddr(i: number, out: Uint8Array): void {
    const a = this.core.addrs.addr6;
    setWords(out, a[i * 4]!, a[i * 4 + 1]!, a[i * 4 + 2]!, a[i * 4 + 3]!);
  }
}

function setWords(out: Uint8Array, w0: number, w1: number, w2: number, w3: number): void {
  setBe32(out, 0, w0);
  setBe32(out, 4, w1);
  setBe32(out, 8, w2);
  setBe32(out, 12, w3);
}
