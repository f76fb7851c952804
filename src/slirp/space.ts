/**
 * `Space`: the state of one slirp namespace (the Stack's own device side, or one device attached
 * with `connectL3`): its vtcp stack, its held SYNs and their dials, its proxied TCP flows and its
 * UDP flows. Two spaces never share a table, so their hosts may use identical addresses; `close`
 * releases every socket of the space, IPv4 and IPv6 alike.
 *
 * TCP, asynchronously (the Go slirp dialled synchronously in the packet path, untimed):
 *
 *   SYN ──► TcpStack (no listener) ──onSyn──► new dial? ─► policy, limits ─► net.connect + timer
 *                                            └ pending already: a retransmission, dropped
 *   connect ─► tcp.acceptSyn(stored SYN) ─► SYN-ACK to the virtual host ─► TcpProxy
 *   ECONNREFUSED ─► tcp.refuseSyn ─► RST;  timeout / unreachable ─► ICMP Destination Unreachable
 *
 * The vtcp stack sits on the handler side of the device it is given, the opposite of slirp (an
 * L3Device whose `send` takes packets in). `InnerDevice` turns it round: slirp hands TCP packets
 * to the stack through the handler the stack installed, and what the stack sends goes out of the
 * space.
 */

import * as net from 'node:net';
import type { Clock, TimerHandle } from '../core/clock.js';
import type { L3Device, PacketHandler } from '../core/device.js';
import type { IpPrefix } from '../wire/addr.js';
import type { Conn } from '../vtcp/conn.js';
import { TcpStack, type HeldSyn } from '../vtcp/stack.js';
import { TcpProxy } from './tcp-proxy.js';
import type { ConnectFn, SlirpCounters, SlirpDrop, SlirpLimits } from './host.js';
import { UdpTable } from './udp-flow.js';
import { loadNative } from '../native/index.js';

/**
 * What a `Space` needs from its `Stack` (stack.ts): limits, counters, the clock, the socket
 * factory, and the decisions that need the Stack's configuration (where a SYN really goes, how to
 * say a destination is unreachable). An interface so that space.ts does not import stack.ts.
 */
export interface SlirpHost {
  readonly limits: SlirpLimits;
  readonly counters: SlirpCounters;
  readonly clock: Clock;
  readonly connect: ConnectFn;
  /**
   * Where a held SYN really goes: {host, port}, or false for a RST, or null when the Stack has
   * answered (ICMP) or dropped it itself.
   */
  tcpTarget(space: Space, syn: HeldSyn): { host: string; port: number } | false | null;
  /** Sends the virtual host an ICMP Destination Unreachable about `packet`. */
  unreachable(space: Space, packet: Uint8Array, family: 4 | 6): void;
  drop(reason: SlirpDrop): void;
}

function noop(): void {}

/** The device a space's TcpStack runs on: its `send` leaves the space, its handler is the stack's input. */
class InnerDevice implements L3Device {
  handler: PacketHandler = noop;
  readonly addr: IpPrefix | null = null;
  private readonly out: PacketHandler;
  constructor(out: PacketHandler) {
    this.out = out;
  }
  setHandler(h: PacketHandler): void {
    this.handler = h;
  }
  send(p: Uint8Array): void {
    this.out(p);
  }
  setAddr(): void {}
  close(): void {}
}

/** A SYN held while its real connection is being made. */
export class PendingDial {
  readonly key: number;
  readonly packet: Uint8Array;
  readonly family: 4 | 6;
  readonly local: Uint8Array;
  readonly remote: Uint8Array;
  readonly localPort: number;
  readonly remotePort: number;
  sock: net.Socket | null = null;
  timer: TimerHandle | null = null;
  next: PendingDial | null = null;
  constructor(key: number, syn: HeldSyn) {
    this.key = key;
    this.packet = syn.packet.slice();
    this.family = syn.family;
    this.local = syn.local.slice();
    this.remote = syn.remote.slice();
    this.localPort = syn.localPort;
    this.remotePort = syn.remotePort;
  }
  same(syn: HeldSyn): boolean {
    if (syn.localPort !== this.localPort || syn.remotePort !== this.remotePort || syn.local.length !== this.local.length) return false;
    for (let i = 0; i < this.local.length; i++) if (this.local[i] !== syn.local[i] || this.remote[i] !== syn.remote[i]) return false;
    return true;
  }
}

export class Space {
  readonly id: number;
  readonly tcp: TcpStack;
  readonly inner: InnerDevice;
  readonly out: PacketHandler;
  readonly pending = new Map<number, PendingDial>();
  pendingCount = 0;
  readonly proxies = new Set<TcpProxy>();
  /** The UDP flows (udp-flow.ts). */
  readonly udp = new UdpTable();
  closed = false;
  private readonly host: SlirpHost;

  constructor(id: number, host: SlirpHost, out: PacketHandler, clock: Clock, addrs: string[], mtu: number) {
    this.id = id;
    this.host = host;
    this.out = out;
    this.inner = new InnerDevice(out);
    const lim = host.limits;
    // Loads the addon if it is built (fail-soft): vtcp's bulk copies then use its memcpy.
    loadNative();
    this.tcp = new TcpStack(this.inner, {
      clock,
      addrs,
      mtu,
      acceptAnyAddr: true,
      maxConnections: lim.maxFlows + 64,
      conn: { allowHalfOpen: true, readableHighWaterMark: lim.streamBuffer, writableHighWaterMark: lim.streamBuffer },
      tcb: { sendBufferSize: lim.tcpBuffer, recvBufferSize: lim.tcpBuffer },
      onSyn: (syn) => this.onSyn(syn),
    });
  }

  /** Flows held now: dials in progress, proxied TCP connections, UDP flows. */
  get flowCount(): number {
    return this.pendingCount + this.proxies.size + this.udp.count;
  }

  get udpCount(): number {
    return this.udp.count;
  }

  // ------------------------------------------------------------------ TCP

  private onSyn(syn: HeldSyn): boolean {
    const host = this.host;
    if (this.closed) return true;
    const key = tupleHash(syn.local, syn.remote, syn.localPort, syn.remotePort);
    for (let d = this.pending.get(key) ?? null; d !== null; d = d.next) {
      if (d.same(syn)) {
        host.counters.synRetransmits++;
        return true; // held already: the dial is under way
      }
    }
    const verdict = host.tcpTarget(this, syn);
    if (verdict === null) return true; // answered (ICMP) or dropped by the host, counted there
    if (verdict === false) return false; // RST
    if (this.flowCount >= host.limits.maxFlows) {
      host.drop('flowLimit');
      return false;
    }
    const d = new PendingDial(key, syn);
    d.next = this.pending.get(key) ?? null;
    this.pending.set(key, d);
    this.pendingCount++;
    host.counters.dials++;
    this.dial(d, verdict.host, verdict.port);
    return true;
  }

  private unpend(d: PendingDial): void {
    let prev: PendingDial | null = null;
    let cur = this.pending.get(d.key) ?? null;
    while (cur !== null && cur !== d) {
      prev = cur;
      cur = cur.next;
    }
    if (cur === null) return;
    if (prev !== null) prev.next = d.next;
    else if (d.next !== null) this.pending.set(d.key, d.next);
    else this.pending.delete(d.key);
    d.next = null;
    this.pendingCount--;
    if (d.timer !== null) {
      this.host.clock.clearTimer(d.timer);
      d.timer = null;
    }
  }

  /** Starts the real connection of a held SYN; never blocks (net.connect is asynchronous). */
  private dial(d: PendingDial, hostAddr: string, port: number): void {
    const host = this.host;
    const sock = host.connect({ host: hostAddr, port, allowHalfOpen: true });
    d.sock = sock;
    sock.pause();
    const fail = (kind: 'refused' | 'unreachable' | 'timeout'): void => {
      if (d.sock === null) return;
      d.sock = null;
      this.unpend(d);
      sock.removeAllListeners('connect');
      sock.on('error', noop);
      sock.destroy();
      if (this.closed) return;
      if (kind === 'refused') {
        host.counters.dialsRefused++;
        this.tcp.refuseSyn(d.packet);
      } else {
        if (kind === 'timeout') host.counters.dialsTimedOut++;
        else host.counters.dialsFailed++;
        host.unreachable(this, d.packet, d.family);
      }
    };
    sock.once('connect', () => {
      if (d.sock === null) return;
      d.sock = null;
      this.unpend(d);
      sock.removeAllListeners('error');
      if (this.closed) {
        sock.destroy();
        return;
      }
      const conn = this.tcp.acceptSyn(d.packet);
      if (conn === null) {
        host.counters.dialsFailed++;
        sock.resetAndDestroy();
        return;
      }
      host.counters.dialsOk++;
      this.proxy(conn, sock);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => fail(err.code === 'ECONNREFUSED' ? 'refused' : 'unreachable'));
    d.timer = host.clock.setTimer(() => {
      d.timer = null;
      fail('timeout');
    }, host.limits.dialTimeoutMs);
  }

  /** Joins a connected Conn and socket (a dial that succeeded, or a port forward). */
  proxy(conn: Conn, sock: net.Socket): TcpProxy {
    const p = new TcpProxy(conn, sock, this.host.counters, (x) => this.proxies.delete(x));
    this.proxies.add(p);
    return p;
  }

  /** Bytes waiting in the streams of the proxied TCP flows. */
  get buffered(): number {
    let n = 0;
    for (const p of this.proxies) n += p.buffered;
    return n;
  }

  /** Releases everything: dials, TCP flows (RST both ways), UDP sockets, the vtcp stack. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const head of [...this.pending.values()]) {
      for (let d: PendingDial | null = head; d !== null; d = d.next) {
        if (d.timer !== null) this.host.clock.clearTimer(d.timer);
        d.timer = null;
        const s = d.sock;
        d.sock = null;
        if (s !== null) {
          s.on('error', noop);
          s.destroy();
        }
      }
    }
    this.pending.clear();
    this.pendingCount = 0;
    for (const p of [...this.proxies]) p.abort();
    this.proxies.clear();
    this.udp.closeAll();
    this.tcp.close();
  }
}

/** FNV-1a over two separate address arrays and the ports (held SYNs: handshake path only). */
function tupleHash(local: Uint8Array, remote: Uint8Array, lport: number, rport: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < local.length; i++) h = Math.imul(h ^ local[i]!, 0x01000193);
  for (let i = 0; i < remote.length; i++) h = Math.imul(h ^ remote[i]!, 0x01000193);
  h = Math.imul(h ^ lport, 0x01000193);
  return Math.imul(h ^ rport, 0x01000193) | 0;
}
