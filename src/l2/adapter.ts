/**
 * L2Adapter: presents an L3Device (IP packets) as an L2Device (Ethernet frames), with ARP
 * (arp.ts), Neighbor Discovery (ndp.ts), gateway routing, and a place for a DHCP client
 * (dhcp-hook.ts).
 *
 *   link (hub, pipe)                         L2Adapter                          L3Device
 *   ---- adapter.send(frame) --> filter by dst MAC --> ARP / NS / NA: handled here
 *                                                  --> IPv4 UDP to port 68: DHCP engine (when started)
 *                                                  --> IPv4 / IPv6: l3dev.send(packet)
 *   <--- handler(frame) ------- frame: dst MAC of the next hop <-- resolve <-- l3dev's handler(packet)
 *
 * Addresses: the adapter answers for (and sends from) its addresses:
 *   - the L3 device's address (`l3dev.addr`, followed through `watchAddr`, or read before each
 *     outgoing packet when the device has no `watchAddr`), IPv4 or IPv6;
 *   - the IPv6 link-local address fe80::/64 made from the MAC by modified EUI-64 (RFC 4291
 *     App. A), unless `linkLocal: false`;
 *   - any added with `addAddr` (an IPv6 address beside an IPv4 device's, say).
 * Their prefixes are on-link; other destinations go to the gateway of their family
 * (`setGateway`), or are dropped (`no-route`) when there is none. A new IPv4 address is announced
 * with gratuitous ARP (RFC 5227 §2.3, twice, 2 s apart), a new IPv6 one with an unsolicited NA.
 *
 * Frames in: accepted when sent to our MAC, broadcast, or a group we listen to (all-nodes
 * 33:33:00:00:00:01, all-hosts 01:00:5e:00:00:01, the solicited-node group of each IPv6 address,
 * and those added with `joinGroup`); 802.1Q-tagged frames are dropped (one untagged link).
 * The IP packet handed to the L3 device is a view of the frame's payload cut to the IP length
 * (Ethernet padding removed), borrowed for the call as always.
 *
 * Allocation: a packet to or from a known neighbour allocates nothing (tx.ts explains the
 * buffers and views). Bad input from the link never throws: it is dropped and counted by reason
 * (`stats()`). Time comes from the injected Clock; `close()` cancels every timer.
 *
 * Not supported: VLAN tagging, ICMP Destination Unreachable when resolution fails (the queued
 * packets are dropped and counted), delivery of packets addressed to the adapter's own address
 * back to its L3 device, IPv4 link-local autoconfiguration (RFC 3927), SLAAC and router
 * discovery (RAs are passed to the L3 device), DAD of our own IPv6 addresses.
 *
 * Not concurrent: an adapter and its devices live on one thread.
 */

import type { Clock, TimerHandle } from '../core/clock.js';
import type { AddrListener, FrameHandler, L2Device, L3Device } from '../core/device.js';
import { DropReason } from '../core/stats.js';
import { ClosedError, PktError, PktTypeError, intInRange } from '../errors.js';
import { IpAddr, IpPrefix, formatMac, toMac } from '../wire/addr.js';
import { be16, be32i } from '../wire/bytes.js';
import { ETH_HEADER_LEN, EtherType } from '../wire/ethernet.js';
import { IpProto, Ipv4View } from '../wire/ipv4.js';
import { IPV6_HEADER_LEN, Ipv6View } from '../wire/ipv6.js';
import { WireStatus } from '../wire/status.js';
import { MAX_ADDRS_PER_FAMILY, MAX_GROUPS, OwnAddrs, ipv6FromWords } from './addrs.js';
import { ArpEngine } from './arp.js';
import { writeEthHeader, type L2Core } from './core.js';
import type { DhcpClientHost, DhcpLease } from './dhcp-hook.js';
import { DhcpSlot } from './dhcp-slot.js';
import { NudState, NUD_STATE_NAMES, type Neighbor } from './neighbor-table.js';
import { NdpEngine } from './ndp.js';
import { linkLocalPrefixOf, resolveOptions, type L2AdapterOptions, type L2NeighborInfo } from './options.js';
import { L2Counters, L2DropReason, type L2AdapterStats } from './stats.js';
import { TxBuffers, ViewCache } from './tx.js';

export type { L2AdapterOptions, L2NeighborInfo } from './options.js';

/** RFC 5227 ANNOUNCE_INTERVAL. */
const ANNOUNCE_INTERVAL_MS = 2000;
const ALL_NODES_MAC = 0x3333_0000_0001;
const ALL_HOSTS_MAC = 0x0100_5e00_0001;
const BCAST_HI = 0xffff;
const BCAST_LO = -1;
const IPV4_MCAST_HI = 0x0100;
const IPV4_MCAST_LO = 0x5e00_0000;
const IPV6_MCAST_HI = 0x3333;
const DHCP_CLIENT_PORT = 68;
// IPv4 header fields read on the receive path (RFC 791 §3.1), from the header's start.
const V4_TOTAL_LEN = 2;
const V4_PROTO = 9;
const V4_DST = 16;
const V6_PAYLOAD_LEN = 4;
const V6_DST = 24;
const UDP_DST_PORT = 2;
/** The largest IP packet framed: an IPv6 header and a 65535-byte payload (no jumbograms). */
const MAX_PACKET_LEN = 40 + 0xffff;
const ND_FIRST_TYPE = 133;
const ND_LAST_TYPE = 137;

const noop = (): void => {};

export class L2Adapter implements L2Device, L2Core {
  readonly hwAddr: number;
  /** @internal The MAC's high 16 bits and low 32 bits (int32), for the engines (L2Core). */
  readonly macHi: number;
  /** @internal */
  readonly macLo: number;
  /** @internal Counters (read them with `stats()`). */
  readonly counters = new L2Counters();
  /** @internal Our addresses and groups in packet-path form (read them with `addrList`). */
  readonly addrs = new OwnAddrs();
  private readonly l3dev: L3Device;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly arp: ArpEngine;
  private readonly ndp: NdpEngine;
  private readonly tx = new TxBuffers();
  private readonly rxViews = new ViewCache();
  private readonly ip4 = new Ipv4View();
  private readonly ip6 = new Ipv6View();
  private handler: FrameHandler | null = null;
  private closed = false;
  // Addresses: the L3 device's, the link-local, the added ones; joined groups.
  private l3Prefix: IpPrefix | null = null;
  private readonly linkLocalPrefix: IpPrefix | null;
  private readonly extra: IpPrefix[] = [];
  private readonly joined: number[] = [];
  private readonly unwatch: (() => void) | null;
  private readonly pollAddr: boolean;
  // Gateways: IPv4 as int32, IPv6 as four int32 words.
  private gw4Set = false;
  private gw4 = 0;
  private gw6Set = false;
  private gw6w0 = 0;
  private gw6w1 = 0;
  private gw6w2 = 0;
  private gw6w3 = 0;
  // Announcements (RFC 5227 §2.3).
  private readonly announceCount: number;
  private announceLeft = 0;
  private announceTimer: TimerHandle | null = null;
  private readonly probeTimeoutMs: number;
  private readonly dhcp: DhcpSlot;
  private readonly onPacket: (packet: Uint8Array) => void;

  /**
   * Wraps `l3dev` (installs itself as its handler).
   * @throws {PktTypeError} on a malformed MAC; {PktRangeError} on an option out of range.
   */
  /**
   * Presents `l3dev` as an Ethernet device. The second argument is the options, or only the MAC
   * (a 48-bit number or its text), as the Go API's `NewL2Adapter(l3dev, mac)` takes it.
   */
  constructor(l3dev: L3Device, opts: L2AdapterOptions | number | string = {}) {
    const o = resolveOptions(typeof opts === 'number' || typeof opts === 'string' ? { mac: opts } : opts);
    this.l3dev = l3dev;
    this.clock = o.clock;
    this.random = o.random;
    this.hwAddr = o.mac;
    this.macHi = Math.floor(o.mac / 0x1_0000_0000);
    this.macLo = o.mac | 0;
    this.probeTimeoutMs = o.probeTimeoutMs;
    this.announceCount = o.announceCount;
    const seed = Math.floor(o.random() * 0x1_0000_0000) | 0;
    this.arp = new ArpEngine(this, this.clock, o.table, seed, o.probeCount);
    this.ndp = new NdpEngine(this, this.clock, o.table, seed ^ 0x2545f491);
    this.linkLocalPrefix = o.linkLocal ? linkLocalPrefixOf(o.mac) : null;
    this.dhcp = new DhcpSlot(o.dhcp, () => this.dhcpHost());
    this.onPacket = (p) => this.output(p);
    this.l3Prefix = l3dev.addr;
    this.rebuildAddrs(false);
    this.pollAddr = typeof l3dev.watchAddr !== 'function';
    const listener: AddrListener = (p) => this.onL3Addr(p);
    this.unwatch = this.pollAddr ? null : l3dev.watchAddr!(listener);
    l3dev.setHandler(this.onPacket);
  }

  // ---- L2Device

  /** Installs the receiver of our frames; the first one also gets our address announcements. */
  setHandler(handler: FrameHandler): void {
    const first = this.handler === null;
    this.handler = handler;
    if (first && !this.closed) this.announceAll(this.addrs.prefixes4, this.addrs.prefixes6);
  }

  /** A frame from the link. Borrowed: valid until this returns. Never throws on bad input. */
  send(frame: Uint8Array): void {
    const c = this.counters;
    if (this.closed) return c.drop(DropReason.Closed);
    const len = frame.length;
    c.rx(len);
    if (len < ETH_HEADER_LEN) return c.drop(WireStatus.Truncated);
    const dHi = (frame[0]! << 8) | frame[1]!;
    const dLo = be32i(frame, 2);
    if (dLo !== this.macLo || dHi !== this.macHi) {
      if ((dHi & 0x100) === 0) return c.drop(L2DropReason.NotForUs);
      if ((dHi !== BCAST_HI || dLo !== BCAST_LO) && !this.addrs.inGroup(dHi, dLo)) return c.drop(L2DropReason.NotForUs);
    }
    const type = (frame[12]! << 8) | frame[13]!;
    if (type === EtherType.IPv4) return this.input4(frame, len);
    if (type === EtherType.IPv6) return this.input6(frame, len);
    if (type === EtherType.ARP) {
      if (this.pollAddr) this.pollL3Addr();
      return this.arp.input(frame, ETH_HEADER_LEN, len - ETH_HEADER_LEN);
    }
    c.drop(L2DropReason.UnknownProtocol);
  }

  private input4(frame: Uint8Array, len: number): void {
    const v = this.ip4.reset(frame, ETH_HEADER_LEN, len - ETH_HEADER_LEN);
    const st = v.check();
    if (st !== WireStatus.Ok) return this.counters.drop(st);
    const total = be16(frame, ETH_HEADER_LEN + V4_TOTAL_LEN);
    if (this.dhcp.running && frame[ETH_HEADER_LEN + V4_PROTO] === IpProto.UDP) {
      const udp = ETH_HEADER_LEN + ((frame[ETH_HEADER_LEN]! & 0x0f) << 2);
      if (udp + 4 <= ETH_HEADER_LEN + total && be16(frame, udp + UDP_DST_PORT) === DHCP_CLIENT_PORT && this.dhcp.handleFrame(frame)) return;
    }
    this.deliver(this.rxViews.slice(frame, ETH_HEADER_LEN, total));
  }

  private input6(frame: Uint8Array, len: number): void {
    const v = this.ip6.reset(frame, ETH_HEADER_LEN, len - ETH_HEADER_LEN);
    const st = v.check();
    if (st !== WireStatus.Ok) return this.counters.drop(st);
    if (v.upperProtocol === IpProto.ICMPv6 && v.upperOff < len) {
      const t = frame[v.upperOff]!;
      if (t >= ND_FIRST_TYPE && t <= ND_LAST_TYPE) {
        if (this.pollAddr) this.pollL3Addr();
        if (this.ndp.input(v, (frame[6]! << 8) | frame[7]!, be32i(frame, 8))) return;
      }
    }
    this.deliver(this.rxViews.slice(frame, ETH_HEADER_LEN, IPV6_HEADER_LEN + be16(frame, ETH_HEADER_LEN + V6_PAYLOAD_LEN)));
  }

  private deliver(packet: Uint8Array): void {
    try {
      this.l3dev.send(packet);
    } catch {
      this.counters.drop(DropReason.SendFailed);
    }
  }

  // ---- packets from the L3 device

  private output(p: Uint8Array): void {
    const c = this.counters;
    if (this.closed) return c.drop(DropReason.Closed);
    if (this.handler === null) return c.drop(DropReason.NoHandler);
    if (this.pollAddr) this.pollL3Addr();
    const len = p.length;
    const ver = len > 0 ? p[0]! >>> 4 : 0;
    if (ver === 4) {
      if (len < 20) return c.drop(WireStatus.Truncated);
      const dst = be32i(p, V4_DST);
      const addrs = this.addrs;
      if (dst === BCAST_LO || addrs.isBroadcast4(dst)) return this.sendIp(p, BCAST_HI, BCAST_LO, EtherType.IPv4);
      // RFC 1112 §6.4: 01:00:5e and the low 23 bits of the group.
      if (dst >>> 28 === 0xe) return this.sendIp(p, IPV4_MCAST_HI, IPV4_MCAST_LO | (dst & 0x7f_ffff), EtherType.IPv4);
      let nh = dst;
      if (!addrs.onLink4(dst)) {
        if (!this.gw4Set) return c.drop(DropReason.NoRoute);
        nh = this.gw4;
      }
      const table = this.arp.table;
      const n = table.find4(nh);
      if (n !== null && n.state !== NudState.Incomplete) {
        if (n.state === NudState.Stale) table.used(n);
        return this.sendIp(p, n.macHi, n.macLo, EtherType.IPv4);
      }
      if (n !== null) return table.enqueue(n, p);
      // Queue first: the request can be answered synchronously, and the answer flushes the queue.
      const m = table.add4(nh, NudState.Incomplete, 0, 0);
      table.enqueue(m, p);
      return table.startResolve(m);
    }
    if (ver === 6) {
      if (len < IPV6_HEADER_LEN) return c.drop(WireStatus.Truncated);
      // RFC 2464 §7: 33:33 and the last four octets of the group.
      if (p[V6_DST] === 0xff) return this.sendIp(p, IPV6_MCAST_HI, be32i(p, V6_DST + 12), EtherType.IPv6);
      let w0 = be32i(p, V6_DST);
      let w1 = be32i(p, V6_DST + 4);
      let w2 = be32i(p, V6_DST + 8);
      let w3 = be32i(p, V6_DST + 12);
      if (!this.addrs.onLink6(w0, w1, w2, w3)) {
        if (!this.gw6Set) return c.drop(DropReason.NoRoute);
        w0 = this.gw6w0;
        w1 = this.gw6w1;
        w2 = this.gw6w2;
        w3 = this.gw6w3;
      }
      const table = this.ndp.table;
      const n = table.find6(w0, w1, w2, w3);
      if (n !== null && n.state !== NudState.Incomplete) {
        if (n.state === NudState.Stale) table.used(n);
        return this.sendIp(p, n.macHi, n.macLo, EtherType.IPv6);
      }
      if (n !== null) return table.enqueue(n, p);
      const m = table.add6(w0, w1, w2, w3, NudState.Incomplete, 0, 0);
      table.enqueue(m, p);
      return table.startResolve(m);
    }
    c.drop(L2DropReason.UnknownProtocol);
  }

  // ---- L2Core: building and sending frames

  /** @internal */
  frame(len: number, dstHi: number, dstLo: number, etherType: number): Uint8Array | null {
    const b = this.tx.acquire(len);
    if (b === null) {
      this.counters.drop(DropReason.Loop);
      return null;
    }
    writeEthHeader(b, dstHi, dstLo, this.macHi, this.macLo, etherType);
    return b;
  }

  /** @internal */
  emit(frame: Uint8Array): void {
    const h = this.handler;
    if (this.closed) return this.counters.drop(DropReason.Closed);
    if (h === null) return this.counters.drop(DropReason.NoHandler);
    this.counters.tx(frame.length);
    const tx = this.tx;
    tx.enter();
    try {
      h(frame);
    } catch {
      this.counters.drop(DropReason.SendFailed);
    } finally {
      tx.leave();
    }
  }

  /** @internal */
  sendIp(packet: Uint8Array, dstHi: number, dstLo: number, etherType: number): void {
    if (packet.length > MAX_PACKET_LEN) return this.counters.drop(DropReason.TooBig);
    const b = this.frame(ETH_HEADER_LEN + packet.length, dstHi, dstLo, etherType);
    if (b === null) return;
    b.set(packet, ETH_HEADER_LEN);
    this.emit(b);
  }

  // ---- addresses

  /** Every address the adapter answers for: IPv4 ones, then IPv6 ones (link-local first). */
  get addrList(): IpPrefix[] {
    return [...this.addrs.prefixes4, ...this.addrs.prefixes6];
  }

  /** The EUI-64 link-local address, or null when disabled. */
  get linkLocal(): IpPrefix | null {
    return this.linkLocalPrefix;
  }

  /**
   * Adds an address the adapter answers for, besides the L3 device's and the link-local: its
   * prefix becomes on-link. A new IPv4 address is announced with gratuitous ARP.
   * @throws {PktTypeError} on malformed text; {PktError} ERR_PKT_LIMIT past 8 addresses of a family.
   */
  addAddr(prefix: IpPrefix | string): void {
    const p = IpPrefix.from(prefix);
    if (this.extra.some((e) => e.equals(p))) return;
    const n = p.family === 4 ? this.addrs.n4 : this.addrs.n6;
    if (n >= MAX_ADDRS_PER_FAMILY) throw new PktError('ERR_PKT_LIMIT', `L2Adapter.addAddr: at most ${MAX_ADDRS_PER_FAMILY} IPv${p.family} addresses, adding ${p.toString()}`);
    this.extra.push(p);
    this.rebuildAddrs(true);
  }

  /** Removes an address added with `addAddr`. Returns whether it was there. */
  removeAddr(prefix: IpPrefix | string): boolean {
    const p = IpPrefix.from(prefix);
    const i = this.extra.findIndex((e) => e.equals(p));
    if (i === -1) return false;
    this.extra.splice(i, 1);
    this.rebuildAddrs(true);
    return true;
  }

  /**
   * Sets the gateway of the address's family (off-link destinations of that family are sent to
   * its MAC), or with `null` clears the gateway of `family` (both when omitted).
   * @throws {PktTypeError} on malformed text.
   */
  setGateway(addr: IpAddr | string | null, family?: 4 | 6): void {
    if (addr === null) {
      if (family !== 6) this.gw4Set = false;
      if (family !== 4) this.gw6Set = false;
      return;
    }
    const a = IpAddr.from(addr);
    if (a.family === 4) {
      this.gw4 = a.v4 | 0;
      this.gw4Set = true;
    } else {
      this.gw6w0 = be32i(a.bytes, 0);
      this.gw6w1 = be32i(a.bytes, 4);
      this.gw6w2 = be32i(a.bytes, 8);
      this.gw6w3 = be32i(a.bytes, 12);
      this.gw6Set = true;
    }
  }

  /** The IPv4 gateway, or null. */
  get gateway4(): IpAddr | null {
    return this.gw4Set ? IpAddr.fromV4(this.gw4 >>> 0) : null;
  }

  /** The IPv6 gateway, or null. */
  get gateway6(): IpAddr | null {
    return this.gw6Set ? ipv6FromWords(this.gw6w0, this.gw6w1, this.gw6w2, this.gw6w3) : null;
  }

  /**
   * Listens to the multicast MAC `mac` (a group address) as well as the automatic groups.
   * @throws {PktTypeError} when `mac` is not a group MAC; {PktError} ERR_PKT_LIMIT past 32 groups.
   */
  joinGroup(mac: number | string): void {
    const m = toMac(mac);
    if ((Math.floor(m / 0x100_0000_0000) & 1) === 0) throw new PktTypeError(`L2Adapter.joinGroup: expected a group MAC, got ${formatMac(m)}`, 'ERR_PKT_INVALID_ADDRESS');
    if (this.joined.includes(m)) return;
    if (this.addrs.nGroups >= MAX_GROUPS) throw new PktError('ERR_PKT_LIMIT', `L2Adapter.joinGroup: at most ${MAX_GROUPS} groups`);
    this.joined.push(m);
    this.rebuildGroups();
  }

  /** Stops listening to a group joined with `joinGroup`. */
  leaveGroup(mac: number | string): void {
    const i = this.joined.indexOf(toMac(mac));
    if (i !== -1) this.joined.splice(i, 1);
    this.rebuildGroups();
  }

  private rebuildGroups(): void {
    this.addrs.setGroups([ALL_NODES_MAC, ALL_HOSTS_MAC, ...this.joined]);
  }

  private onL3Addr(p: IpPrefix | null): void {
    if (this.closed) return;
    this.l3Prefix = p;
    this.rebuildAddrs(true);
  }

  private pollL3Addr(): void {
    const p = this.l3dev.addr;
    if (p !== this.l3Prefix) this.onL3Addr(p);
  }

  private rebuildAddrs(announce: boolean): void {
    const l3 = this.l3Prefix;
    const list4: IpPrefix[] = [];
    const list6: IpPrefix[] = [];
    const add = (p: IpPrefix) => {
      const list = p.family === 4 ? list4 : list6;
      if (list.length < MAX_ADDRS_PER_FAMILY && !list.some((q) => q.addr.equals(p.addr))) list.push(p);
    };
    if (this.linkLocalPrefix !== null) add(this.linkLocalPrefix);
    if (l3 !== null) add(l3);
    for (const p of this.extra) add(p);
    const old4 = this.addrs.prefixes4;
    const old6 = this.addrs.prefixes6;
    this.addrs.set(list4, list6);
    this.rebuildGroups();
    if (!announce || this.handler === null) return;
    this.announceAll(
      list4.filter((p) => !old4.some((q) => q.addr.equals(p.addr))),
      list6.filter((p) => !old6.some((q) => q.addr.equals(p.addr))),
    );
  }

  /** Gratuitous ARP for `v4` (repeated by the announce timer), an unsolicited NA for `v6`. */
  private announceAll(v4: IpPrefix[], v6: IpPrefix[]): void {
    if (this.announceCount > 0 && v4.length > 0) {
      for (const p of v4) this.arp.announce(p.addr.v4);
      this.announceLeft = this.announceCount - 1;
      if (this.announceLeft > 0 && this.announceTimer === null) this.announceTimer = this.clock.setTimer(this.onAnnounce, ANNOUNCE_INTERVAL_MS);
    }
    for (const p of v6) {
      const i = this.addrs.prefixes6.indexOf(p);
      if (i >= 0 && p !== this.linkLocalPrefix) this.ndp.announce(i);
    }
  }

  private readonly onAnnounce = (): void => {
    this.announceTimer = null;
    if (this.closed) return;
    for (const p of this.addrs.prefixes4) this.arp.announce(p.addr.v4);
    if (--this.announceLeft > 0) this.announceTimer = this.clock.setTimer(this.onAnnounce, ANNOUNCE_INTERVAL_MS);
  };

  // ---- ARP probe (RFC 5227)

  /**
   * Probes whether another host uses the IPv4 address `addr` (u32): ARP requests from 0.0.0.0
   * spread over `timeoutMs` (default the `probeTimeoutMs` option); `cb(true)` as soon as a host
   * answers or probes for it too, `cb(false)` after `timeoutMs` of silence. `cb` runs once, on a
   * frame or a timer, never inside this call; it is not called when the adapter closes first.
   * @throws {PktRangeError} when `addr` is not a u32 or `timeoutMs` not a positive integer;
   *   {PktTypeError} when `cb` is not a function; {ClosedError} once closed;
   *   {PktError} ERR_PKT_LIMIT when 64 probes run already.
   */
  probe(addr: number, cb: (inUse: boolean) => void, timeoutMs: number = this.probeTimeoutMs): void {
    intInRange('L2Adapter.probe addr', addr, 0, 0xffff_ffff);
    intInRange('L2Adapter.probe timeoutMs', timeoutMs, 1, 2 ** 31 - 1);
    if (typeof cb !== 'function') throw new PktTypeError('L2Adapter.probe: expected a callback function');
    if (this.closed) throw new ClosedError('L2Adapter');
    this.arp.probe(addr, cb, timeoutMs);
  }

  /** `probe` as a promise: resolves true when the address is in use; rejects with ClosedError if the adapter closes first. */
  probeAsync(addr: number, timeoutMs: number = this.probeTimeoutMs): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const onClose = () => reject(new ClosedError('L2Adapter'));
      this.probe(
        addr,
        (inUse) => {
          const i = this.closeWaiters.indexOf(onClose);
          if (i !== -1) this.closeWaiters.splice(i, 1);
          resolve(inUse);
        },
        timeoutMs,
      );
      this.closeWaiters.push(onClose);
    });
  }

  private readonly closeWaiters: (() => void)[] = [];

  // ---- DHCP hook

  /**
   * Starts the DHCP client made by the `dhcp` option (made on the first call, reused after). It
   * gets every IPv4/UDP frame to port 68 while it runs.
   * @throws {ConfigError} code ERR_PKT_CONFIG when the adapter has no `dhcp` option;
   *   {ClosedError} once closed.
   */
  startDHCP(): void {
    if (this.closed) throw new ClosedError('L2Adapter');
    this.dhcp.start();
  }

  /** Stops the DHCP client (it releases a bound lease). A no-op when not started. */
  stopDHCP(): void {
    this.dhcp.stop();
  }

  /** True while the DHCP client runs. */
  get dhcpRunning(): boolean {
    return this.dhcp.running;
  }

  /** DNS servers (IPv4 u32) of the current lease; empty without one. */
  get dnsServers(): readonly number[] {
    return this.dhcp.dns;
  }

  /** The address the current lease gave, or null. */
  get lease(): IpPrefix | null {
    return this.dhcp.leased;
  }

  /** Calls `listener` on every lease applied (null: lease lost); returns the unsubscribe function. */
  onLease(listener: (lease: DhcpLease | null) => void): () => void {
    return this.dhcp.onLease(listener);
  }

  private dhcpHost(): DhcpClientHost {
    return {
      mac: this.hwAddr,
      clock: this.clock,
      random: this.random,
      sendFrame: (frame) => this.emit(frame),
      probe: (addr, cb) => this.probe(addr, cb),
      applyLease: (lease) => this.applyLease(lease),
    };
  }

  /**
   * What DhcpClientHost.applyLease does: sets the L3 device's address (so the adapter's, which
   * is announced) and the IPv4 gateway, keeps the DNS servers, and tells the `onLease`
   * listeners; null undoes it (the address only if the device still has the leased one).
   * @throws {PktRangeError} on an address, prefix length, router or DNS server out of range.
   */
  applyLease(lease: DhcpLease | null): void {
    if (this.closed) return;
    const p = this.dhcp.record(lease);
    if (lease === null) {
      this.setGateway(null, 4);
      if (p !== null && this.l3dev.addr !== null && this.l3dev.addr.equals(p)) this.l3dev.setAddr(null);
    } else {
      if (lease.router !== null) this.setGateway(IpAddr.fromV4(lease.router));
      else this.setGateway(null, 4);
      this.l3dev.setAddr(p);
    }
    if (this.pollAddr) this.pollL3Addr();
    this.dhcp.notify(lease);
  }

  // ---- inspection

  /** The neighbour caches (cold path: display and tests). */
  neighbors(): L2NeighborInfo[] {
    const info = (addr: IpAddr, n: Neighbor): L2NeighborInfo => ({ addr, mac: n.mac, state: NUD_STATE_NAMES[n.state]! });
    return [
      ...this.arp.table.list().map((n) => info(IpAddr.fromV4(n.w0 >>> 0), n)),
      ...this.ndp.table.list().map((n) => info(ipv6FromWords(n.w0, n.w1, n.w2, n.w3), n)),
    ];
  }

  /** The state of the cache entry for `addr` ('REACHABLE', …), or null when there is none. */
  neighborState(addr: IpAddr | string): string | null {
    const a = IpAddr.from(addr);
    const found = this.neighbors().find((n) => n.addr.equals(a));
    return found === undefined ? null : found.state;
  }

  stats(): L2AdapterStats {
    return this.counters.snapshot(this.arp.table.size, this.ndp.table.size, this.arp.table.pending + this.ndp.table.pending);
  }

  /**
   * Stops DHCP, cancels every timer and probe (their callbacks are not called; `probeAsync`
   * promises reject), empties the caches, and detaches from the L3 device (its handler becomes
   * a no-op; the device itself stays open). Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.stopDHCP();
    this.closed = true;
    if (this.announceTimer !== null) this.clock.clearTimer(this.announceTimer);
    this.announceTimer = null;
    this.arp.cancelProbes();
    this.arp.table.clear();
    this.ndp.table.clear();
    this.unwatch?.();
    this.l3dev.setHandler(noop);
    this.handler = null;
    this.rxViews.clear();
    for (const w of this.closeWaiters.splice(0)) w();
    this.dhcp.clearListeners();
  }
}
