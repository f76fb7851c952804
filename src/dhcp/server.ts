/**
 * DHCPServer: a DHCPv4 server (RFC 2131 §4.3, options of RFC 2132) as an L2Device. Attach it
 * to a hub; it answers DHCP requests on that segment from one pool in one subnet.
 *
 *   DISCOVER ─► OFFER      address chosen by §4.3.1: the client's reservation (static lease),
 *                          else its current or last binding, else the address it asks for (option
 *                          50) when free, else the first free one of the pool; reserved for the
 *                          client `offerHoldMs`. Pool exhausted or table full: no reply, counted.
 *   REQUEST  ─► ACK | NAK  told apart as §4.3.2 does:
 *                 SELECTING  (option 54 set): ours -> ACK the offered address (NAK if it is
 *                            gone); another server's -> the client chose it: drop our offer.
 *                 INIT-REBOOT (50 set, ciaddr 0): NAK when on the wrong subnet or not the
 *                            client's; silent when the client is unknown (§4.3.2 "MUST remain
 *                            silent", so that servers that share a wire coexist).
 *                 RENEWING / REBINDING (ciaddr set): extend the client's binding; a client we
 *                            have no record of keeps a free address of our pool (a failover or a
 *                            restart without a store); anything else is NAKed.
 *   DECLINE  ─►            the client's address leaves the pool for `declineHoldMs`.
 *   RELEASE  ─►            the binding is freed.
 *   INFORM   ─► ACK        configuration only: no yiaddr, no lease time (§4.3.5).
 *
 * Replies go as §4.1 says: to giaddr (port 67) through a relay; NAKs broadcast; to ciaddr when
 * the client has one; broadcast when the client set the BROADCAST flag; else unicast to yiaddr
 * and chaddr. Options 53, 54, 51, 58, 59, 1, 3, 6, 15, and option 61 echoed (RFC 6842). The
 * server answers ARP for its own address (renewing clients unicast to it; turn off with
 * `answerArp: false` when another device on the segment owns that address).
 *
 * A frame is taken when its Ethernet destination is the server or broadcast, its IP destination
 * the server or 255.255.255.255, and it is a well-formed BOOTREQUEST from Ethernet hardware;
 * every other frame is dropped and counted by reason, never thrown on. The lease table is
 * bounded (`maxLeases`) and pruned on a timer; a `store` keeps bound leases across restarts.
 *
 * Not supported: several subnets or relay-selected pools (giaddr is answered, not used to pick
 * a subnet), pinging an address before offering it (the client's ARP probe and DECLINE cover
 * it), honouring a lease time the client asks for (option 51 in requests), BOOTP clients
 * without option 53, DHCP authentication, the failover protocol, VLANs (a tagged request is
 * read, but the reply goes out untagged: give each VLAN its own server behind a tagging port).
 */

import type { TimerHandle } from '../core/clock.js';
import type { FrameHandler, L2Device } from '../core/device.js';
import { ARP_OP_REPLY, ARP_OP_REQUEST, ArpView, emitArp, newArpFields } from '../wire/arp.js';
import { BROADCAST_MAC } from '../wire/addr.js';
import { be16, be32i, setBe16, writeMac } from '../wire/bytes.js';
import {
  DHCP_CLIENT_PORT,
  DHCP_FLAG_BROADCAST,
  DHCP_HTYPE_ETHERNET,
  DHCP_SERVER_PORT,
  DhcpMessageType,
  DhcpOp,
  newDhcpFields,
  type DhcpFields,
} from '../wire/dhcp.js';
import { ETH_HEADER_LEN, ETH_MIN_FRAME_LEN, EtherType, EthernetView } from '../wire/ethernet.js';
import { WireStatus } from '../wire/status.js';
import { DhcpCounters, DhcpDrop, DhcpFrameReader, IPV4_BROADCAST, buildDhcpFrame, type DhcpCounterStats } from './frame.js';
import { LeaseTable, clientKey, type DhcpLeaseRecord } from './lease-table.js';
import { parseServerConfig, type DHCPServerOptions, type ServerConfig } from './server-config.js';

export interface DHCPServerStats extends DhcpCounterStats {
  /** Live leases and offers, table entries (live or expired, not yet pruned), and the bound. */
  leases: number;
  offers: number;
  entries: number;
  maxLeases: number;
  /** Addresses out of the pool after a DECLINE. */
  declined: number;
  /** Addresses in the pool (rangeStart..rangeEnd). */
  poolSize: number;
  arpReplies: number;
}

const ETHER_ADDR_LEN = 6;
const ETH_DST = 0;
const ETH_TYPE = 12;
const NAK_WRONG_NETWORK = 'wrong network';
const NAK_NOT_AVAILABLE = 'address not available';

export class DHCPServer implements L2Device {
  readonly hwAddr: number;
  private readonly macHi: number;
  private readonly macLo: number;
  private readonly cfg: ServerConfig;
  private readonly table: LeaseTable;
  private readonly reader = new DhcpFrameReader();
  private readonly eth = new EthernetView();
  private readonly arp = new ArpView();
  private readonly counters = new DhcpCounters();
  private handler: FrameHandler | null = null;
  private timer: TimerHandle | null = null;
  private closed = false;
  private ident = 0;
  private arpReplies = 0;

  /**
   * @throws {PktTypeError | PktRangeError | ConfigError} for invalid options (see DHCPServerOptions).
   */
  constructor(opts: DHCPServerOptions) {
    this.cfg = parseServerConfig(opts);
    this.hwAddr = this.cfg.mac;
    this.macHi = Math.floor(this.hwAddr / 0x1_0000_0000);
    this.macLo = this.hwAddr | 0;
    this.table = new LeaseTable(this.cfg.maxLeases);
    const store = this.cfg.store;
    if (store !== null) {
      const now = this.cfg.clock.now();
      const epoch = this.cfg.epochMs();
      this.table.load(store.load(), now, (ms) => now + (ms - epoch), (addr, mac) => this.reservable(addr, mac));
    }
    this.timer = this.cfg.clock.setTimer(this.onPrune, this.cfg.pruneIntervalMs);
  }

  setHandler(handler: FrameHandler): void {
    this.handler = handler;
  }

  /** A frame from the segment. Borrowed; never throws because of what it holds. */
  send(frame: Uint8Array): void {
    if (this.closed) return this.counters.drop(DhcpDrop.Closed);
    const eth = this.eth.reset(frame, 0, frame.length);
    if (eth.check() !== WireStatus.Ok) return this.counters.drop(WireStatus.Truncated);
    // Destination MAC as two int32 halves: a 48-bit double from a getter that V8 does not inline
    // is boxed, and this runs for every frame a hub floods to the server.
    const dstHi = be16(frame, ETH_DST);
    const dstLo = be32i(frame, ETH_DST + 2);
    const toUs = dstHi === this.macHi && dstLo === this.macLo;
    if (!toUs && (dstHi !== 0xffff || dstLo !== -1)) return this.counters.drop(DhcpDrop.NotForUs);
    if (eth.etherType === EtherType.ARP) return this.onArp(frame, eth.payloadOff);
    const r = this.reader;
    const st = r.read(frame, DHCP_SERVER_PORT);
    if (st !== WireStatus.Ok) return this.counters.drop(st);
    if (r.ipDst !== IPV4_BROADCAST && r.ipDst !== this.cfg.serverIp) return this.counters.drop(DhcpDrop.NotForUs);
    const f = r.fields;
    if (f.op !== DhcpOp.BootRequest) return this.counters.drop(DhcpDrop.WrongOp);
    if (f.htype !== DHCP_HTYPE_ETHERNET || f.hlen !== ETHER_ADDR_LEN) return this.counters.drop(WireStatus.Unsupported);
    this.counters.rx(f.messageType);
    const now = this.cfg.clock.now();
    switch (f.messageType) {
      case DhcpMessageType.Discover:
        return this.onDiscover(f, now);
      case DhcpMessageType.Request:
        return this.onRequest(f, now);
      case DhcpMessageType.Decline:
        return this.onDecline(f, now);
      case DhcpMessageType.Release:
        return this.onRelease(f);
      case DhcpMessageType.Inform:
        return this.onInform(f);
      default:
        return this.counters.drop(DhcpDrop.UnexpectedType);
    }
  }

  /** Stops the prune timer and drops every later frame. Leases stay in the store. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) this.cfg.clock.clearTimer(this.timer);
    this.timer = null;
    this.handler = null;
  }

  stats(): DHCPServerStats {
    const now = this.cfg.clock.now();
    const { leases, offers } = this.table.count(now);
    return {
      ...this.counters.snapshot(),
      leases,
      offers,
      entries: this.table.size,
      maxLeases: this.cfg.maxLeases,
      declined: this.table.declinedCount,
      poolSize: this.cfg.rangeEnd - this.cfg.rangeStart + 1,
      arpReplies: this.arpReplies,
    };
  }

  /** The live bound leases, as the store would get them (cold path). */
  leases(): DhcpLeaseRecord[] {
    return this.table.records(this.cfg.clock.now(), this.toEpoch);
  }

  /** Removes expired leases, offers and declines now (the timer does it every `pruneIntervalMs`). */
  prune(): void {
    if (this.table.prune(this.cfg.clock.now()).size > 0) this.save();
  }

  // ---- address policy ---------------------------------------------------------------------

  private inSubnet(a: number): boolean {
    const c = this.cfg;
    return ((a & c.mask) >>> 0) === c.network && a !== c.network && a !== c.broadcast;
  }

  /** An address this server may give `mac` at all: its reservation, or a pool address reserved for nobody. */
  private reservable(a: number, mac: number): boolean {
    const c = this.cfg;
    const owner = c.staticByAddr.get(a);
    if (owner !== undefined) return owner === mac;
    return a >= c.rangeStart && a <= c.rangeEnd && a !== c.serverIp && a !== c.router;
  }

  /** `reservable`, and not held by another client's live binding, and not declined. */
  private allocatable(a: number, key: string, mac: number, now: number): boolean {
    if (!this.reservable(a, mac) || this.table.isDeclined(a, now)) return false;
    const b = this.table.byAddress(a);
    return b === undefined || b.key === key || b.expiresAt <= now;
  }

  /** §4.3.1: the address to offer `key`, or 0 when there is none. */
  private choose(key: string, mac: number, requested: number, now: number): number {
    const c = this.cfg;
    const fixed = c.staticByMac.get(mac);
    if (fixed !== undefined) return fixed;
    const b = this.table.byClient(key);
    if (b !== undefined && this.allocatable(b.addr, key, mac, now)) return b.addr;
    if (requested !== 0 && this.allocatable(requested, key, mac, now)) return requested;
    // First fit. Linear, but bounded: it passes at most one address per live binding, decline
    // and reservation (all bounded) before it finds a free one, or the pool's end.
    for (let a = c.rangeStart; a <= c.rangeEnd; a++) {
      if (this.allocatable(a, key, mac, now)) return a;
    }
    return 0;
  }

  // ---- messages ---------------------------------------------------------------------------

  private onDiscover(f: DhcpFields, now: number): void {
    const key = clientKey(f.clientId, f.chaddr);
    const addr = this.choose(key, f.chaddr, f.requestedIp, now);
    if (addr === 0) return this.counters.drop(DhcpDrop.PoolExhausted);
    const b = this.table.byClient(key);
    // A client that holds a live lease on this address keeps it bound; others get it reserved.
    const keepBound = b !== undefined && b.bound && b.addr === addr && b.expiresAt > now;
    if (!keepBound && !this.table.set(key, f.chaddr, addr, now + this.cfg.offerHoldMs, false, f.hostName, now)) {
      return this.counters.drop(DhcpDrop.TableFull);
    }
    this.reply(f, DhcpMessageType.Offer, addr, '');
  }

  private onRequest(f: DhcpFields, now: number): void {
    const c = this.cfg;
    const key = clientKey(f.clientId, f.chaddr);
    const b = this.table.byClient(key);
    const fixed = c.staticByMac.get(f.chaddr);
    if (f.serverId !== 0) {
      // SELECTING.
      if (f.serverId !== c.serverIp) {
        // The client chose another server: our offer is void (§4.3.2).
        if (b !== undefined && !b.bound) this.table.remove(b);
        return this.counters.drop(DhcpDrop.OtherServer);
      }
      const want = f.requestedIp;
      if (want === 0) return this.counters.drop(DhcpDrop.MissingOption);
      if ((fixed !== undefined && want !== fixed) || !this.allocatable(want, key, f.chaddr, now)) return this.nak(f, NAK_NOT_AVAILABLE);
      return this.ack(f, key, want, now);
    }
    if (f.ciaddr === 0) {
      // INIT-REBOOT: the client asks to keep a previous address.
      const want = f.requestedIp;
      if (want === 0) return this.counters.drop(DhcpDrop.MissingOption);
      if (!this.inSubnet(want)) return this.nak(f, NAK_WRONG_NETWORK);
      if (fixed !== undefined) return want === fixed ? this.ack(f, key, want, now) : this.nak(f, NAK_NOT_AVAILABLE);
      if (b === undefined) return this.counters.drop(DhcpDrop.UnknownClient);
      if (b.addr !== want || !this.allocatable(want, key, f.chaddr, now)) return this.nak(f, NAK_NOT_AVAILABLE);
      return this.ack(f, key, want, now);
    }
    // RENEWING (unicast to us) or REBINDING (broadcast): ciaddr is the client's address.
    const have = f.ciaddr;
    if (!this.inSubnet(have)) return this.nak(f, NAK_WRONG_NETWORK);
    if (fixed !== undefined ? have !== fixed : b !== undefined && b.addr !== have) return this.nak(f, NAK_NOT_AVAILABLE);
    if (!this.allocatable(have, key, f.chaddr, now)) return this.nak(f, NAK_NOT_AVAILABLE);
    return this.ack(f, key, have, now);
  }

  private ack(f: DhcpFields, key: string, addr: number, now: number): void {
    if (!this.table.set(key, f.chaddr, addr, now + this.cfg.leaseSecs * 1000, true, f.hostName, now)) {
      return this.counters.drop(DhcpDrop.TableFull);
    }
    this.save();
    this.reply(f, DhcpMessageType.Ack, addr, '');
  }

  private nak(f: DhcpFields, message: string): void {
    this.reply(f, DhcpMessageType.Nak, 0, message);
  }

  private onDecline(f: DhcpFields, now: number): void {
    if (f.serverId !== 0 && f.serverId !== this.cfg.serverIp) return this.counters.drop(DhcpDrop.OtherServer);
    const b = this.table.byClient(clientKey(f.clientId, f.chaddr));
    // Only the client holding the address may decline it: a stray DECLINE empties no pool.
    if (b === undefined || b.addr !== f.requestedIp) return this.counters.drop(DhcpDrop.UnknownClient);
    this.table.remove(b);
    this.table.decline(b.addr, now + this.cfg.declineHoldMs, now);
    if (b.bound) this.save();
  }

  private onRelease(f: DhcpFields): void {
    if (f.serverId !== 0 && f.serverId !== this.cfg.serverIp) return this.counters.drop(DhcpDrop.OtherServer);
    const b = this.table.byClient(clientKey(f.clientId, f.chaddr));
    if (b === undefined || b.addr !== f.ciaddr) return this.counters.drop(DhcpDrop.UnknownClient);
    this.table.remove(b);
    if (b.bound) this.save();
  }

  private onInform(f: DhcpFields): void {
    if (f.ciaddr === 0) return this.counters.drop(DhcpDrop.BadAddress);
    this.reply(f, DhcpMessageType.Ack, 0, '');
  }

  /** Builds and sends a reply to request `q` (Table 3 of RFC 2131 §4.3.1). */
  private reply(q: DhcpFields, type: number, yiaddr: number, message: string): void {
    const c = this.cfg;
    const r = this.reader;
    const isNak = type === DhcpMessageType.Nak;
    const isInform = q.messageType === DhcpMessageType.Inform;
    const f = newDhcpFields();
    f.op = DhcpOp.BootReply;
    f.xid = q.xid;
    f.giaddr = q.giaddr;
    f.chaddr = q.chaddr;
    // §4.3.2: a NAK through a relay sets BROADCAST so that the relay broadcasts it.
    f.flags = (q.flags & DHCP_FLAG_BROADCAST) | (isNak && q.giaddr !== 0 ? DHCP_FLAG_BROADCAST : 0);
    f.ciaddr = type === DhcpMessageType.Ack ? q.ciaddr : 0;
    f.yiaddr = yiaddr;
    f.siaddr = isNak ? 0 : c.serverIp;
    f.messageType = type;
    f.serverId = c.serverIp;
    f.clientId = q.clientId;
    if (isNak) {
      f.message = message;
    } else {
      if (!isInform) {
        f.leaseSecs = c.leaseSecs;
        f.renewalSecs = c.renewalSecs;
        f.rebindingSecs = c.rebindingSecs;
      }
      f.subnetMask = c.mask;
      if (c.router !== 0) f.routers = [c.router];
      f.dnsServers = c.dns;
      f.domainName = c.domain;
    }
    // §4.1, in this order: relay, NAK, a client with an address, BROADCAST flag, unicast.
    let ipDst: number;
    let ethDst: number;
    let dstPort = DHCP_CLIENT_PORT;
    if (q.giaddr !== 0) {
      ipDst = q.giaddr;
      ethDst = r.ethSrc;
      dstPort = DHCP_SERVER_PORT;
    } else if (isNak) {
      ipDst = IPV4_BROADCAST;
      ethDst = BROADCAST_MAC;
    } else if (q.ciaddr !== 0) {
      ipDst = q.ciaddr;
      ethDst = r.ethSrc;
    } else if ((q.flags & DHCP_FLAG_BROADCAST) !== 0) {
      ipDst = IPV4_BROADCAST;
      ethDst = BROADCAST_MAC;
    } else {
      ipDst = yiaddr;
      ethDst = q.chaddr;
    }
    this.counters.tx(type);
    const frame = buildDhcpFrame(f, {
      ethSrc: this.hwAddr,
      ethDst,
      ipSrc: c.serverIp,
      ipDst,
      srcPort: DHCP_SERVER_PORT,
      dstPort,
      ident: this.ident++,
    });
    this.emit(frame);
  }

  private onArp(frame: Uint8Array, off: number): void {
    if (!this.cfg.answerArp) return this.counters.drop(DhcpDrop.NotDhcp);
    const a = this.arp.reset(frame, off, frame.length - off);
    const st = a.check();
    if (st !== WireStatus.Ok) return this.counters.drop(st);
    if (a.op !== ARP_OP_REQUEST || a.targetIp !== this.cfg.serverIp) return this.counters.drop(DhcpDrop.NotForUs);
    const out = new Uint8Array(ETH_MIN_FRAME_LEN);
    writeMac(out, 0, a.senderMac);
    writeMac(out, ETHER_ADDR_LEN, this.hwAddr);
    setBe16(out, ETH_TYPE, EtherType.ARP);
    const f = newArpFields();
    f.op = ARP_OP_REPLY;
    f.senderMac = this.hwAddr;
    f.senderIp = this.cfg.serverIp;
    f.targetMac = a.senderMac;
    f.targetIp = a.senderIp;
    emitArp(f, out, ETH_HEADER_LEN);
    this.arpReplies++;
    this.emit(out);
  }

  private emit(frame: Uint8Array): void {
    const h = this.handler;
    if (h !== null) h(frame);
  }

  private save(): void {
    const store = this.cfg.store;
    if (store === null) return;
    store.save(this.table.records(this.cfg.clock.now(), this.toEpoch));
  }

  private readonly toEpoch = (t: number): number => this.cfg.epochMs() + (t - this.cfg.clock.now());

  private readonly onPrune = (): void => {
    this.timer = null;
    if (this.closed) return;
    this.prune();
    this.timer = this.cfg.clock.setTimer(this.onPrune, this.cfg.pruneIntervalMs);
  };
}
