/**
 * `TcpStack`: vtcp over an `L3Device` (a Tun, a PipeL3, an L3Hub port, a ring link end). It
 * parses the IPv4 and IPv6 packets the device produces, verifies their checksums, hands each
 * TCP segment to the connection its 4-tuple names, SYNs to the `Listener` of their port, and
 * answers segments for nothing with a RST (RFC 9293 §3.10.7.1); what the Tcbs send goes back to
 * the device with an IP header and the pseudo-header checksum (stack-io.ts).
 *
 *   dev handler ─► input: IPv4/IPv6 check, checksums, ours? ─► ConnTable (4-tuple) ─► Tcb.input
 *                                                           └► Listener (port) ─► accept ─► Conn
 *                                                           └► RST (never for a RST)
 *   Tcb ─► ConnSink.emit ─► OutQueue ─flush─► dev.send
 *
 * Files: stack-core.ts (the base class: packet input, demultiplexing, flushing, counters),
 * stack-io.ts (connection table, output queue, the IP-building sink), stack-server.ts (what
 * `listen` returns), this file (options and the API: listen, dial, close, stats).
 *
 * Orientation: the stack sits where a Tun's reader sits: `dev.setHandler` receives the packets
 * the device produces (what the kernel sends into a Tun; what `PipeL3.inject` produces), and
 * `dev.send` delivers ours to it (to the kernel; to `PipeL3.onSend`). Two stacks in one thread
 * are joined by handing each pipe's `onSend` to the other's `inject` (`joinPipes` in the tests).
 *
 * Flushing: packets leave in `flush()`, which runs at the end of each input packet and of each
 * Tcb timer (the Tcbs get a clock that flushes after their callbacks), and in a microtask after a
 * user call (write, end, dial, ...). `flush()` may also be called by hand (benchmarks).
 *
 * Addresses: the stack answers for `addrs` (default: the device's own address, right for a
 * PipeL3 or a hub port that stands for this host; a Tun's address is the kernel's side, so pass
 * the stack's addresses explicitly), or for every destination with `acceptAnyAddr` (slirp-style).
 *
 * Not supported: IP fragments (dropped, counted), IP options on what we send, ICMP (errors are
 * not turned into connection errors; echo is not answered), path MTU discovery, listening on one
 * address only (a listener takes its port on every local address), SO_REUSEADDR-style sharing of
 * a port between listeners.
 *
 * Not concurrent: a stack, its device and its connections live on one thread.
 */

import { systemClock, type Clock, type TimerHandle } from '../core/clock.js';
import type { L3Device } from '../core/device.js';
import { ClosedError, ConfigError, PktError, PktTypeError, intInRange } from '../errors.js';
import { IpAddr, type IpPrefix } from '../wire/addr.js';
import { IPV6_HEADER_LEN } from '../wire/ipv6.js';
import { Conn, ConnError, type ConnOptions } from './conn.js';
import { TcpState } from './contract.js';
import type { TcbOptions, TcbStats } from './contract.js';
import type { TcpFields } from '../wire/tcp.js';
import { IsnGenerator } from './isn.js';
import { Listener, type ListenerStats } from './listener.js';
import { SynCookies } from './syn-cookies.js';
import { Tcb, type TcbHooks } from './tcb.js';
import { StackCore, TCP_MIN_HEADER } from './stack-core.js';
import { ConnEntry, ConnSink, IPV4_HEADER_LEN, STACK_DEFAULT_TTL, type StackDrop } from './stack-io.js';

/** The stack's default minimum RTO (Linux's TCP_RTO_MIN), over the Tcb's RFC 6298 default of 1 s. */
export const STACK_RTO_MIN_MS = 200;
import { TcpServer, type ListenOptions } from './stack-server.js';

export { StackDrop } from './stack-io.js';
export { TcpServer, type ListenOptions } from './stack-server.js';

/** Ephemeral ports (RFC 6335 §6: 49152-65535). */
export const EPHEMERAL_PORT_MIN = 49152;
export const EPHEMERAL_PORT_MAX = 65535;

export interface TcpStackOptions {
  clock?: Clock;
  /** Uniform in [0, 1): ephemeral port choice, the Tcbs' timestamp offsets. */
  random?: () => number;
  /** Addresses this stack answers for (default: the device's address). */
  addrs?: readonly (string | IpAddr | IpPrefix)[];
  /** Terminate TCP for every destination address (slirp-style; default false). */
  acceptAnyAddr?: boolean;
  /** Largest IP packet we send (default 1500): sets the default MSS (MTU - 40, or - 60 for IPv6). */
  mtu?: number;
  /** Options of every connection (the clock and random are the stack's; `rtoMinMs` defaults to 200 here). */
  tcb?: Omit<TcbOptions, 'clock' | 'random'>;
  /** Options of every Conn (stream). */
  conn?: ConnOptions;
  /** Connections at most in the table (default 16384; dialled and accepted ones). */
  maxConnections?: number;
  /** Packets queued for the device at most (default 8192); more are dropped. */
  maxQueuedPackets?: number;
  /** Ephemeral port range for dial (default 49152-65535). */
  ephemeralPorts?: readonly [number, number];
  /** TTL / hop limit of what we send (default 64). */
  ttl?: number;
  /**
   * Deferred accept (slirp): called for a pure SYN that no connection or listener owns. Return
   * true to hold it (no answer, nothing kept: copy `syn.packet` to decide later with `acceptSyn`
   * or `refuseSyn`; a retransmitted SYN calls this again), false for the usual RST.
   */
  onSyn?: (syn: HeldSyn) => boolean;
}

/** A SYN offered to `onSyn`. Every array is borrowed: valid only during the call. */
export interface HeldSyn {
  /** The whole IP packet (IPv4 or IPv6 header at 0). */
  packet: Uint8Array;
  family: 4 | 6;
  /** Destination (ours) and source address: 4 or 16 bytes. */
  local: Uint8Array;
  remote: Uint8Array;
  localPort: number;
  remotePort: number;
}

export interface DialOptions {
  /** The local address to use (default: the stack's first address of the family). */
  localAddr?: string | IpAddr;
  /** A fixed local port (default: an ephemeral one). */
  localPort?: number;
  /** Per-connection Tcb options over the stack's. */
  tcb?: Omit<TcbOptions, 'clock' | 'random'>;
  /** Fail with ETIMEDOUT when not connected after this many ms (default: the SYN retries' own limit). */
  timeoutMs?: number;
}

export interface TcpStackStats {
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  /** RSTs sent for segments that belong to nothing (§3.10.7.1). */
  resetsSent: number;
  connections: number;
  listeners: number;
  /** Most packets waiting in the output queue at once. */
  queueHighWater: number;
  drops: Record<StackDrop, number>;
  /** The live connections' Tcb counters, summed (drops by reason too). */
  tcb: TcbStats;
  listenersStats: Record<number, ListenerStats>;
}


export class TcpStack extends StackCore {
  private readonly tcbOpts: Omit<TcbOptions, 'clock' | 'random'>;
  private readonly connOpts: ConnOptions;
  private readonly isn: IsnGenerator;
  private readonly cookies: SynCookies;
  private readonly portMin: number;
  private readonly portMax: number;
  /** Local ports taken by dialled connections (a count per port). */
  private readonly portUse: Uint16Array;
  private portsInUse = 0;
  private readonly unwatch: (() => void) | null;
  private readonly explicitAddrs: boolean;
  private readonly onSyn: ((syn: HeldSyn) => boolean) | null;
  /** While acceptSyn/refuseSyn re-inputs a held SYN: 1 accept, 2 refuse (0 otherwise). */
  private admit = 0;
  private admitted: Conn | null = null;

  /**
   * Attaches to `dev` (installs itself as its handler).
   * @throws {PktTypeError} for a malformed address; {PktRangeError} for an option out of range.
   */
  constructor(dev: L3Device, opts: TcpStackOptions = {}) {
    super(dev, {
      clock: opts.clock ?? systemClock,
      random: opts.random ?? Math.random,
      mtu: opts.mtu ?? 1500,
      ttl: opts.ttl ?? STACK_DEFAULT_TTL,
      acceptAnyAddr: opts.acceptAnyAddr ?? false,
      maxQueuedPackets: opts.maxQueuedPackets ?? 8192,
      maxConnections: opts.maxConnections ?? 16384,
    });
    this.tcbOpts = opts.tcb ?? {};
    this.connOpts = opts.conn ?? {};
    this.isn = new IsnGenerator({ clock: this.clock });
    this.cookies = new SynCookies({ clock: this.clock });
    const [lo, hi] = opts.ephemeralPorts ?? [EPHEMERAL_PORT_MIN, EPHEMERAL_PORT_MAX];
    this.portMin = intInRange('ephemeralPorts[0]', lo, 1, 65535);
    this.portMax = intInRange('ephemeralPorts[1]', hi, this.portMin, 65535);
    this.portUse = new Uint16Array(65536);
    this.explicitAddrs = opts.addrs !== undefined;
    this.onSyn = opts.onSyn ?? null;
    if (opts.addrs !== undefined) {
      for (const a of opts.addrs) this.addAddr(a);
      this.unwatch = null;
    } else {
      this.fromDevAddr(dev.addr);
      this.unwatch = typeof dev.watchAddr === 'function' ? dev.watchAddr((p) => this.fromDevAddr(p)) : null;
    }
    dev.setHandler(this.onPacket);
  }

  private fromDevAddr(p: IpPrefix | null): void {
    if (this.explicitAddrs) return;
    this.local4 = [];
    this.local6 = [];
    if (p !== null) this.addAddr(p.addr);
  }


  private tcbOptions(family: 4 | 6, extra?: Omit<TcbOptions, 'clock' | 'random'>): TcbOptions {
    const o: TcbOptions = { ...this.tcbOpts, ...extra, clock: this.tcbClock, random: this.random };
    if (o.mss === undefined) o.mss = this.mtu - (family === 4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN) - TCP_MIN_HEADER;
    // RFC 6298 rounds the minimum RTO up to 1 s; a stack talking to real hosts uses Linux's 200 ms,
    // or one lost segment stalls a LAN transfer for a second (the kernel-interop loss test saw it).
    if (o.rtoMinMs === undefined) o.rtoMinMs = STACK_RTO_MIN_MS;
    return o;
  }

  /**
   * Listens on `port` (IPv4 and IPv6, every local address). Connections come as 'connection'
   * events of the returned server, or from `accept()` / `for await`.
   * @throws {ConfigError} ERR_PKT_CONFIG when the port is taken; {ClosedError} after close().
   */
  listen(port: number, opts: ListenOptions = {}): TcpServer {
    if (this.closed) throw new ClosedError('vtcp stack');
    intInRange('port', port, 1, 65535);
    if (this.listeners.has(port)) throw new ConfigError(`vtcp: port ${port} is already listening`);
    const server = new TcpServer(port, opts.acceptQueue ?? 128, () => this.unlisten(port));
    const make = (family: 4 | 6): Listener => {
      const lis = new Listener({
        port,
        clock: this.tcbClock,
        tcb: this.tcbOptions(family, opts.tcb),
        backlog: opts.backlog,
        acceptQueue: opts.acceptQueue,
        synCookies: opts.synCookies,
        isn: this.isn,
        cookies: this.cookies,
        newSink: (local, remote) => new ConnSink(this).setAddrs(local, remote),
      });
      lis.onConnection = () => this.accepted(lis, server);
      return lis;
    };
    this.listeners.set(port, { server, v4: make(4), v6: make(6) });
    return server;
  }

  private unlisten(port: number): void {
    const pl = this.listeners.get(port);
    if (pl === undefined) return;
    this.listeners.delete(port);
    pl.v4.close();
    pl.v6.close();
  }

  /** The listener completed a handshake: take the connection into the table, as a Conn. */
  private accepted(lis: Listener, server: TcpServer): void {
    for (let a = lis.accept(); a !== null; a = lis.accept()) {
      const sink = a.tcb.sink as ConnSink;
      const e = new ConnEntry(sink, a.tcb, lis.port, a.remotePort);
      if (!this.table.insert(e)) {
        this.drops.tableFull++;
        a.tcb.abort();
        continue;
      }
      const conn = this.wrap(e);
      if (!server.offer(conn)) conn.destroy();
    }
  }

  /** Makes the Conn of an entry and hooks its end to the table. */
  private wrap(e: ConnEntry): Conn {
    (e.tcb.events as TcbHooks).onFreed = () => this.release(e); // Conn keeps it when it takes the hooks
    const conn = new Conn(e.tcb, this.connOpts);
    e.conn = conn;
    const sink = e.sink;
    conn.localAddress = IpAddr.fromBytes(sink.localBytes()).toString();
    conn.remoteAddress = IpAddr.fromBytes(sink.remoteBytes()).toString();
    conn.localPort = e.localPort;
    conn.remotePort = e.remotePort;
    return conn;
  }

  /** The Tcb is CLOSED for good (after TIME-WAIT too): its 4-tuple and port are free again. */
  private release(e: ConnEntry): void {
    this.table.remove(e);
    if (e.ephemeral) {
      e.ephemeral = false;
      this.portUse[e.localPort]! -= 1;
      this.portsInUse--;
    }
  }

  private allocPort(): number {
    const span = this.portMax - this.portMin + 1;
    let p = this.portMin + Math.floor(this.random() * span);
    for (let i = 0; i < span; i++) {
      if (this.portUse[p] === 0 && !this.listeners.has(p)) return p;
      p = p === this.portMax ? this.portMin : p + 1;
    }
    return -1;
  }

  /**
   * Active open to `remoteAddr`:`remotePort`; resolves with the Conn once established.
   * @throws {PktTypeError} for a malformed address; {ConfigError} when no local address of the
   *   family exists, no ephemeral port is free, the table is full or the 4-tuple is taken;
   *   rejects with a ConnError (ECONNREFUSED, ETIMEDOUT, ...) when the connection fails.
   */
  dial(remoteAddr: string | IpAddr, remotePort: number, opts: DialOptions = {}): Promise<Conn> {
    try {
      const conn = this.dialConn(remoteAddr, remotePort, opts);
      return new Promise<Conn>((resolve, reject) => {
        let timer: TimerHandle | null = null;
        const done = (err: Error | null): void => {
          conn.off('connect', onConnect);
          conn.off('error', onError);
          conn.off('close', onClose);
          if (timer !== null) this.clock.clearTimer(timer);
          if (err === null) resolve(conn);
          else reject(err);
        };
        const onConnect = (): void => done(null);
        const onError = (err: Error): void => done(err);
        const onClose = (): void => done(new ConnError('ECONNABORTED'));
        conn.once('connect', onConnect);
        conn.once('error', onError);
        conn.once('close', onClose);
        if (opts.timeoutMs !== undefined) {
          timer = this.clock.setTimer(() => {
            timer = null;
            done(new ConnError('ETIMEDOUT'));
            conn.destroy();
          }, opts.timeoutMs);
        }
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** As `dial`, returning the Conn at once (it emits 'connect' when established). */
  dialConn(remoteAddr: string | IpAddr, remotePort: number, opts: DialOptions = {}): Conn {
    if (this.closed) throw new ClosedError('vtcp stack');
    const ra = IpAddr.from(remoteAddr);
    intInRange('remotePort', remotePort, 1, 65535);
    let la: IpAddr;
    if (opts.localAddr !== undefined) {
      la = IpAddr.from(opts.localAddr);
      if (la.family !== ra.family) throw new PktTypeError(`vtcp: local address ${la} and remote address ${ra} are of different families`);
    } else if (ra.family === 4) {
      if (this.local4.length === 0) throw new ConfigError(`vtcp: no local IPv4 address to dial ${ra} from`);
      la = IpAddr.fromV4(this.local4[0]!);
    } else {
      if (this.local6.length === 0) throw new ConfigError(`vtcp: no local IPv6 address to dial ${ra} from`);
      la = IpAddr.fromBytes(this.local6[0]!);
    }
    let lport: number;
    const ephemeral = opts.localPort === undefined;
    if (ephemeral) {
      lport = this.allocPort();
      if (lport < 0) throw new ConfigError(`vtcp: no free ephemeral port in ${this.portMin}-${this.portMax}`);
    } else {
      lport = intInRange('localPort', opts.localPort!, 1, 65535);
    }
    const sink = new ConnSink(this).setAddrs(la.bytes, ra.bytes);
    const tcb = new Tcb(sink, this.tcbOptions(ra.family, opts.tcb), {});
    const e = new ConnEntry(sink, tcb, lport, remotePort);
    if (!this.table.insert(e)) {
      if (this.table.size >= this.table.limit) throw new PktError('ERR_PKT_LIMIT', `vtcp: connection table full (${this.table.limit} connections)`);
      throw new ConfigError(`vtcp: ${la}:${lport} -> ${ra}:${remotePort} is in use`);
    }
    if (ephemeral) {
      e.ephemeral = true;
      this.portUse[lport]! += 1;
      this.portsInUse++;
    }
    const conn = this.wrap(e);
    tcb.connect(lport, remotePort, this.isn.next(la.bytes, ra.bytes, lport, remotePort));
    return conn;
  }

  /**
   * Completes the handshake of a SYN held by `onSyn`: `packet` is the stored copy (an IP packet).
   * Returns its Conn, in SYN-RECEIVED (it emits 'connect' when the peer's ACK comes), or null
   * when the packet is not a valid pure SYN for a free 4-tuple or the table is full. The packet
   * is counted again in `packetsIn`.
   */
  acceptSyn(packet: Uint8Array): Conn | null {
    if (this.closed) return null;
    this.admit = 1;
    this.admitted = null;
    try {
      this.input(packet);
    } finally {
      this.admit = 0;
    }
    const c = this.admitted;
    this.admitted = null;
    return c;
  }

  /** Answers a SYN held by `onSyn` with the RST of a closed port (RFC 9293 §3.10.7.1). */
  refuseSyn(packet: Uint8Array): void {
    if (this.closed) return;
    this.admit = 2;
    try {
      this.input(packet);
    } finally {
      this.admit = 0;
    }
  }

  protected override synGate(f: TcpFields, p: Uint8Array, payOff: number, payLen: number, l: Uint8Array, r: Uint8Array, family: 4 | 6): boolean {
    if (this.admit === 2) return false;
    if (this.admit === 1) {
      const sink = new ConnSink(this).setAddrs(l, r);
      const tcb = new Tcb(sink, this.tcbOptions(family), {});
      const e = new ConnEntry(sink, tcb, f.dstPort, f.srcPort);
      if (!this.table.insert(e)) {
        this.drops.tableFull++;
        return true;
      }
      const conn = this.wrap(e);
      tcb.acceptSyn(f, p, payOff, payLen, this.isn.next(l, r, f.dstPort, f.srcPort));
      this.admitted = conn;
      return true;
    }
    const cb = this.onSyn;
    if (cb === null) return false;
    return cb({ packet: p, family, local: l, remote: r, localPort: f.dstPort, remotePort: f.srcPort });
  }

  /** Ephemeral ports held now (connections dialled and not yet freed, TIME-WAIT included). */
  get ephemeralPortsInUse(): number {
    return this.portsInUse;
  }

  /** Connections in the table (TIME-WAIT included; half-open ones are the listeners'). */
  get connectionCount(): number {
    return this.table.size;
  }

  /**
   * Aborts every connection (RST to the peers of synchronized ones), closes every listener,
   * sends what is queued, clears every timer, and detaches from the device (which stays open:
   * it is the caller's). Idempotent.
   */
  close(): void {
    if (this.closed) return;
    for (const port of [...this.listeners.keys()]) this.listeners.get(port)!.server.close();
    this.enter();
    try {
      for (const e of this.table.entries()) {
        // Resets every connection, orderly closing ones included (a Conn destroyed after its
        // FIN leaves its Tcb to finish on its own, which a closed stack cannot let it do).
        if (e.conn !== null && !e.conn.destroyed) e.conn.destroy();
        if (e.tcb.state !== TcpState.Closed) e.tcb.abort();
        this.release(e);
      }
    } finally {
      this.leave();
    }
    this.flush();
    this.closed = true;
    this.queue.clear();
    this.unwatch?.();
    this.dev.setHandler(noop);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** A snapshot of the counters. */
  stats(): TcpStackStats {
    const tcb: TcbStats = { segmentsIn: 0, segmentsOut: 0, bytesIn: 0, bytesOut: 0, retransmits: 0, fastRetransmits: 0, rtoTimeouts: 0, dupAcks: 0, challengeAcks: 0, outOfOrder: 0, drops: {} };
    for (const e of this.table.entries()) {
      const s = e.tcb.stats();
      tcb.segmentsIn += s.segmentsIn;
      tcb.segmentsOut += s.segmentsOut;
      tcb.bytesIn += s.bytesIn;
      tcb.bytesOut += s.bytesOut;
      tcb.retransmits += s.retransmits;
      tcb.fastRetransmits += s.fastRetransmits;
      tcb.rtoTimeouts += s.rtoTimeouts;
      tcb.dupAcks += s.dupAcks;
      tcb.challengeAcks += s.challengeAcks;
      tcb.outOfOrder += s.outOfOrder;
      for (const [k, v] of Object.entries(s.drops)) tcb.drops[k] = (tcb.drops[k] ?? 0) + v;
    }
    const listenersStats: Record<number, ListenerStats> = {};
    for (const [port, pl] of this.listeners) {
      const a = pl.v4.stats;
      const b = pl.v6.stats;
      const sum = { ...a };
      for (const k of Object.keys(sum) as (keyof ListenerStats)[]) sum[k] += b[k];
      listenersStats[port] = sum;
    }
    return {
      packetsIn: this.packetsIn,
      packetsOut: this.packetsOut,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      resetsSent: this.resetsSent,
      connections: this.table.size,
      listeners: this.listeners.size,
      queueHighWater: this.queue.highWater,
      drops: { ...this.drops },
      tcb,
      listenersStats,
    };
  }
}

function noop(): void {}
