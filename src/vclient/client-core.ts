/**
 * The packet side of the vclient `Client` (client.ts), as its base class: the L3Device members
 * (handler, addresses, `send`), the demultiplexing of what arrives (TCP to the stack's port, UDP
 * to the socket of its port, ICMP echo requests answered, Port Unreachable for closed UDP
 * ports), the building of what leaves (UDP datagrams, ICMP), the UDP port table, the event-loop
 * hold, and the counters.
 * client.ts adds the API (TCP dial/listen, UDP sockets, DNS, HTTP, close, stats).
 *
 * Per packet in, nothing is allocated on the TCP path; a UDP datagram is copied once for its
 * socket; an echo reply or a datagram is built in a reused buffer (a new one only when a second
 * is built while the first is still being handed out, i.e. from inside the handler).
 */

import { systemClock, type Clock } from '../core/clock.js';
import type { AddrListener, L3Device, PacketHandler } from '../core/device.js';
import { ClosedError, ConfigError, PktError, PktRangeError, PktTypeError, intInRange } from '../errors.js';
import { IpAddr, IpPrefix, formatIPv4, formatIPv6 } from '../wire/addr.js';
import { be16, be32, setBe16 } from '../wire/bytes.js';
import { checksum, checksumUpdate16, transportChecksumV6 } from '../wire/checksum.js';
import { Icmpv4Type, Icmpv4UnreachCode, emitIcmpv4, newIcmpv4Fields } from '../wire/icmpv4.js';
import { Icmpv6Type, Icmpv6UnreachCode, emitIcmpv6, newIcmpv6Fields } from '../wire/icmpv6.js';
import { IpProto, emitIpv4, newIpv4Fields } from '../wire/ipv4.js';
import { IPV6_HEADER_LEN, Ipv6View, emitIpv6, newIpv6Fields } from '../wire/ipv6.js';
import { UDP_HEADER_LEN, UdpView, emitUdpV4, emitUdpV6, newUdpFields } from '../wire/udp.js';
import { WireStatus } from '../wire/status.js';
import { ByteCopier } from '../vtcp/recv-buffer.js';
import type { UdpSocket } from './udp.js';
import { loadNative } from '../native/index.js';

const V4_HEADER_LEN = 20;
const V4_TOTAL_LEN = 2;
const V4_FLAGS_FRAG = 6;
const V4_PROTO = 9;
const V4_SRC = 12;
const V4_DST = 16;
const V4_FRAG_MASK = 0x3fff;
const V6_SRC = 8;
const V6_DST = 24;
const ICMP_HEADER_LEN = 8;
const V6_PAYLOAD_LEN = 4;
/** RFC 1812 §4.3.2.3: an ICMPv4 error is at most 576 bytes. */
const ICMPV4_ERROR_MAX = 576;
/** RFC 8200 §5: the IPv6 minimum MTU, the bound of an ICMPv6 error (RFC 4443 §2.4(c)). */
const IPV6_MIN_MTU = 1280;
/** Port Unreachables sent at most per second. */
const UNREACH_PER_SECOND = 100;
const ICMP_CSUM = 2;
const EPHEMERAL_MIN = 49152;
const EPHEMERAL_MAX = 65535;

/** Why the Client dropped a packet: the keys of `ClientStats.drops`. */
export const ClientDrop = {
  truncated: 'truncated',
  badHeader: 'badHeader',
  badChecksum: 'badChecksum',
  notForUs: 'notForUs',
  fragment: 'fragment',
  unknownProtocol: 'unknownProtocol',
  udpNoSocket: 'udpNoSocket',
  udpQueueFull: 'udpQueueFull',
  icmpIgnored: 'icmpIgnored',
  noHandler: 'noHandler',
  closed: 'closed',
} as const;
export type ClientDrop = (typeof ClientDrop)[keyof typeof ClientDrop];

/** The options the packet side takes (ClientOptions has them all). */
export interface ClientCoreOptions {
  addr?: string | IpPrefix | null;
  addr6?: string | IpPrefix | null;
  gateway?: string | null;
  gateway6?: string | null;
  clock?: Clock;
  random?: () => number;
  mtu?: number;
  maxUdpSockets?: number;
  ref?: boolean;
}

/** The inner device a TcpStack sits on: its `send` is the Client's output, `handler` the stack's input. */
export class StackPort implements L3Device {
  handler: PacketHandler = noop;
  private readonly client: ClientCore;
  constructor(client: ClientCore) {
    this.client = client;
  }
  setHandler(h: PacketHandler): void {
    this.handler = h;
  }
  send(p: Uint8Array): void {
    this.client.output(p);
  }
  get addr(): IpPrefix | null {
    return null;
  }
  setAddr(): void {}
  close(): void {}
}

export abstract class ClientCore implements L3Device {
  readonly clock: Clock;
  readonly random: () => number;
  readonly mtu: number;
  gateway: IpAddr | null;
  gateway6: IpAddr | null;
  /** The inner device the TCP stack sits on. */
  protected readonly port: StackPort;
  private handler: PacketHandler | null = null;
  protected prefix4: IpPrefix | null = null;
  protected prefix6: IpPrefix | null = null;
  private own4 = 0;
  private readonly addr6Bytes = new Uint8Array(16);
  protected hasAddr4 = false;
  protected hasAddr6 = false;
  protected listeners: AddrListener[] = [];
  protected readonly udpSockets = new Map<number, UdpSocket>();
  private readonly maxUdpSockets: number;
  protected closed = false;
  private ident = 0;
  protected readonly holdLoop: boolean;
  protected holds = 0;
  protected loopHandle: ReturnType<typeof setInterval> | null = null;
  protected readonly releaseFn = (): void => this.release();
  // Per packet, reused.
  private readonly ip6 = new Ipv6View();
  private readonly udpv = new UdpView();
  private readonly scratch: Uint8Array;
  private scratchBusy = false;
  /** Copies into `scratch` without a view per call (vtcp's ByteCopier: Node 20 has no allocation-free memcpy). */
  private readonly copier: ByteCopier;
  /** Views of `scratch` by length, made once each: the handler gets an exact-length array without a subarray per packet. */
  private readonly views: (Uint8Array | null)[];
  private readonly ip4f = newIpv4Fields();
  private readonly ip6f = newIpv6Fields();
  private readonly udpf = newUdpFields();
  private readonly icmp4f = newIcmpv4Fields();
  private readonly icmp6f = newIcmpv6Fields();
  private unreachWindowStart = -Infinity;
  private unreachSent = 0;

  protected readonly counters = { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0, echoReplies: 0, unreachSent: 0, udpIn: 0, udpOut: 0 };
  protected readonly drops: Record<ClientDrop, number>;

  /** @throws {PktTypeError} for a malformed address; {PktRangeError} for an option out of range. */
  constructor(opts: ClientCoreOptions) {
    // Loads the addon if it is built (fail-soft): vtcp's bulk copies then use its memcpy.
    loadNative();
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.mtu = intInRange('mtu', opts.mtu ?? 1500, 1280, 65535);
    this.maxUdpSockets = intInRange('maxUdpSockets', opts.maxUdpSockets ?? 1024, 1, 16384);
    this.holdLoop = opts.ref ?? this.clock === systemClock;
    this.scratch = new Uint8Array(this.mtu);
    this.copier = new ByteCopier(this.scratch);
    this.views = new Array<Uint8Array | null>(this.mtu + 1).fill(null);
    this.drops = {} as Record<ClientDrop, number>;
    for (const k of Object.values(ClientDrop)) this.drops[k] = 0;
    this.gateway = opts.gateway == null ? null : IpAddr.parse(opts.gateway);
    this.gateway6 = opts.gateway6 == null ? null : IpAddr.parse(opts.gateway6);
    if (opts.addr != null) this.setPrefix(IpPrefix.from(opts.addr), 4);
    if (opts.addr6 != null) this.setPrefix(IpPrefix.from(opts.addr6), 6);
    this.port = new StackPort(this);
  }

  // ---------------------------------------------------------------- L3Device

  setHandler(handler: PacketHandler): void {
    this.handler = handler;
  }

  /** The IPv4 prefix, else the IPv6 one, else null. */
  get addr(): IpPrefix | null {
    return this.prefix4 ?? this.prefix6;
  }

  /** The IPv4 prefix or null. */
  get addr4(): IpPrefix | null {
    return this.prefix4;
  }

  /** The IPv6 prefix or null. */
  get addr6(): IpPrefix | null {
    return this.prefix6;
  }

  /**
   * Sets the IPv4 or IPv6 address by the prefix's family (an IPv4-mapped IPv6 address sets the
   * IPv4 one, as in Go); null removes the address `addr` reports (IPv4 first).
   * @throws {PktTypeError} for a malformed prefix.
   */
  setAddr(addr: IpPrefix | string | null): void {
    if (addr === null) {
      if (this.prefix4 !== null) this.setPrefix(null, 4);
      else this.setPrefix(null, 6);
    } else {
      let p = IpPrefix.from(addr);
      const b = p.addr.bytes;
      if (p.family === 6 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
        p = new IpPrefix(IpAddr.fromBytes(b, 12, 4), Math.max(0, p.bits - 96));
      }
      this.setPrefix(p, p.family);
    }
    this.notify();
  }

  /** Sets or removes (null) the IPv6 address. */
  setAddr6(addr: IpPrefix | string | null): void {
    this.setPrefix(addr === null ? null : IpPrefix.from(addr), 6);
    this.notify();
  }

  watchAddr(listener: AddrListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i !== -1) this.listeners.splice(i, 1);
    };
  }

  private setPrefix(p: IpPrefix | null, family: 4 | 6): void {
    if (p !== null && p.family !== family) throw new PktTypeError(`vclient: expected an IPv${family} prefix, got ${p.addr}`, 'ERR_PKT_INVALID_ADDRESS');
    if (family === 4) {
      this.prefix4 = p;
      this.hasAddr4 = p !== null;
      this.own4 = p === null ? 0 : p.addr.v4;
    } else {
      this.prefix6 = p;
      this.hasAddr6 = p !== null;
      this.addr6Bytes.fill(0);
      if (p !== null) this.addr6Bytes.set(p.addr.bytes);
    }
  }

  private notify(): void {
    const a = this.addr;
    for (const l of [...this.listeners]) l(a);
  }

  /** A packet from the network (borrowed). Never throws for what it contains. */
  send(p: Uint8Array): void {
    if (this.closed) return void this.drops.closed++;
    this.counters.packetsIn++;
    this.counters.bytesIn += p.length;
    const len = p.length;
    if (len < 1) return void this.drops.truncated++;
    const v = p[0]! >>> 4;
    if (v === 4) this.input4(p, len);
    else if (v === 6) this.input6(p, len);
    else this.drops.badHeader++;
  }

  private input4(p: Uint8Array, len: number): void {
    if (len < V4_HEADER_LEN) return void this.drops.truncated++;
    const hl = (p[0]! & 0x0f) << 2;
    const total = be16(p, V4_TOTAL_LEN);
    if (hl < V4_HEADER_LEN || total < hl) return void this.drops.badHeader++;
    if (total > len) return void this.drops.truncated++;
    if (checksum(p, 0, hl) !== 0) return void this.drops.badChecksum++;
    const dst = be32(p, V4_DST);
    const proto = p[V4_PROTO]!;
    // Unicast to our address; UDP also to the limited and the subnet broadcast address.
    if (!this.hasAddr4 || dst !== this.own4) {
      const bcast = proto === IpProto.UDP && this.prefix4 !== null && (dst === 0xffff_ffff || dst === ((this.own4 | ~this.prefix4.mask[0]!) >>> 0));
      if (!bcast) return void this.drops.notForUs++;
    }
    if ((be16(p, V4_FLAGS_FRAG) & V4_FRAG_MASK) !== 0) return void this.drops.fragment++;
    if (proto === IpProto.TCP) this.port.handler(total === len ? p : p.subarray(0, total));
    else if (proto === IpProto.UDP) this.udpInput(p, hl, total - hl, 4);
    else if (proto === IpProto.ICMP) this.icmp4(p, hl, total - hl);
    else this.drops.unknownProtocol++;
  }

  private input6(p: Uint8Array, len: number): void {
    const v = this.ip6.reset(p, 0, len);
    const st = v.check();
    if (st !== WireStatus.Ok) return void (st === WireStatus.Truncated ? this.drops.truncated++ : this.drops.badHeader++);
    if (!this.hasAddr6 || !this.isAddr6(p, V6_DST)) return void this.drops.notForUs++;
    if (v.isFragment) return void this.drops.fragment++;
    const proto = v.upperProtocol;
    const end = IPV6_HEADER_LEN + v.payloadLen;
    if (proto === IpProto.TCP) this.port.handler(end === len ? p : p.subarray(0, end));
    else if (proto === IpProto.UDP) this.udpInput(p, v.upperOff, end - v.upperOff, 6);
    else if (proto === IpProto.ICMPv6) this.icmp6(p, v.upperOff, end - v.upperOff);
    else this.drops.unknownProtocol++;
  }

  private isAddr6(p: Uint8Array, off: number): boolean {
    const a = this.addr6Bytes;
    for (let i = 0; i < 16; i++) if (a[i] !== p[off + i]) return false;
    return true;
  }

  private udpInput(p: Uint8Array, off: number, len: number, family: 4 | 6): void {
    const u = this.udpv.reset(p, off, len);
    if (u.check() !== WireStatus.Ok) return void this.drops.truncated++;
    if (family === 4 ? !u.verifyChecksumV4(be32(p, V4_SRC), be32(p, V4_DST)) : !u.verifyChecksumV6(p, V6_SRC, V6_DST)) return void this.drops.badChecksum++;
    const sock = this.udpSockets.get(u.dstPort);
    if (sock === undefined) {
      this.drops.udpNoSocket++;
      return this.portUnreachable(p, family === 4 ? V4_HEADER_LEN + len : IPV6_HEADER_LEN + be16(p, V6_PAYLOAD_LEN), family);
    }
    const src = family === 4 ? formatIPv4(be32(p, V4_SRC)) : formatIPv6(p, V6_SRC);
    if (sock.deliver(p, u.payloadOff, u.payloadLen, src, family, u.srcPort)) this.counters.udpIn++;
    else this.drops.udpQueueFull++;
  }

  /**
   * RFC 1122 §4.1.3.1: a datagram for a port nobody listens on "SHOULD" get an ICMP Port
   * Unreachable. Not for broadcasts, nor for sources that are not a single host (§3.2.2), and at
   * most UNREACH_PER_SECOND a second (RFC 4443 §2.4(f) asks it of ICMPv6; both get it here).
   * The quote is as much of the datagram as keeps the reply within 576 bytes (RFC 1812 §4.3.2.3)
   * or the IPv6 minimum MTU (RFC 4443 §3.1).
   */
  private portUnreachable(p: Uint8Array, total: number, family: 4 | 6): void {
    if (family === 4) {
      const src = be32(p, V4_SRC);
      if (be32(p, V4_DST) !== this.own4 || src === 0 || src === 0xffff_ffff || src >>> 28 === 0xe) return;
      if (this.prefix4 !== null && src === ((this.own4 | ~this.prefix4.mask[0]!) >>> 0)) return;
    } else if (p[V6_SRC] === 0xff) {
      return;
    }
    const now = this.clock.now();
    if (now - this.unreachWindowStart >= 1000) {
      this.unreachWindowStart = now;
      this.unreachSent = 0;
    }
    if (this.unreachSent >= UNREACH_PER_SECOND) return;
    this.unreachSent++;
    const hl = family === 4 ? V4_HEADER_LEN : IPV6_HEADER_LEN;
    const quote = Math.min(total, (family === 4 ? ICMPV4_ERROR_MAX : Math.min(this.mtu, IPV6_MIN_MTU)) - hl - ICMP_HEADER_LEN);
    const len = ICMP_HEADER_LEN + quote;
    const buf = this.takeScratch(hl + len);
    this.copyIn(buf, hl + ICMP_HEADER_LEN, p, 0, quote);
    if (family === 4) {
      const f = this.icmp4f;
      f.type = Icmpv4Type.DestUnreachable;
      f.code = Icmpv4UnreachCode.Port;
      f.payloadLen = quote;
      emitIcmpv4(f, buf, hl);
      this.ipv4Header(buf, IpProto.ICMP, this.own4, be32(p, V4_SRC), len);
    } else {
      const ip = this.ip6f;
      ip.src.set(this.addr6Bytes);
      for (let i = 0; i < 16; i++) ip.dst[i] = p[V6_SRC + i]!;
      ip.nextHeader = IpProto.ICMPv6;
      ip.payloadLen = len;
      emitIpv6(ip, buf, 0);
      const f = this.icmp6f;
      f.type = Icmpv6Type.DestUnreachable;
      f.code = Icmpv6UnreachCode.Port;
      f.payloadLen = quote;
      emitIcmpv6(f, buf, hl, buf, V6_SRC, V6_DST);
    }
    this.counters.unreachSent++;
    this.emitOwned(buf, hl + len);
  }

  /** RFC 1122 §3.2.2.6: every host MUST answer an Echo Request, with the same identifier, sequence and data. */
  private icmp4(p: Uint8Array, off: number, len: number): void {
    if (len < ICMP_HEADER_LEN || p[off] !== Icmpv4Type.Echo || checksum(p, off, len) !== 0 || be32(p, V4_DST) !== this.own4) return void this.drops.icmpIgnored++;
    const total = V4_HEADER_LEN + len;
    if (total > this.mtu) return void this.drops.icmpIgnored++;
    const buf = this.takeScratch(total);
    this.copyIn(buf, V4_HEADER_LEN, p, off, len);
    // Only the type changes: update the verified checksum (RFC 1624) rather than sum the message
    // again (a second buffer also evicts checksum.ts's one-entry view cache: an allocation).
    const code = buf[V4_HEADER_LEN + 1]!;
    buf[V4_HEADER_LEN] = Icmpv4Type.EchoReply;
    setBe16(buf, V4_HEADER_LEN + ICMP_CSUM, checksumUpdate16(be16(buf, V4_HEADER_LEN + ICMP_CSUM), (Icmpv4Type.Echo << 8) | code, (Icmpv4Type.EchoReply << 8) | code));
    this.ipv4Header(buf, IpProto.ICMP, this.own4, be32(p, V4_SRC), len);
    this.counters.echoReplies++;
    this.emitOwned(buf, total);
  }

  /** RFC 4443 §4.2: "Every node MUST implement an ICMPv6 Echo responder function". */
  private icmp6(p: Uint8Array, off: number, len: number): void {
    if (len < ICMP_HEADER_LEN || p[off] !== Icmpv6Type.EchoRequest) return void this.drops.icmpIgnored++;
    if (transportChecksumV6(IpProto.ICMPv6, p, V6_SRC, V6_DST, p, off, len) !== 0) return void this.drops.badChecksum++;
    const total = IPV6_HEADER_LEN + len;
    if (total > this.mtu) return void this.drops.icmpIgnored++;
    const buf = this.takeScratch(total);
    this.copyIn(buf, IPV6_HEADER_LEN, p, off, len);
    const f = this.ip6f;
    f.src.set(this.addr6Bytes);
    f.dst.set(p.subarray(V6_SRC, V6_SRC + 16));
    f.nextHeader = IpProto.ICMPv6;
    f.payloadLen = len;
    emitIpv6(f, buf, 0);
    // The pseudo-header holds the same two addresses (swapped) and length: only the type changes.
    const code = buf[IPV6_HEADER_LEN + 1]!;
    buf[IPV6_HEADER_LEN] = Icmpv6Type.EchoReply;
    setBe16(buf, IPV6_HEADER_LEN + ICMP_CSUM, checksumUpdate16(be16(buf, IPV6_HEADER_LEN + ICMP_CSUM), (Icmpv6Type.EchoRequest << 8) | code, (Icmpv6Type.EchoReply << 8) | code));
    this.counters.echoReplies++;
    this.emitOwned(buf, total);
  }

  /** The reused output buffer, or a new one when a reply is built while another is being handed out. */
  private takeScratch(len: number): Uint8Array {
    return this.scratchBusy ? new Uint8Array(len) : this.scratch;
  }

  private copyIn(buf: Uint8Array, pos: number, src: Uint8Array, off: number, len: number): void {
    if (buf === this.scratch) this.copier.toRing(buf, pos, src, off, len);
    else buf.set(src.subarray(off, off + len), pos);
  }

  private emitOwned(buf: Uint8Array, len: number): void {
    if (buf !== this.scratch) return this.output(len === buf.length ? buf : buf.subarray(0, len));
    let view = this.views[len]!;
    if (view === null) view = this.views[len] = buf.subarray(0, len);
    this.scratchBusy = true;
    try {
      this.output(view);
    } finally {
      this.scratchBusy = false;
    }
  }

  private ipv4Header(buf: Uint8Array, proto: number, src: number, dst: number, payloadLen: number): void {
    const f = this.ip4f;
    f.src = src;
    f.dst = dst;
    f.protocol = proto;
    f.payloadLen = payloadLen;
    this.ident = (this.ident + 1) & 0xffff;
    f.ident = this.ident;
    emitIpv4(f, buf, 0);
  }

  /** @internal What the Client produces (the stack's packets, UDP, echo replies). */
  output(p: Uint8Array): void {
    const h = this.handler;
    if (h === null || this.closed) return void this.drops.noHandler++;
    this.counters.packetsOut++;
    this.counters.bytesOut += p.length;
    h(p);
  }

  protected bindUdp(sock: UdpSocket, port: number): number {
    if (this.closed) throw new ClosedError('vclient');
    if (this.udpSockets.size >= this.maxUdpSockets) throw new PktError('ERR_PKT_LIMIT', `vclient: udp socket table full (${this.maxUdpSockets} sockets)`);
    if (port === 0) {
      const span = EPHEMERAL_MAX - EPHEMERAL_MIN + 1;
      let p = EPHEMERAL_MIN + Math.floor(this.random() * span);
      for (let i = 0; i < span && this.udpSockets.has(p); i++) p = p === EPHEMERAL_MAX ? EPHEMERAL_MIN : p + 1;
      if (this.udpSockets.has(p)) throw new PktError('ERR_PKT_LIMIT', 'vclient: no free ephemeral udp port');
      port = p;
    } else if (this.udpSockets.has(port)) {
      const e = new ConfigError(`vclient: udp port ${port} is in use`);
      (e as { errno?: string }).errno = 'EADDRINUSE';
      throw e;
    }
    this.udpSockets.set(port, sock);
    this.hold();
    return port;
  }

  protected unbindUdp(port: number): void {
    if (this.udpSockets.delete(port)) this.release();
  }

  /** True while the Client keeps the event loop alive (the `ref` option; open connections, listeners, sockets). */
  get holdsEventLoop(): boolean {
    return this.loopHandle !== null;
  }

  /** One more open thing (connection, listener, socket) keeps the event loop alive. */
  protected hold(): void {
    if (!this.holdLoop || this.closed) return;
    if (this.holds++ === 0) this.loopHandle = setInterval(noop, 1 << 30);
  }

  protected release(): void {
    if (!this.holdLoop || this.holds === 0) return;
    if (--this.holds === 0 && this.loopHandle !== null) {
      clearInterval(this.loopHandle);
      this.loopHandle = null;
    }
  }

  /**
   * @internal Sends one datagram from our address of `dst`'s family.
   * @throws {ConfigError} with no address of the family; {PktRangeError} EMSGSIZE-like when it does not fit the MTU.
   */
  sendUdp(srcPort: number, dst: IpAddr, dstPort: number, data: Uint8Array): void {
    if (this.closed) throw new ClosedError('vclient');
    const hl = dst.family === 4 ? V4_HEADER_LEN : IPV6_HEADER_LEN;
    const total = hl + UDP_HEADER_LEN + data.length;
    if (total > this.mtu) throw new PktRangeError(`vclient: udp datagram of ${data.length} bytes does not fit the MTU ${this.mtu} (EMSGSIZE)`);
    if (dst.family === 4 ? !this.hasAddr4 : !this.hasAddr6) throw new ConfigError(`vclient: no IPv${dst.family} address to send to ${dst} from`);
    const buf = this.takeScratch(total);
    buf.set(data, hl + UDP_HEADER_LEN);
    const u = this.udpf;
    u.srcPort = srcPort;
    u.dstPort = dstPort;
    u.payloadLen = data.length;
    if (dst.family === 4) {
      emitUdpV4(u, buf, hl, this.own4, dst.v4);
      this.ipv4Header(buf, IpProto.UDP, this.own4, dst.v4, UDP_HEADER_LEN + data.length);
    } else {
      const f = this.ip6f;
      f.src.set(this.addr6Bytes);
      f.dst.set(dst.bytes);
      f.nextHeader = IpProto.UDP;
      f.payloadLen = UDP_HEADER_LEN + data.length;
      emitIpv6(f, buf, 0);
      emitUdpV6(u, buf, hl, buf, V6_SRC, V6_DST);
    }
    this.counters.udpOut++;
    this.emitOwned(buf, total);
  }


  abstract close(): void;
}

export function noop(): void {}
