/**
 * The packet machinery of `TcpStack` (stack.ts), as its base class: the device handler that
 * parses and checks each IPv4 and IPv6 packet and demultiplexes its segment (connection table,
 * listener, or a RST per RFC 9293 §3.10.7.1), the flush of the output queue into the device, and
 * the counters. stack.ts adds the API (listen, dial, close, stats) on top.
 *
 * Per packet nothing is allocated: the views, the parsed fields, the address scratch arrays and
 * the reply sink are the stack's own, reused; the table is keyed by a small integer.
 */

import type { Clock, TimerHandle } from '../core/clock.js';
import type { L3Device } from '../core/device.js';
import { intInRange } from '../errors.js';
import { IpAddr, type IpPrefix } from '../wire/addr.js';
import { EMPTY_BYTES, be16, be32 } from '../wire/bytes.js';
import { checksum, transportChecksumV4, transportChecksumV6 } from '../wire/checksum.js';
import { IpProto } from '../wire/ipv4.js';
import { IPV6_HEADER_LEN, Ipv6View } from '../wire/ipv6.js';
import { WireStatus } from '../wire/status.js';
import { TCP_FLAG_ACK, TCP_FLAG_RST, TCP_FLAG_SYN, TcpView, newTcpFields, parseTcp, type TcpFields } from '../wire/tcp.js';
import type { Listener } from './listener.js';
import type { TcpServer } from './stack-server.js';
import { emitRstReply } from './tcb.js';
import { ConnSink, ConnTable, IPV4_HEADER_LEN, OutQueue, StackDrop, type SinkHost } from './stack-io.js';

// IPv4 header fields read directly (RFC 791 §3.1).
const V4_TOTAL_LEN = 2;
const V4_FLAGS_FRAG = 6;
const V4_PROTO = 9;
const V4_SRC = 12;
const V4_DST = 16;
/** MF flag and fragment offset bits: any of them set means a fragment. */
const V4_FRAG_MASK = 0x3fff;
const IPV6_SRC = 8;
const IPV6_DST = 24;
export const TCP_MIN_HEADER = 20;

export function newDrops(): Record<StackDrop, number> {
  const d = {} as Record<StackDrop, number>;
  for (const k of Object.values(StackDrop)) d[k] = 0;
  return d;
}

/**
 * The Tcbs' clock: the stack's, with a flush after every timer callback (so that what a
 * retransmission or delayed-ACK timer emits leaves at once, also under a ManualClock). Wrapping
 * costs one closure per arm; a Tcb arms its clock timer about once per RTO, not per segment.
 */
export class FlushingClock implements Clock {
  private readonly inner: Clock;
  private readonly stack: StackCore;
  constructor(inner: Clock, stack: StackCore) {
    this.inner = inner;
    this.stack = stack;
  }
  now(): number {
    return this.inner.now();
  }
  setTimer(fn: () => void, delayMs: number): TimerHandle {
    const stack = this.stack;
    return this.inner.setTimer(() => {
      stack.enter();
      try {
        fn();
      } finally {
        stack.leave();
      }
    }, delayMs);
  }
  clearTimer(handle: TimerHandle): void {
    this.inner.clearTimer(handle);
  }
}

/** One port's listeners (one per family: their MSS differs) and the server the user holds. */
export interface PortListen {
  server: TcpServer;
  v4: Listener;
  v6: Listener;
}

/** What the core needs to know, checked by TcpStack. */
export interface StackCoreConfig {
  clock: Clock;
  random: () => number;
  mtu: number;
  ttl: number;
  acceptAnyAddr: boolean;
  maxQueuedPackets: number;
  maxConnections: number;
}

export abstract class StackCore implements SinkHost {
  readonly dev: L3Device;
  readonly clock: Clock;
  readonly random: () => number;
  readonly mtu: number;
  readonly ttl: number;
  readonly queue: OutQueue;
  readonly acceptAnyAddr: boolean;
  protected readonly tcbClock: FlushingClock;
  protected readonly table: ConnTable;
  protected readonly listeners = new Map<number, PortListen>();
  /** Our addresses: IPv4 as uint32, IPv6 as 16 bytes. */
  protected local4: number[] = [];
  protected local6: Uint8Array[] = [];

  // Per packet, reused.
  private readonly ip6 = new Ipv6View();
  private readonly tcpv = new TcpView();
  private readonly seg: TcpFields = newTcpFields();
  private readonly out: TcpFields = newTcpFields();
  private readonly reply: ConnSink;
  private readonly scratchLocal4 = new Uint8Array(4);
  private readonly scratchRemote4 = new Uint8Array(4);
  private readonly scratchLocal6 = new Uint8Array(16);
  private readonly scratchRemote6 = new Uint8Array(16);

  // Counters.
  protected packetsIn = 0;
  protected packetsOut = 0;
  protected bytesIn = 0;
  protected bytesOut = 0;
  protected resetsSent = 0;
  protected readonly drops = newDrops();

  private ident = 0;
  private depth = 0;
  private flushing = false;
  private flushQueued = false;
  protected closed = false;
  private readonly flushTask = (): void => {
    this.flushQueued = false;
    if (this.depth === 0) this.flush();
  };
  protected readonly onPacket = (p: Uint8Array): void => this.input(p);

  constructor(dev: L3Device, c: StackCoreConfig) {
    this.dev = dev;
    this.clock = c.clock;
    this.random = c.random;
    this.mtu = intInRange('mtu', c.mtu, 576, 65535);
    this.ttl = intInRange('ttl', c.ttl, 1, 255);
    this.acceptAnyAddr = c.acceptAnyAddr;
    const maxQueued = intInRange('maxQueuedPackets', c.maxQueuedPackets, 1, 1 << 20);
    this.queue = new OutQueue(this.mtu, Math.min(64, maxQueued), maxQueued);
    this.tcbClock = new FlushingClock(this.clock, this);
    this.table = new ConnTable(intInRange('maxConnections', c.maxConnections, 1, 1 << 22));
    this.reply = new ConnSink(this);
  }

  /** Adds an address the stack answers for (an IpPrefix's address, an IpAddr, or text). */
  addAddr(a: string | IpAddr | IpPrefix): void {
    const addr = typeof a === 'string' ? IpAddr.parse(a.includes('/') ? a.slice(0, a.indexOf('/')) : a) : a instanceof IpAddr ? a : a.addr;
    if (addr.family === 4) {
      if (!this.local4.includes(addr.v4)) this.local4.push(addr.v4);
    } else if (!this.local6.some((b) => b.every((x, i) => x === addr.bytes[i]))) {
      this.local6.push(addr.bytes.slice());
    }
  }

  /** The addresses the stack answers for, as text. */
  get addrs(): string[] {
    return [...this.local4.map((v) => IpAddr.fromV4(v).toString()), ...this.local6.map((b) => IpAddr.fromBytes(b).toString())];
  }

  // ---------------------------------------------------------------- SinkHost

  nextIdent(): number {
    this.ident = (this.ident + 1) & 0xffff;
    return this.ident;
  }

  dropOut(reason: StackDrop): void {
    this.drops[reason]++;
  }

  /** A packet was queued: flush now-ish (at once if nothing of ours is on the call stack). */
  scheduleFlush(): void {
    if (this.depth > 0 || this.flushing || this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(this.flushTask);
  }

  /** @internal Entering a stack callback (packet input, a Tcb timer): flush when the outermost ends. */
  enter(): void {
    this.depth++;
  }

  /** @internal */
  leave(): void {
    if (--this.depth === 0 && !this.flushing && this.queue.length > 0) this.flush();
  }

  /**
   * Hands every queued packet to the device. Packets the device's peer sends back while this
   * runs (a pipe to another stack) are processed, and what they make is sent by this same loop.
   */
  flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    const q = this.queue;
    const dev = this.dev;
    try {
      for (let p = q.shift(); p !== null; p = q.shift()) {
        this.packetsOut++;
        this.bytesOut += p.length;
        dev.send(p);
      }
    } finally {
      this.flushing = false;
    }
  }

  // ---------------------------------------------------------------- input

  /** A packet from the device (borrowed). Never throws for what the packet contains. */
  input(p: Uint8Array): void {
    if (this.closed) {
      this.drops.closed++;
      return;
    }
    this.packetsIn++;
    this.bytesIn += p.length;
    this.depth++;
    try {
      const len = p.length;
      if (len < 1) this.drops.truncated++;
      else if (p[0]! >>> 4 === 4) this.input4(p, len);
      else if (p[0]! >>> 4 === 6) this.input6(p, len);
      else this.drops.badVersion++;
    } finally {
      if (--this.depth === 0 && !this.flushing && this.queue.length > 0) this.flush();
    }
  }

  private input4(p: Uint8Array, len: number): void {
    if (len < IPV4_HEADER_LEN) return void this.drops.truncated++;
    const hl = (p[0]! & 0x0f) << 2;
    const total = be16(p, V4_TOTAL_LEN);
    if (hl < IPV4_HEADER_LEN || total < hl) return void this.drops.badHeader++;
    if (total > len) return void this.drops.truncated++;
    if (checksum(p, 0, hl) !== 0) return void this.drops.badIpChecksum++;
    if (p[V4_PROTO] !== IpProto.TCP) return void this.drops.notTcp++;
    if ((be16(p, V4_FLAGS_FRAG) & V4_FRAG_MASK) !== 0) return void this.drops.fragment++;
    const dst = be32(p, V4_DST);
    const src = be32(p, V4_SRC);
    if (!this.acceptAnyAddr && !this.local4.includes(dst)) return void this.drops.notForUs++;
    // RFC 1122 §4.2.3.10: no connection with a broadcast or multicast source (nor our RST).
    if (src >>> 28 === 0xe || src === 0xffff_ffff || src === 0) return void this.drops.badSource++;
    const segLen = total - hl;
    const tv = this.tcpv.reset(p, hl, segLen);
    if (segLen < TCP_MIN_HEADER || tv.check() !== WireStatus.Ok) return void this.drops.badTcpHeader++;
    if (transportChecksumV4(IpProto.TCP, src, dst, p, hl, segLen) !== 0) return void this.drops.badTcpChecksum++;
    const f = this.seg;
    if (parseTcp(tv, f) !== WireStatus.Ok) return void this.drops.badTcpHeader++;
    const thl = (p[hl + 12]! >>> 4) << 2;
    const payOff = hl + thl;
    const payLen = segLen - thl;
    const e = this.table.find4(f.dstPort, f.srcPort, dst, src);
    if (e !== null) {
      e.tcb.input(f, p, payOff, payLen);
      return;
    }
    const l = this.scratchLocal4;
    const r = this.scratchRemote4;
    l[0] = p[V4_DST]!; l[1] = p[V4_DST + 1]!; l[2] = p[V4_DST + 2]!; l[3] = p[V4_DST + 3]!;
    r[0] = p[V4_SRC]!; r[1] = p[V4_SRC + 1]!; r[2] = p[V4_SRC + 2]!; r[3] = p[V4_SRC + 3]!;
    const reply = this.reply;
    reply.family = 4;
    reply.local4 = dst;
    reply.remote4 = src;
    this.noConnection(f, p, payOff, payLen, l, r, 4);
  }

  private input6(p: Uint8Array, len: number): void {
    const v = this.ip6.reset(p, 0, len);
    const st = v.check();
    if (st !== WireStatus.Ok) {
      if (st === WireStatus.Truncated) this.drops.truncated++;
      else this.drops.badHeader++;
      return;
    }
    if (v.isFragment) return void this.drops.fragment++;
    if (v.upperProtocol !== IpProto.TCP) return void this.drops.notTcp++;
    if (!this.acceptAnyAddr && !this.isLocal6(p, IPV6_DST)) return void this.drops.notForUs++;
    // Multicast source or destination, or the unspecified source: never a connection.
    if (p[IPV6_SRC] === 0xff || p[IPV6_DST] === 0xff || this.isUnspecified6(p, IPV6_SRC)) return void this.drops.badSource++;
    const off = v.upperOff;
    const segLen = IPV6_HEADER_LEN + be16(p, 4) - off;
    const tv = this.tcpv.reset(p, off, segLen);
    if (segLen < TCP_MIN_HEADER || tv.check() !== WireStatus.Ok) return void this.drops.badTcpHeader++;
    if (transportChecksumV6(IpProto.TCP, p, IPV6_SRC, IPV6_DST, p, off, segLen) !== 0) return void this.drops.badTcpChecksum++;
    const f = this.seg;
    if (parseTcp(tv, f) !== WireStatus.Ok) return void this.drops.badTcpHeader++;
    const thl = (p[off + 12]! >>> 4) << 2;
    const payOff = off + thl;
    const payLen = segLen - thl;
    const e = this.table.find6(f.dstPort, f.srcPort, p, IPV6_DST, IPV6_SRC);
    if (e !== null) {
      e.tcb.input(f, p, payOff, payLen);
      return;
    }
    const l = this.scratchLocal6;
    const r = this.scratchRemote6;
    for (let i = 0; i < 16; i++) {
      l[i] = p[IPV6_DST + i]!;
      r[i] = p[IPV6_SRC + i]!;
    }
    const reply = this.reply;
    reply.family = 6;
    reply.local6.set(l);
    reply.remote6.set(r);
    this.noConnection(f, p, payOff, payLen, l, r, 6);
  }

  private isLocal6(p: Uint8Array, off: number): boolean {
    const list = this.local6;
    for (let k = 0; k < list.length; k++) {
      const a = list[k]!;
      let i = 0;
      while (i < 16 && a[i] === p[off + i]) i++;
      if (i === 16) return true;
    }
    return false;
  }

  private isUnspecified6(p: Uint8Array, off: number): boolean {
    for (let i = 0; i < 16; i++) if (p[off + i] !== 0) return false;
    return true;
  }

  /** A segment no connection of the table owns: a listener's, or answered with a RST. */
  private noConnection(f: TcpFields, p: Uint8Array, payOff: number, payLen: number, l: Uint8Array, r: Uint8Array, family: 4 | 6): void {
    const pl = this.listeners.get(f.dstPort);
    if (pl !== undefined) {
      (family === 4 ? pl.v4 : pl.v6).input(f, p, payOff, payLen, l, r, this.reply);
      return;
    }
    // A pure SYN with no listener: the subclass may hold it (slirp's deferred accept, stack.ts).
    if ((f.flags & (TCP_FLAG_SYN | TCP_FLAG_ACK | TCP_FLAG_RST)) === TCP_FLAG_SYN && this.synGate(f, p, payOff, payLen, l, r, family)) return;
    this.drops.noListener++;
    // RFC 9293 §3.10.7.1: "If the state is CLOSED ... An incoming segment containing a RST is
    // discarded. An incoming segment not containing a RST causes a RST to be sent in response."
    if ((f.flags & TCP_FLAG_RST) !== 0) return;
    this.resetsSent++;
    emitRstReply(this.reply, this.out, f, payLen, EMPTY_BYTES);
  }

  /**
   * A pure SYN for no connection and no listener (addresses `l`, `r` borrowed scratch): true when
   * the subclass took it (held or accepted), false for the RST of §3.10.7.1. Default: false.
   */
  protected synGate(_f: TcpFields, _p: Uint8Array, _payOff: number, _payLen: number, _l: Uint8Array, _r: Uint8Array, _family: 4 | 6): boolean {
    return false;
  }
}
