/**
 * `Stack`: a userspace NAT from a virtual IP network to the host's real sockets (slirp), as an
 * `L3Device` (packets from the virtual side go in through `send`, replies come out of the
 * handler) and an `L3Connector` (each device attached with `connectL3` gets a namespace of its
 * own: its own connection tables, so two peers may use the same addresses).
 *
 *   send(p) / dev handler ─► input: IPv4/IPv6 checks, broadcast filter
 *        ├─ TCP  ─► the namespace's vtcp TcpStack ─onSyn─► policy ─► async net.connect (space.ts)
 *        ├─ UDP  ─► flow table (src, sport, dst, dport) ─► a real socket per flow (udp.ts, udp-flow.ts)
 *        │          the virtual DNS address, port 53 ─► the upstream resolvers, failover (dns.ts)
 *        └─ ICMP ─► Echo to the Stack's own and resolver addresses answered here; to the rest,
 *                   policy ─► the namespace's ICMP echo socket (icmp.ts); other ICMP dropped
 *
 * What a virtual host sees: the Stack's address (`addr`) answers pings; with `hostLoopback` TCP,
 * UDP and pings to it reach the host's loopback (127.0.0.1 / ::1), as slirp4netns's 10.0.2.2; `dns`
 * (and `dns6`) is a resolver address forwarded to `dnsServers` (default: the host's). Every other destination is proxied through a
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
 * UDP flows use the addon's batched sockets when it is built (`udp: 'auto'`): recvmmsg and
 * sendmmsg through shared areas, nothing allocated per datagram; node:dgram otherwise, or with
 * `udp: 'dgram'`. DNS queries to the virtual resolver go to `dnsServers` in order with a timeout
 * per attempt (`dnsTimeoutMs`), the next server on a timeout, a timed-out server demoted for
 * `dnsDemoteMs`; replies are relayed only from the server asked, with the query's id and question.
 *
 * Not supported: IP fragments (dropped, counted), UDP from the real side before the virtual host
 * has sent on that flow (no inbound UDP forwarding), ICMP errors from the real side relayed to the
 * virtual host (a connected flow socket sees the port unreachable; it is counted natively, not
 * relayed), DNS over TCP failover (TCP port 53 goes to the first server not demoted).
 *
 * Not concurrent: one thread owns the Stack, its namespaces and their sockets.
 */

import * as dns from 'node:dns';
import * as net from 'node:net';
import { readFileSync } from 'node:fs';
import { systemClock, type Clock, type TimerHandle } from '../core/clock.js';
import type { Cleanup, L3Connector, L3Device, PacketHandler } from '../core/device.js';
import { Namespaces } from '../core/namespace.js';
import { ClosedError, PktError, intInRange } from '../errors.js';
import { IpAddr, IpPrefix, formatIPv4, formatIPv6 } from '../wire/addr.js';
import { be16, be32 } from '../wire/bytes.js';
import { checksum, transportChecksumV6 } from '../wire/checksum.js';
import { Icmpv4Type, Icmpv4UnreachCode } from '../wire/icmpv4.js';
import { Icmpv6Type, Icmpv6UnreachCode } from '../wire/icmpv6.js';
import { IpProto } from '../wire/ipv4.js';
import { Ipv6View } from '../wire/ipv6.js';
import { WireStatus } from '../wire/status.js';
import type { HeldSyn } from '../vtcp/stack.js';
import { SlirpDrop, type ConnectFn, type SlirpCounters, type SlirpLimits } from './host.js';
import { PacketBuilder } from './packets.js';
import { EgressPolicy, type EgressPolicyOptions } from './policy.js';
import { Space, type SlirpHost } from './space.js';
import { SlirpUdp, checkUdpMode, type UdpHost, type UdpMode } from './udp.js';
import { UdpTarget } from './udp-flow.js';
import { DnsForwarder, type DnsHost } from './dns.js';
import { PortForward, type ForwardOptions } from './forward.js';
import { EchoForwarder, type SlirpIcmpOptions } from './icmp.js';

export { SlirpDrop } from './host.js';
export type { SlirpLimits } from './host.js';

const V4_TOTAL_LEN = 2;
const V4_FLAGS_FRAG = 6;
const V4_PROTO = 9;
const V4_DST = 16;
const V4_FRAG_MASK = 0x3fff;
const V6_SRC = 8;
const V6_DST = 24;
const IPV4_MIN_HEADER = 20;
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
  /** DNS forwarding: the wait for an answer per attempt (default 2000). */
  dnsTimeoutMs?: number;
  /** Sends per query at most, across the servers (default: the number of servers, at least 2). */
  dnsAttempts?: number;
  /** Queries in flight at most (default 512); more are dropped, counted (`dnsPendingFull`). */
  dnsMaxPending?: number;
  /** How long a server that timed out is asked after the others (default 30000; 0: never demoted). */
  dnsDemoteMs?: number;
  /** UDP flows' sockets: 'auto' (default: the addon's batched sockets when built), 'batched', 'dgram'. */
  udp?: UdpMode;
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
  /** The UDP flows' sockets: the addon's batched ones or node:dgram. */
  udpIo: 'batched' | 'dgram';
  /** DNS queries in flight, and upstream servers demoted now. */
  dnsPending: number;
  dnsServersDemoted: number;
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

export class Stack implements L3Device, L3Connector, SlirpHost, UdpHost, DnsHost {
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
  private readonly dnsFwd: DnsForwarder | null;
  private readonly udp: SlirpUdp;
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
    const dnsOpts = { timeoutMs: opts.dnsTimeoutMs, attempts: opts.dnsAttempts, maxPending: opts.dnsMaxPending, demoteMs: opts.dnsDemoteMs };
    this.dnsFwd = servers.length > 0 ? new DnsForwarder(this, this.build, servers, dnsOpts) : null;
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
      dnsQueries: 0, dnsAnswers: 0, dnsRetries: 0, dnsServerTimeouts: 0, dnsFailed: 0,
    };
    this.drops = {} as Record<SlirpDrop, number>;
    for (const k of Object.values(SlirpDrop)) this.drops[k] = 0;
    this.echo = new EchoForwarder(this, opts.icmp);
    this.udp = new SlirpUdp(this, this.build, checkUdpMode(opts.udp), this.seed);
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
      this.udp.input4(s, p, hl, total);
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
      this.udp.input6(s, p, off, end);
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

  // ------------------------------------------------------------------ UDP (udp.ts, dns.ts)

  /** Where the first datagram of a new UDP 4-tuple goes (see UdpHost). Per flow, not per datagram. */
  udpTarget(s: Space, p: Uint8Array, family: 4 | 6, ipEnd: number, udpOff: number, ulen: number, t: UdpTarget): boolean {
    const dport = be16(p, udpOff + 2);
    let own: boolean;
    let isDns: boolean;
    if (family === 4) {
      const dst = be32(p, V4_DST);
      own = dst === this.own4;
      isDns = dst === this.dns4;
    } else {
      own = this.own6 !== null && sameAddr6(p, V6_DST, this.own6);
      isDns = this.dns6 !== null && sameAddr6(p, V6_DST, this.dns6);
    }
    if (isDns) {
      if (dport === DNS_PORT && this.dnsFwd !== null) this.dnsFwd.query(s, p, family, udpOff, ulen);
      else {
        this.drops.ownAddr++;
        this.icmpError(s, p, ipEnd, family, Unreach.Port);
      }
      return false;
    }
    if (own && !this.hostLoopback) {
      this.drops.ownAddr++;
      this.icmpError(s, p, ipEnd, family, Unreach.Port);
      return false;
    }
    if (!own && !(family === 4 ? this.policy.allowsV4(be32(p, V4_DST)) : this.policy.allowsV6(p, V6_DST))) {
      this.drops.policy++;
      this.icmpError(s, p, ipEnd, family, Unreach.Admin);
      return false;
    }
    if (s.flowCount >= this.limits.maxFlows) {
      this.drops.flowLimit++;
      return false;
    }
    t.family = family;
    t.port = dport;
    if (own) {
      // hostLoopback: the Stack's own address is the host's loopback.
      t.v4 = 0x7f00_0001;
      t.v6.fill(0);
      t.v6[15] = 1;
    } else if (family === 4) {
      t.v4 = be32(p, V4_DST) | 0;
    } else {
      for (let i = 0; i < 16; i++) t.v6[i] = p[V6_DST + i]!;
    }
    this.armSweep();
    return true;
  }

  private armSweep(): void {
    if (this.sweepTimer !== null || this.closed) return;
    this.sweepTimer = this.clock.setTimer(() => {
      this.sweepTimer = null;
      const now = this.clock.now();
      const idle = this.limits.udpIdleMs;
      this.counters.udpExpired += this.self.udp.sweep(now, idle);
      let left = this.self.udpCount;
      for (const ns of this.spaces) {
        this.counters.udpExpired += ns.state.udp.sweep(now, idle);
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
        if (port === DNS_PORT && this.dnsFwd !== null) return this.dnsFwd.tcpServer()!;
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
      if (port === DNS_PORT && this.dnsFwd !== null) return this.dnsFwd.tcpServer()!;
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
    return { ...this.counters, namespaces: this.spaces.size, pendingDials, tcpFlows, udpFlowsOpen, buffered, forwards: this.forwards.size, udpIo: this.udp.io.kind, dnsPending: this.dnsFwd?.pending ?? 0, dnsServersDemoted: this.dnsFwd?.demoted ?? 0, echoSockets: this.echo.sockets, echoInFlight: this.echo.inFlight, drops: { ...this.drops } };
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
   * Releases everything: every namespace's dials, TCP flows (reset both ways), UDP sockets and
   * their receive loop, DNS queries in flight, the port forwards' listeners, and the timers. Resolves once the listeners are closed.
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
    this.dnsFwd?.close();
    this.handler = noop;
    await this.udp.shutdown();
    await Promise.all([...fw, this.echo.close()]);
  }
}

function sameAddr6(p: Uint8Array, off: number, a: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (p[off + i] !== a[i]) return false;
  return true;
}
