/**
 * `Stack`: a userspace NAT from a virtual IP network to the host's real sockets (slirp), as an
 * `L3Device` (packets from the virtual side go in through `send`, replies come out of the
 * handler) and an `L3Connector` (each device attached with `connectL3` gets a namespace of its
 * own: its own connection tables, so two peers may use the same addresses).
 *
 *   send(p) / dev handler ─► input: IPv4/IPv6 checks, broadcast filter
 *        ├─ TCP  ─► the namespace's vtcp TcpStack ─onSyn─► policy ─► async net.connect (space.ts)
 *        ├─ UDP  ─► flow table (src, sport, dst, dport) ─► dgram socket; replies built here
 *        │          the virtual DNS address, port 53 ─► the host's resolver (its first server)
 *        └─ ICMP ─► Echo to the Stack's own and resolver addresses answered here; to the rest,
 *                   policy ─► the namespace's ICMP echo socket (icmp.ts); other ICMP dropped
 *
 * What a virtual host sees: the Stack's address (`addr`) answers pings; with `hostLoopback` TCP,
 * UDP and pings to it reach the host's loopback (127.0.0.1 / ::1), as slirp4netns's 10.0.2.2; `dns`
 * is a resolver address forwarded to the host's. Every other destination is proxied through a
 * real socket when the egress policy (policy.ts) allows it; a denied one is answered with ICMP
 * Destination Unreachable (administratively prohibited).
 *
 * Unlike the Go slirp: the dial is asynchronous and timed (a failure is a RST for a refused
 * port, ICMP unreachable for a timeout or an unreachable host), IPv6 flows are released with
 * their namespace, broadcast and multicast destinations are never proxied, and there is a policy.
 *
 * ICMP Echo to other destinations goes through unprivileged ICMP echo sockets (the addon's `icmp`
 * feature), one per namespace and family, opened on first use and closed when idle; replies come
 * back rebuilt from the address that was pinged. With `hostLoopback` a ping of the Stack's own
 * address reaches the host's 127.0.0.1 / ::1 that way too. Without such a socket (no addon, or
 * net.ipv4.ping_group_range excluding this process: its kernel default "1 0" excludes root too,
 * or `icmp: { forward: false }`) only the Stack's own addresses answer, and Echo elsewhere is
 * dropped, counted as `echoUnavailable`. A policy denial is answered with admin-prohibited.
 *
 * Not supported: IP fragments (dropped, counted), DNS over more than the first host
 * resolver, UDP from the real side before the virtual host has sent on that flow (no inbound UDP
 * forwarding), ICMP errors from the real side relayed to the virtual host.
 *
 * Not concurrent: one thread owns the Stack, its namespaces and their sockets.
 */

import * as dgram from 'node:dgram';
import * as dns from 'node:dns';
import * as net from 'node:net';
import { readFileSync } from 'node:fs';
import { systemClock, type Clock, type TimerHandle } from '../core/clock.js';
import type { Cleanup, L3Connector, L3Device, PacketHandler } from '../core/device.js';
import { Namespaces } from '../core/namespace.js';
import { ClosedError, PktError, intInRange } from '../errors.js';
import { IpAddr, IpPrefix, formatIPv4, formatIPv6 } from '../wire/addr.js';
import { be16, be32 } from '../wire/bytes.js';
import { checksum, transportChecksumV4, transportChecksumV6 } from '../wire/checksum.js';
import { Icmpv4Type, Icmpv4UnreachCode } from '../wire/icmpv4.js';
import { Icmpv6Type, Icmpv6UnreachCode } from '../wire/icmpv6.js';
import { IpProto } from '../wire/ipv4.js';
import { Ipv6View } from '../wire/ipv6.js';
import { WireStatus } from '../wire/status.js';
import type { HeldSyn } from '../vtcp/stack.js';
import { SlirpDrop, type ConnectFn, type SlirpCounters, type SlirpHost, type SlirpLimits } from './host.js';
import { PacketBuilder, UDP_MAX_PAYLOAD4, UDP_MAX_PAYLOAD6 } from './packets.js';
import { EgressPolicy, type EgressPolicyOptions } from './policy.js';
import { Space, UdpFlow, flowHash } from './space.js';
import { PortForward, type ForwardOptions } from './forward.js';
import { EchoForwarder, type SlirpIcmpOptions } from './icmp.js';

export { SlirpDrop } from './host.js';
export type { SlirpLimits } from './host.js';

const V4_TOTAL_LEN = 2;
const V4_FLAGS_FRAG = 6;
const V4_PROTO = 9;
const V4_SRC = 12;
const V4_DST = 16;
const V4_FRAG_MASK = 0x3fff;
const V6_SRC = 8;
const V6_DST = 24;
const IPV4_MIN_HEADER = 20;
const UDP_HEADER = 8;
const UDP_LEN = 4;
const UDP_CSUM = 6;
const ICMP_MIN = 8;
/** Where hostLoopback sends Echo to the Stack's own address. */
const LOOPBACK4 = new Uint8Array([127, 0, 0, 1]);
const LOOPBACK6 = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const DNS_PORT = 53;
/** The kinds of Destination Unreachable the Stack sends. */
const Unreach = { Host: 0, Port: 1, Admin: 2 } as const;
type Unreach = (typeof Unreach)[keyof typeof Unreach];

export interface SlirpOptions {
  /** The Stack's own (gateway) address and the virtual network, e.g. '10.0.0.1/24'. */
  addr: string;
  /** Its IPv6 address and prefix, e.g. 'fd00::1/64' (optional). */
  addr6?: string;
  /** A virtual resolver address (e.g. '10.0.0.3'): UDP and TCP port 53 to it go to the host's resolver. */
  dns?: string;
  /** Its IPv6 counterpart. */
  dns6?: string;
  /** Upstream resolvers ('127.0.0.1', '127.0.0.1:5353', '[::1]:53'); default: the host's (dns.getServers(), else /etc/resolv.conf). */
  dnsServers?: readonly string[];
  /** TCP, UDP and ICMP Echo to the Stack's own address reach the host's loopback (default false). */
  hostLoopback?: boolean;
  /** ICMP Echo forwarding (icmp.ts): limits, or `{ forward: false }` to answer own addresses only. */
  icmp?: SlirpIcmpOptions;
  /**
   * The virtual link's MTU (576-65535), which sets the MSS the Stack's TCP announces and sends.
   * Default: the attached device's `mtu` when it has a numeric one (WgDevice, vclient), else 1500.
   * A TUN at MTU 65520 (as slirp4netns runs) wants `mtu: 65520`: 64 KiB segments, not 1460 B.
   */
  mtu?: number;
  clock?: Clock;
  policy?: EgressPolicyOptions;
  limits?: Partial<SlirpLimits>;
  /** Most namespaces attached at once (default 4096). */
  maxNamespaces?: number;
  /** @internal The socket factory (tests: a dial that never completes). Default net.connect. */
  connect?: ConnectFn;
}

export interface SlirpStats extends SlirpCounters {
  namespaces: number;
  pendingDials: number;
  tcpFlows: number;
  udpFlowsOpen: number;
  /** Bytes held in the proxied flows' streams now. */
  buffered: number;
  forwards: number;
  /** ICMP echo sockets open now, and Echo Requests in flight through them. */
  echoSockets: number;
  echoInFlight: number;
  drops: Record<SlirpDrop, number>;
}

const DEFAULT_LIMITS: SlirpLimits = { maxFlows: 4096, tcpBuffer: 256 * 1024, streamBuffer: 64 * 1024, dialTimeoutMs: 10_000, udpIdleMs: 60_000 };

const DEFAULT_MTU = 1500;

/** An attached device's MTU when it says (WgDevice, vclient's Client, a Tun's `mtu`), else `fallback`. */
function deviceMtu(dev: L3Device, fallback: number): number {
  const m = (dev as { mtu?: unknown }).mtu;
  return typeof m === 'number' && Number.isInteger(m) && m >= 576 && m <= 65535 ? m : fallback;
}

function parseHostPort(s: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s);
  if (m !== null) return { host: m[1]!, port: Number(m[2]) };
  if (net.isIP(s) !== 0) return { host: s, port: DNS_PORT };
  const i = s.lastIndexOf(':');
  if (i > 0 && net.isIPv4(s.slice(0, i))) return { host: s.slice(0, i), port: intInRange('dns server port', Number(s.slice(i + 1)), 1, 65535) };
  throw new PktError('ERR_PKT_CONFIG', `slirp: dns server: expected an IP address with an optional port, got ${JSON.stringify(s)}`);
}

function hostResolvers(): string[] {
  let servers: string[] = [];
  try {
    servers = new dns.promises.Resolver().getServers();
  } catch {
    servers = [];
  }
  if (servers.length > 0) return servers;
  try {
    return readFileSync('/etc/resolv.conf', 'utf8').split('\n').map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1]).filter((x): x is string => x !== undefined);
  } catch {
    return [];
  }
}

function noop(): void {}

export class Stack implements L3Device, L3Connector, SlirpHost {
  readonly limits: SlirpLimits;
  /** The MTU of the Stack's own namespace, and of attached devices without an `mtu` of their own. */
  readonly mtu: number;
  private readonly mtuSet: boolean;
  readonly counters: SlirpCounters;
  readonly clock: Clock;
  readonly connect: ConnectFn;
  private prefix: IpPrefix;
  private readonly prefix6: IpPrefix | null;
  private own4: number;
  private readonly own6: Uint8Array | null;
  private readonly dns4: number;
  private readonly dns6: Uint8Array | null;
  private readonly upstream: { host: string; port: number } | null;
  private readonly hostLoopback: boolean;
  private readonly policy: EgressPolicy;
  private readonly drops: Record<SlirpDrop, number>;
  private readonly spaces: Namespaces<Space>;
  private readonly byDevice = new Map<L3Device, Space>();
  private readonly self: Space;
  private readonly forwards = new Set<PortForward>();
  private readonly build = new PacketBuilder();
  private readonly echo: EchoForwarder;
  private readonly ip6 = new Ipv6View();
  private handler: PacketHandler = noop;
  private sweepTimer: TimerHandle | null = null;
  private closed = false;
  private readonly seed = (Math.random() * 0x1_0000_0000) | 0;

  /**
   * @throws {PktTypeError} ERR_PKT_INVALID_ADDRESS for a malformed address or prefix;
   *   {PktRangeError} for a limit out of range; {PktError} ERR_PKT_CONFIG for a bad dns server.
   */
  constructor(opts: SlirpOptions) {
    this.prefix = IpPrefix.parse(opts.addr);
    if (this.prefix.family !== 4) throw new PktError('ERR_PKT_CONFIG', `slirp: addr must be IPv4, got ${opts.addr}`);
    this.own4 = this.prefix.addr.v4;
    this.prefix6 = opts.addr6 === undefined ? null : IpPrefix.parse(opts.addr6);
    this.own6 = this.prefix6 === null ? null : this.prefix6.addr.bytes;
    this.dns4 = opts.dns === undefined ? -1 : IpAddr.parse(opts.dns).v4;
    this.dns6 = opts.dns6 === undefined ? null : IpAddr.parse(opts.dns6).bytes;
    const servers = opts.dnsServers ?? (opts.dns !== undefined || opts.dns6 !== undefined ? hostResolvers() : []);
    this.upstream = servers.length > 0 ? parseHostPort(servers[0]!) : null;
    this.hostLoopback = opts.hostLoopback ?? false;
    this.policy = new EgressPolicy(opts.policy);
    const l = { ...DEFAULT_LIMITS, ...opts.limits };
    intInRange('limits.maxFlows', l.maxFlows, 1, 1 << 20);
    intInRange('limits.tcpBuffer', l.tcpBuffer, 1024, 1 << 30);
    intInRange('limits.streamBuffer', l.streamBuffer, 1, 1 << 30);
    intInRange('limits.dialTimeoutMs', l.dialTimeoutMs, 1, 3_600_000);
    intInRange('limits.udpIdleMs', l.udpIdleMs, 1, 86_400_000);
    this.limits = l;
    this.mtuSet = opts.mtu !== undefined;
    this.mtu = intInRange('mtu', opts.mtu ?? DEFAULT_MTU, 576, 65535);
    this.clock = opts.clock ?? systemClock;
    this.connect = opts.connect ?? ((o) => net.connect(o));
    this.counters = {
      dials: 0, dialsOk: 0, dialsRefused: 0, dialsFailed: 0, dialsTimedOut: 0, synRetransmits: 0, bytesToReal: 0, bytesFromReal: 0,
      resetsFromVirtual: 0, resetsFromReal: 0, udpFlows: 0, udpExpired: 0, datagramsOut: 0, datagramsIn: 0, echoReplies: 0, echoForwarded: 0, echoExpired: 0, unreachablesSent: 0,
    };
    this.drops = {} as Record<SlirpDrop, number>;
    for (const k of Object.values(SlirpDrop)) this.drops[k] = 0;
    this.echo = new EchoForwarder(this, opts.icmp);
    this.spaces = new Namespaces<Space>({ max: opts.maxNamespaces ?? 4096, name: 'slirp' });
    this.self = this.newSpace(0, (p) => this.handler(p), this.mtu);
  }

  private newSpace(id: number, out: PacketHandler, mtu: number): Space {
    const addrs = [this.prefix.addr.toString()];
    if (this.prefix6 !== null) addrs.push(this.prefix6.addr.toString());
    return new Space(id, this, out, this.clock, addrs, mtu);
  }

  // ------------------------------------------------------------------ L3Device

  get addr(): IpPrefix {
    return this.prefix;
  }

  /** Changes the IPv4 address (the virtual network's gateway). Existing flows keep theirs. */
  setAddr(addr: IpPrefix | string | null): void {
    if (addr === null) return;
    const p = IpPrefix.from(addr);
    if (p.family !== 4) throw new PktError('ERR_PKT_CONFIG', `slirp: addr must be IPv4, got ${p.addr}`);
    this.prefix = p;
    this.own4 = p.addr.v4;
    this.self.tcp.addAddr(p.addr);
    for (const ns of this.spaces) ns.state.tcp.addAddr(p.addr);
  }

  setHandler(h: PacketHandler): void {
    this.handler = h;
  }

  /** A packet from the virtual side (borrowed). Never throws for what it contains. */
  send(p: Uint8Array): void {
    this.input(this.self, p);
  }

  // ------------------------------------------------------------------ L3Connector

  /**
   * Attaches `dev` in a namespace of its own. The cleanup releases every socket of it.
   * @throws {ClosedError} after close(); {PktError} ERR_PKT_LIMIT past `maxNamespaces`.
   */
  connectL3(dev: L3Device): Cleanup {
    if (this.closed) throw new ClosedError('slirp stack');
    const ns = this.spaces.attach(
      dev,
      (id) => this.newSpace(id, (p) => dev.send(p), this.mtuSet ? this.mtu : deviceMtu(dev, this.mtu)),
      (s, p) => this.input(s, p),
      (s) => {
        this.byDevice.delete(dev);
        this.echo.release(s);
        s.close();
      },
    );
    this.byDevice.set(dev, ns.state);
    return ns.cleanup;
  }

  // ------------------------------------------------------------------ input

  private input(s: Space, p: Uint8Array): void {
    if (this.closed || s.closed) return void this.drops.closed++;
    const len = p.length;
    if (len < 1) return void this.drops.truncated++;
    const v = p[0]! >>> 4;
    if (v === 4) this.input4(s, p, len);
    else if (v === 6) this.input6(s, p, len);
    else this.drops.badVersion++;
  }

  private isBroadcast4(dst: number): boolean {
    if (dst === 0xffff_ffff || dst >>> 28 === 0xe) return true;
    const pre = this.prefix;
    return pre.bits < 31 && pre.containsV4(dst) && ((dst | ~pre.mask[0]!) >>> 0) === dst;
  }

  private input4(s: Space, p: Uint8Array, len: number): void {
    if (len < IPV4_MIN_HEADER) return void this.drops.truncated++;
    const hl = (p[0]! & 0x0f) << 2;
    const total = be16(p, V4_TOTAL_LEN);
    if (hl < IPV4_MIN_HEADER || total < hl) return void this.drops.badHeader++;
    if (total > len) return void this.drops.truncated++;
    if (checksum(p, 0, hl) !== 0) return void this.drops.badChecksum++;
    if ((be16(p, V4_FLAGS_FRAG) & V4_FRAG_MASK) !== 0) return void this.drops.fragment++;
    const dst = be32(p, V4_DST);
    if (this.isBroadcast4(dst)) return void this.drops.broadcast++;
    const proto = p[V4_PROTO]!;
    if (proto === IpProto.TCP) {
      s.inner.handler(total === len ? p : p.subarray(0, total));
    } else if (proto === IpProto.UDP) {
      this.udp4(s, p, hl, total, dst);
    } else if (proto === IpProto.ICMP) {
      if (total - hl < ICMP_MIN || p[hl] !== Icmpv4Type.Echo) return void this.drops.icmp++;
      if (checksum(p, hl, total - hl) !== 0) return void this.drops.badChecksum++;
      this.echo4(s, p, hl, total, dst);
    } else {
      this.drops.protocol++;
    }
  }

  private input6(s: Space, p: Uint8Array, len: number): void {
    const v = this.ip6.reset(p, 0, len);
    const st = v.check();
    if (st !== WireStatus.Ok) {
      if (st === WireStatus.Truncated) this.drops.truncated++;
      else this.drops.badHeader++;
      return;
    }
    if (v.isFragment) return void this.drops.fragment++;
    if (p[V6_DST] === 0xff) return void this.drops.broadcast++;
    const end = 40 + v.payloadLen;
    const off = v.upperOff;
    const proto = v.upperProtocol;
    if (proto === IpProto.TCP) {
      s.inner.handler(end === len ? p : p.subarray(0, end));
    } else if (proto === IpProto.UDP) {
      this.udp6(s, p, off, end);
    } else if (proto === IpProto.ICMPv6) {
      if (end - off < ICMP_MIN || p[off] !== Icmpv6Type.EchoRequest) return void this.drops.icmp++;
      if (transportChecksumV6(IpProto.ICMPv6, p, V6_SRC, V6_DST, p, off, end - off) !== 0) return void this.drops.badChecksum++;
      this.echo6(s, p, off, end);
    } else {
      this.drops.protocol++;
    }
  }

  // ------------------------------------------------------------------ ICMP echo

  /**
   * A checked Echo Request: the Stack's own and resolver addresses answer here (the own one,
   * with hostLoopback, through an ICMP socket to 127.0.0.1 when there is one); the rest goes
   * through the namespace's ICMP socket if the policy allows (icmp.ts), else admin-prohibited.
   */
  private echo4(s: Space, p: Uint8Array, hl: number, total: number, dst: number): void {
    if (dst === this.own4 || dst === this.dns4) {
      if (dst !== this.own4 || !this.hostLoopback || !this.echo.request4(s, p, hl, total, LOOPBACK4, 0)) {
        this.counters.echoReplies++;
        s.out(this.build.echoReply4(p, hl, total));
      }
      return;
    }
    if (!this.policy.allowsV4(dst)) {
      this.drops.policy++;
      return this.icmpError(s, p, total, 4, Unreach.Admin);
    }
    if (!this.echo.request4(s, p, hl, total, p, V4_DST)) this.drops.echoUnavailable++;
  }

  private echo6(s: Space, p: Uint8Array, off: number, end: number): void {
    const own = this.own6 !== null && sameAddr6(p, V6_DST, this.own6);
    if (own || (this.dns6 !== null && sameAddr6(p, V6_DST, this.dns6))) {
      if (!own || !this.hostLoopback || !this.echo.request6(s, p, off, end, LOOPBACK6, 0)) {
        this.counters.echoReplies++;
        s.out(this.build.echoReply6(p, off, end));
      }
      return;
    }
    if (!this.policy.allowsV6(p, V6_DST)) {
      this.drops.policy++;
      return this.icmpError(s, p, end, 6, Unreach.Admin);
    }
    if (!this.echo.request6(s, p, off, end, p, V6_DST)) this.drops.echoUnavailable++;
  }

  // ------------------------------------------------------------------ UDP

  private udp4(s: Space, p: Uint8Array, hl: number, total: number, dst: number): void {
    const segLen = total - hl;
    if (segLen < UDP_HEADER) return void this.drops.badUdp++;
    const ulen = be16(p, hl + UDP_LEN);
    if (ulen < UDP_HEADER || ulen > segLen) return void this.drops.badUdp++;
    if (be16(p, hl + UDP_CSUM) !== 0 && transportChecksumV4(IpProto.UDP, be32(p, V4_SRC), dst, p, hl, ulen) !== 0) return void this.drops.badChecksum++;
    const sport = be16(p, hl);
    const dport = be16(p, hl + 2);
    const key = flowHash(this.seed, p, V4_SRC, V4_DST, 4, sport, dport);
    let f = s.findUdp(key, p, V4_SRC, sport, V4_DST, dport);
    if (f === null) {
      const target = this.udpTarget(s, p, total, 4, dst === this.own4, dst === this.dns4, dport, () => this.policy.allowsV4(dst), () => formatIPv4(dst));
      if (target === null) return;
      f = this.newUdp(s, key, 4, p.slice(V4_SRC, V4_SRC + 4), sport, p.slice(V4_DST, V4_DST + 4), dport, target.host, target.port);
      if (f === null) return;
    }
    this.udpSend(f, p, hl + UDP_HEADER, ulen - UDP_HEADER);
  }

  private udp6(s: Space, p: Uint8Array, off: number, end: number): void {
    const segLen = end - off;
    if (segLen < UDP_HEADER) return void this.drops.badUdp++;
    const ulen = be16(p, off + UDP_LEN);
    if (ulen < UDP_HEADER || ulen > segLen) return void this.drops.badUdp++;
    // RFC 8200 §8.1: a zero UDP checksum is invalid over IPv6.
    if (transportChecksumV6(IpProto.UDP, p, V6_SRC, V6_DST, p, off, ulen) !== 0) return void this.drops.badChecksum++;
    const sport = be16(p, off);
    const dport = be16(p, off + 2);
    const key = flowHash(this.seed, p, V6_SRC, V6_DST, 16, sport, dport);
    let f = s.findUdp(key, p, V6_SRC, sport, V6_DST, dport);
    if (f === null) {
      const own = this.own6 !== null && sameAddr6(p, V6_DST, this.own6);
      const isDns = this.dns6 !== null && sameAddr6(p, V6_DST, this.dns6);
      const target = this.udpTarget(s, p, end, 6, own, isDns, dport, () => this.policy.allowsV6(p, V6_DST), () => formatIPv6(p, V6_DST));
      if (target === null) return;
      f = this.newUdp(s, key, 6, p.slice(V6_SRC, V6_SRC + 16), sport, p.slice(V6_DST, V6_DST + 16), dport, target.host, target.port);
      if (f === null) return;
    }
    this.udpSend(f, p, off + UDP_HEADER, ulen - UDP_HEADER);
  }

  /** Where a new UDP flow goes, or null (dropped or answered with ICMP, counted). First datagram of a flow only. */
  private udpTarget(s: Space, p: Uint8Array, total: number, family: 4 | 6, own: boolean, isDns: boolean, dport: number, allowed: () => boolean, text: () => string): { host: string; port: number } | null {
    if (isDns) {
      if (dport === DNS_PORT && this.upstream !== null) return this.upstream;
      this.drops.ownAddr++;
      this.icmpError(s, p, total, family, Unreach.Port);
      return null;
    }
    if (own) {
      if (this.hostLoopback) return { host: family === 4 ? '127.0.0.1' : '::1', port: dport };
      this.drops.ownAddr++;
      this.icmpError(s, p, total, family, Unreach.Port);
      return null;
    }
    if (!allowed()) {
      this.drops.policy++;
      this.icmpError(s, p, total, family, Unreach.Admin);
      return null;
    }
    if (s.flowCount >= this.limits.maxFlows) {
      this.drops.flowLimit++;
      return null;
    }
    return { host: text(), port: dport };
  }

  private newUdp(s: Space, key: number, family: 4 | 6, src: Uint8Array, sport: number, dst: Uint8Array, dport: number, host: string, port: number): UdpFlow | null {
    const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    const f = new UdpFlow(key, family, src, sport, dst, dport, host, port, sock, this.clock.now());
    sock.on('message', (msg: Buffer, rinfo: dgram.RemoteInfo) => this.udpReply(s, f, msg, rinfo));
    sock.on('error', () => {
      this.drops.sendFailed++;
      s.removeUdp(f);
    });
    s.addUdp(f);
    this.counters.udpFlows++;
    this.armSweep();
    return f;
  }

  private udpSend(f: UdpFlow, p: Uint8Array, off: number, len: number): void {
    f.lastActiveMs = this.clock.now();
    // dgram sends asynchronously and the packet is borrowed: one copy.
    const data = Buffer.allocUnsafe(len);
    data.set(p.subarray(off, off + len));
    this.counters.datagramsOut++;
    f.sock.send(data, f.realPort, f.realAddr, (err) => {
      if (err) this.drops.sendFailed++;
    });
  }

  /** A datagram from the real side: back to the virtual host as from the flow's destination. */
  private udpReply(s: Space, f: UdpFlow, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (f.closed || s.closed) return;
    // Endpoint-dependent filtering: only the flow's own peer may answer on it.
    if (rinfo.port !== f.realPort || rinfo.address !== f.realAddr) return;
    f.lastActiveMs = this.clock.now();
    this.counters.datagramsIn++;
    if (f.family === 4) {
      if (msg.length > UDP_MAX_PAYLOAD4) return void this.drops.badUdp++;
      s.out(this.build.udp4(be32(f.dst, 0), f.dport, be32(f.src, 0), f.sport, msg, 0, msg.length));
    } else {
      if (msg.length > UDP_MAX_PAYLOAD6) return void this.drops.badUdp++;
      s.out(this.build.udp6(f.dst, 0, f.dport, f.src, 0, f.sport, msg, 0, msg.length));
    }
  }

  private armSweep(): void {
    if (this.sweepTimer !== null || this.closed) return;
    this.sweepTimer = this.clock.setTimer(() => {
      this.sweepTimer = null;
      const now = this.clock.now();
      let left = this.self.udpCount;
      this.self.sweepUdp(now, this.limits.udpIdleMs);
      left = this.self.udpCount;
      for (const ns of this.spaces) {
        ns.state.sweepUdp(now, this.limits.udpIdleMs);
        left += ns.state.udpCount;
      }
      if (left > 0) this.armSweep();
    }, Math.max(1, Math.floor(this.limits.udpIdleMs / 2)));
  }

  // ------------------------------------------------------------------ SlirpHost

  /** Where a held SYN goes (see SlirpHost). */
  tcpTarget(s: Space, syn: HeldSyn): { host: string; port: number } | false | null {
    const port = syn.localPort;
    if (syn.family === 4) {
      const dst = be32(syn.local, 0);
      if (this.isBroadcast4(dst)) {
        this.drops.broadcast++;
        return null;
      }
      if (dst === this.dns4) {
        if (port === DNS_PORT && this.upstream !== null) return this.upstream;
        this.drops.ownAddr++;
        return false;
      }
      if (dst === this.own4) {
        if (this.hostLoopback) return { host: '127.0.0.1', port };
        this.drops.ownAddr++;
        return false;
      }
      if (!this.policy.allowsV4(dst)) {
        this.drops.policy++;
        this.icmpError(s, syn.packet, be16(syn.packet, V4_TOTAL_LEN), 4, Unreach.Admin);
        return null;
      }
      return { host: formatIPv4(dst), port };
    }
    const b = syn.local;
    if (this.dns6 !== null && sameAddr6(b, 0, this.dns6)) {
      if (port === DNS_PORT && this.upstream !== null) return this.upstream;
      this.drops.ownAddr++;
      return false;
    }
    if (this.own6 !== null && sameAddr6(b, 0, this.own6)) {
      if (this.hostLoopback) return { host: '::1', port };
      this.drops.ownAddr++;
      return false;
    }
    if (!this.policy.allowsV6(b, 0)) {
      this.drops.policy++;
      this.icmpError(s, syn.packet, 40 + be16(syn.packet, 4), 6, Unreach.Admin);
      return null;
    }
    return { host: formatIPv6(b, 0), port };
  }

  unreachable(s: Space, packet: Uint8Array, family: 4 | 6): void {
    const total = family === 4 ? be16(packet, V4_TOTAL_LEN) : 40 + be16(packet, 4);
    this.icmpError(s, packet, Math.min(total, packet.length), family, Unreach.Host);
  }

  drop(reason: SlirpDrop): void {
    this.drops[reason]++;
  }

  private icmpError(s: Space, p: Uint8Array, total: number, family: 4 | 6, kind: Unreach): void {
    if (s.closed) return;
    this.counters.unreachablesSent++;
    if (family === 4) {
      const code = kind === Unreach.Host ? Icmpv4UnreachCode.Host : kind === Unreach.Port ? Icmpv4UnreachCode.Port : Icmpv4UnreachCode.AdminProhibited;
      // A port error comes from the host that was asked; the others from the gateway.
      const from = kind === Unreach.Port ? be32(p, V4_DST) : this.own4;
      s.out(this.build.unreach4(p, total, code, from));
    } else {
      const code = kind === Unreach.Host ? Icmpv6UnreachCode.Address : kind === Unreach.Port ? Icmpv6UnreachCode.Port : Icmpv6UnreachCode.AdminProhibited;
      if (kind === Unreach.Port || this.own6 === null) s.out(this.build.unreach6(p, total, code, p, V6_DST));
      else s.out(this.build.unreach6(p, total, code, this.own6, 0));
    }
  }

  // ------------------------------------------------------------------ forwarding

  /**
   * Listens on a host port and connects each accepted socket to `virtualAddr`:`virtualPort`
   * through vtcp (from the Stack's own address), in the namespace of `namespace` (a device given
   * to connectL3) or the Stack's own. Resolves once listening.
   * @throws {ClosedError} after close(); {ConfigError} for a device not attached.
   */
  async forward(opts: ForwardOptions): Promise<PortForward> {
    if (this.closed) throw new ClosedError('slirp stack');
    const space = opts.namespace === undefined ? this.self : this.byDevice.get(opts.namespace);
    if (space === undefined) throw new PktError('ERR_PKT_CONFIG', 'slirp: forward: the namespace device is not attached to this stack');
    const fwd = new PortForward(opts, space, this, (x) => this.forwards.delete(x));
    this.forwards.add(fwd);
    try {
      await fwd.listen();
    } catch (err) {
      this.forwards.delete(fwd);
      throw err;
    }
    return fwd;
  }

  // ------------------------------------------------------------------ stats, close

  private allSpaces(): Space[] {
    const out = [this.self];
    for (const ns of this.spaces) out.push(ns.state);
    return out;
  }

  /** A snapshot of the counters. */
  stats(): SlirpStats {
    let pendingDials = 0;
    let tcpFlows = 0;
    let udpFlowsOpen = 0;
    let buffered = 0;
    for (const s of this.allSpaces()) {
      pendingDials += s.pendingCount;
      tcpFlows += s.proxies.size;
      udpFlowsOpen += s.udpCount;
      buffered += s.buffered;
    }
    return { ...this.counters, namespaces: this.spaces.size, pendingDials, tcpFlows, udpFlowsOpen, buffered, forwards: this.forwards.size, echoSockets: this.echo.sockets, echoInFlight: this.echo.inFlight, drops: { ...this.drops } };
  }

  /** Flows held by the namespace of `dev` (connectL3'd), or the Stack's own when omitted. */
  flowCount(dev?: L3Device): number {
    const s = dev === undefined ? this.self : this.byDevice.get(dev);
    return s === undefined ? 0 : s.flowCount;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Releases everything: every namespace's dials, TCP flows (reset both ways), UDP sockets,
   * the port forwards' listeners, and the timers. Resolves once the listeners are closed.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweepTimer !== null) this.clock.clearTimer(this.sweepTimer);
    this.sweepTimer = null;
    const fw = [...this.forwards].map((f) => f.close());
    this.spaces.closeAll();
    this.byDevice.clear();
    this.self.close();
    this.handler = noop;
    await Promise.all([...fw, this.echo.close()]);
  }
}

function sameAddr6(p: Uint8Array, off: number, a: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (p[off + i] !== a[i]) return false;
  return true;
}
