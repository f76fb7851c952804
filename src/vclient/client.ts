/**
 * `Client` (pktkit/vclient): a virtual host on an L3 link. It is an `L3Device`: the network
 * hands it packets with `send`, and the packets it makes go to its handler, so it plugs into an
 * L3Hub, a pipe, an L2Adapter (whose DHCP lease sets its address), or another Client.
 *
 *   network ─ client.send(p) ─► IPv4/IPv6 check, for us? ─┬─ TCP ──► TcpStack (through StackPort)
 *                                                          ├─ UDP ──► UdpSocket of the port
 *                                                          └─ ICMP echo request ─► echo reply ─┐
 *   network ◄─ handler(p) ◄──── TcpStack output, UDP sends ◄──────────────────────────────────┘
 *
 * A TcpStack sits on the handler side of its device (as on a Tun). The Client is the device side,
 * so it runs its stack on `StackPort`, a small inner device that inverts the direction: the
 * stack's `dev.send` is the Client's output, and the Client's `send` feeds the stack's handler.
 * The stack answers for every address (`acceptAnyAddr`) and the Client filters destinations
 * itself, so that the addresses can change (DHCP) under a running stack; dials name their local
 * address explicitly.
 *
 * Addresses: one IPv4 prefix (`addr`, what `setAddr` sets: an L2Adapter's DHCP lease) and one
 * IPv6 prefix (`addr6`, or `setAddr` with an IPv6 prefix). `addr` reports the IPv4 prefix when
 * there is one, else the IPv6 one (the Go vclient reports IPv6 first; here the L2Adapter's lease
 * undo compares `addr` with the IPv4 lease). The gateways are kept for display: routing is the
 * L2Adapter's or the hub's job.
 *
 * Files: client-core.ts (the packet side: L3Device members, demultiplexing, UDP and ICMP output,
 * counters), this file (the API: TCP, UDP sockets, DNS, HTTP, close, stats). Bad packets are
 * dropped and counted by reason (`stats().drops`), never thrown.
 *
 * Not supported: IP fragments (dropped, counted), IP options on what we send, ICMP errors as
 * connection errors (nor Port Unreachable as a UDP socket error), NDP (put the Client behind an
 * L2Adapter for an Ethernet link), broadcast/multicast UDP sends, an IPv4 destination turned into
 * ::ffff:a.b.c.d on an IPv6-only Client (the Go vclient does, for NAT64). Not concurrent: a Client
 * lives on one thread.
 */

import type { Clock, TimerHandle } from '../core/clock.js';
import { ClosedError, ConfigError, PktTypeError, intInRange } from '../errors.js';
import { IpAddr, type IpPrefix } from '../wire/addr.js';
import { ConnError, type Conn } from '../vtcp/conn.js';
import { TcpStack, type ListenOptions, type TcpServer, type TcpStackOptions, type TcpStackStats } from '../vtcp/stack.js';
import type { Agent } from 'undici';
import { ClientCore, ClientDrop, noop } from './client-core.js';
import { Resolver, parseLiteral, type ResolverOptions, type ResolverStats } from './dns.js';
import { createDispatcher, createFetch, type VirtualFetch } from './http.js';
import { gracefulDestroy, installSocketShape, type VConn } from './socket-shape.js';
import { UdpSocket, type RemoteInfo, type UdpHost, type UdpSocketOptions } from './udp.js';

export { ClientDrop } from './client-core.js';

const EPHEMERAL_MIN = 49152;
const EPHEMERAL_SPAN = 65536 - EPHEMERAL_MIN;
/** RFC 6056 §3.3.4's table of counters (its example uses 10 bits; fewer suffice for one host). */
const PORT_TABLE_SIZE = 256;
/** Ports tried before falling back to the stack's choice. */
const PORT_TRIES = 64;
const FNV_PRIME = 0x0100_0193;

export interface ClientOptions {
  /** IPv4 address and prefix (default none: set later with setAddr, e.g. by DHCP). */
  addr?: string | IpPrefix | null;
  /** IPv6 address and prefix. */
  addr6?: string | IpPrefix | null;
  gateway?: string | null;
  gateway6?: string | null;
  /** DNS servers (default none). */
  dns?: readonly string[];
  clock?: Clock;
  /** Uniform in [0, 1): ports, DNS ids, the stack's choices. */
  random?: () => number;
  /** Largest IP packet sent (default 1500). */
  mtu?: number;
  /** The TCP stack's options. */
  tcp?: Omit<TcpStackOptions, 'clock' | 'random' | 'addrs' | 'acceptAnyAddr' | 'mtu'>;
  resolver?: ResolverOptions;
  /** UDP sockets at most (default 1024). */
  maxUdpSockets?: number;
  /**
   * Keep the Node event loop alive while the Client has open connections, listeners or UDP
   * sockets, as net and dgram sockets do (default: true with the system clock, false with an
   * injected one). Without it a process awaiting a virtual fetch may simply exit: everything
   * else on a virtual network (timers included) is unref'd.
   */
  ref?: boolean;
}

export interface ClientDialOptions {
  signal?: AbortSignal;
  /** Per address tried: fail with ETIMEDOUT when not connected after this many ms. */
  timeoutMs?: number;
}

export interface ClientStats {
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  echoReplies: number;
  /** ICMP Port Unreachables sent for datagrams to closed ports. */
  unreachSent: number;
  udpIn: number;
  udpOut: number;
  udpSockets: number;
  drops: Record<ClientDrop, number>;
  tcp: TcpStackStats;
  dns: ResolverStats;
}

export class Client extends ClientCore {
  readonly resolver: Resolver;
  private readonly stack: TcpStack;
  private agent: Agent | null = null;
  private closing = false;
  private readonly destroyFn = gracefulDestroy(() => this.closing);
  private fetchFn: VirtualFetch | null = null;
  private readonly listenPorts = new Set<number>();
  private readonly portTable = new Uint32Array(PORT_TABLE_SIZE);
  private readonly portSecret: number;

  private readonly udpHost: UdpHost;

  /**
   * @throws {PktTypeError} for a malformed address; {PktRangeError} for an option out of range.
   */
  constructor(opts: ClientOptions = {}) {
    super(opts);
    installSocketShape();
    this.portSecret = Math.floor(this.random() * 0x1_0000_0000) >>> 0;
    this.stack = new TcpStack(this.port, { ...opts.tcp, clock: this.clock, random: this.random, mtu: this.mtu, addrs: [], acceptAnyAddr: true });
    this.udpHost = {
      bindUdp: (s, p) => this.bindUdp(s, p),
      unbindUdp: (p) => this.unbindUdp(p),
      sendUdp: (sp, dst, dp, data) => this.sendUdp(sp, dst, dp, data),
      resolveHost: async (h, fam) => IpAddr.parse((await this.resolver.lookup(h, { family: fam })).address),
    };
    this.resolver = new Resolver(
      { clock: this.clock, random: this.random, newUdpSocket: () => this.udp(), hasFamily: (f) => (f === 4 ? this.hasAddr4 : this.hasAddr6) },
      opts.dns ?? [],
      opts.resolver,
    );
  }

  /** DNS servers (replaces them; a DHCP lease's, say). */
  setDns(servers: readonly string[]): void {
    this.resolver.setServers(servers);
  }

  // ---------------------------------------------------------------- UDP

  /** A new UDP socket (dgram.createSocket-like); bind it or send to bind an ephemeral port. */
  udp(opts: UdpSocketOptions = {}): UdpSocket {
    if (this.closed) throw new ClosedError('vclient');
    return new UdpSocket(this.udpHost, opts);
  }

  /** dgram.createSocket's shape. */
  createSocket(type: 'udp4' | 'udp6' | UdpSocketOptions, onMessage?: (msg: Buffer, rinfo: RemoteInfo) => void): UdpSocket {
    const s = this.udp(typeof type === 'string' ? { type } : type);
    if (onMessage !== undefined) s.on('message', onMessage);
    return s;
  }

  /** Gives `conn` close(2)-like destroy() (socket-shape.ts) and holds the loop until it closes. */
  private track(conn: Conn): void {
    conn._destroy = this.destroyFn;
    if (!this.holdLoop) return;
    this.hold();
    conn.once('close', this.releaseFn);
  }

  // ---------------------------------------------------------------- TCP

  /**
   * Connects to `address` ('host:port', '[v6]:port'); a host name is resolved with the Client's
   * resolver and its addresses tried in turn (IPv4 first). `network` is 'tcp', 'tcp4' or 'tcp6'.
   * Resolves with a connected Conn (a net.Socket-shaped Duplex).
   * @throws {PktTypeError} for a malformed address or network; rejects with a DnsError, a
   *   ConnError (ECONNREFUSED, ETIMEDOUT, ...), a ConfigError (no local address of the family),
   *   or the signal's reason.
   */
  async dial(network: 'tcp' | 'tcp4' | 'tcp6', address: string, opts: ClientDialOptions = {}): Promise<VConn> {
    if (network !== 'tcp' && network !== 'tcp4' && network !== 'tcp6') throw new PktTypeError(`vclient: expected network 'tcp', 'tcp4' or 'tcp6', got ${String(network)}`);
    const { host, port } = splitHostPort(address);
    return this.connect({ host, port, family: network === 'tcp4' ? 4 : network === 'tcp6' ? 6 : 0, ...opts });
  }

  /** As `dial`, net.connect-style options. */
  async connect(opts: { host: string; port: number; family?: 0 | 4 | 6 } & ClientDialOptions): Promise<VConn> {
    if (this.closed) throw new ClosedError('vclient');
    intInRange('port', opts.port, 1, 65535);
    opts.signal?.throwIfAborted();
    const lit = parseLiteral(opts.host);
    let targets: IpAddr[];
    if (lit !== null) targets = [lit];
    else {
      const found = await this.resolver.lookupAll(opts.host, { family: opts.family ?? 0, signal: opts.signal });
      targets = found.map((a) => IpAddr.parse(a.address));
    }
    const usable = targets.filter((a) => (a.family === 4 ? this.hasAddr4 : this.hasAddr6) && (opts.family === undefined || opts.family === 0 || opts.family === a.family));
    if (usable.length === 0) throw new ConfigError(`vclient: no local address to reach ${opts.host} from (ENETUNREACH)`);
    let last: unknown = null;
    for (const a of usable) {
      try {
        return await this.dialAddr(a, opts.port, opts);
      } catch (err) {
        if (opts.signal?.aborted === true || this.closed) throw err;
        last = err;
      }
    }
    throw last;
  }

  /**
   * The local port, by RFC 6056 §3.3.4 (Algorithm 4, double-hash): a secret-keyed hash of the
   * destination picks a starting offset and one of PORT_TABLE_SIZE counters, which advances on
   * every dial. Ports to one destination are reused only after the whole range, so a new SYN
   * does not land on the peer's TIME-WAIT entry of a recent connection (which vtcp, like RFC 9293
   * without RFC 6191, does not reopen: the dial would wait for a SYN retransmission); ports stay
   * unpredictable to others. A port whose 4-tuple is still in our table is skipped.
   */
  private dialFrom(la: IpAddr, ra: IpAddr, port: number): Conn {
    let h = this.portSecret;
    for (const b of ra.bytes) h = Math.imul(h ^ b, FNV_PRIME) >>> 0;
    h = Math.imul(h ^ (port >>> 8), FNV_PRIME) >>> 0;
    h = Math.imul(h ^ (port & 0xff), FNV_PRIME) >>> 0;
    const slot = h % PORT_TABLE_SIZE;
    for (let i = 0; i < PORT_TRIES; i++) {
      const lp = EPHEMERAL_MIN + ((h + this.portTable[slot]!++) % EPHEMERAL_SPAN);
      if (this.listenPorts.has(lp)) continue;
      try {
        return this.stack.dialConn(ra, port, { localAddr: la, localPort: lp });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err; // a full table: ERR_PKT_LIMIT
      }
    }
    return this.stack.dialConn(ra, port, { localAddr: la }); // the stack's own random choice
  }

  private dialAddr(ra: IpAddr, port: number, opts: ClientDialOptions): Promise<VConn> {
    const la = ra.family === 4 ? this.prefix4!.addr : this.prefix6!.addr;
    const conn = this.dialFrom(la, ra, port) as VConn;
    this.track(conn);
    return new Promise<VConn>((resolve, reject) => {
      let timer: TimerHandle | null = null;
      const signal = opts.signal;
      const done = (err: unknown): void => {
        conn.off('connect', onConnect);
        conn.off('error', onError);
        conn.off('close', onClose);
        signal?.removeEventListener('abort', onAbort);
        if (timer !== null) this.clock.clearTimer(timer);
        timer = null;
        if (err === null) resolve(conn);
        else {
          if (!conn.destroyed) conn.destroy();
          reject(err);
        }
      };
      const onConnect = (): void => done(null);
      const onError = (err: Error): void => done(err);
      const onClose = (): void => done(new ConnError('ECONNABORTED'));
      const onAbort = (): void => done(signal!.reason);
      conn.once('connect', onConnect);
      conn.once('error', onError);
      conn.once('close', onClose);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.timeoutMs !== undefined) timer = this.clock.setTimer(() => ((timer = null), done(new ConnError('ETIMEDOUT'))), opts.timeoutMs);
    });
  }

  /**
   * Listens on TCP `port` (IPv4 and IPv6). Connections come as 'connection' events, from
   * `accept()`, or by `for await`.
   * @throws {ConfigError} when the port is taken; {ClosedError} after close().
   */
  listen(port: number, opts: ListenOptions = {}): TcpServer {
    if (this.closed) throw new ClosedError('vclient');
    const server = this.stack.listen(port, opts);
    this.listenPorts.add(port);
    server.once('close', () => this.listenPorts.delete(port));
    // Every accepted Conn passes through offer(): give it the graceful destroy() there.
    const offer = server.offer.bind(server);
    server.offer = (conn: Conn): boolean => {
      this.track(conn);
      return offer(conn);
    };
    this.hold();
    server.once('close', this.releaseFn);
    return server;
  }

  /** An undici Dispatcher whose connections go through this Client (made on first use, closed with it). */
  dispatcher(): Agent {
    if (this.agent === null) this.agent = createDispatcher(this);
    return this.agent;
  }

  /** `fetch` over this Client's network (its `dispatcher()`). */
  get fetch(): VirtualFetch {
    if (this.fetchFn === null) this.fetchFn = createFetch(this, this.dispatcher());
    return this.fetchFn;
  }

  /** The TCP stack (for its counters and options). */
  get tcp(): TcpStack {
    return this.stack;
  }

  stats(): ClientStats {
    return {
      ...this.counters,
      udpSockets: this.udpSockets.size,
      drops: { ...this.drops },
      tcp: this.stack.stats(),
      dns: this.resolver.stats(),
    };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Resets every connection, closes listeners and UDP sockets, cancels DNS queries and every
   * timer, and stops producing packets. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closing = true;
    this.resolver.close();
    if (this.agent !== null) void this.agent.destroy().catch(noop);
    for (const s of [...this.udpSockets.values()]) s.close();
    this.stack.close(); // its RSTs still leave through the handler
    this.closed = true;
    this.listeners = [];
    this.holds = 0;
    if (this.loopHandle !== null) clearInterval(this.loopHandle);
    this.loopHandle = null;
  }
}

/**
 * Splits 'host:port' or '[v6]:port'.
 * @throws {PktTypeError} code ERR_PKT_INVALID_ADDRESS when there is no valid port.
 */
export function splitHostPort(address: string): { host: string; port: number } {
  let host: string;
  let portText: string;
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    if (end < 0 || address[end + 1] !== ':') throw badHostPort(address);
    host = address.slice(1, end);
    portText = address.slice(end + 2);
  } else {
    const i = address.lastIndexOf(':');
    if (i <= 0 || address.indexOf(':') !== i) throw badHostPort(address);
    host = address.slice(0, i);
    portText = address.slice(i + 1);
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535 || host === '') throw badHostPort(address);
  return { host, port: Number(portText) };
}

function badHostPort(address: string): PktTypeError {
  return new PktTypeError(`vclient: expected 'host:port' or '[v6]:port', got ${JSON.stringify(address)}`, 'ERR_PKT_INVALID_ADDRESS');
}

