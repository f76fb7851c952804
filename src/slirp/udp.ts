/**
 * slirp UDP (RFC 768): the flows of a namespace and the real sockets under them.
 *
 * A flow is one (virtual src, sport, virtual dst, dport) of a namespace with a real socket of its
 * own, as in slirp4netns: its own ephemeral port, connected to the real destination, so that the
 * kernel lets only that peer answer (endpoint-dependent filtering) and a reply finds its flow by
 * the socket it arrives on. Flows expire when idle (`limits.udpIdleMs`, swept by the Stack).
 * Two ways to the kernel, one per Stack (`udp` option):
 *
 * batched (the addon's `udp` feature; the default when it is built): one native socket per flow
 * with no buffer of its own: every flow socket of a Stack sends from the Stack's tx area, and
 * every flow socket of the thread receives into one rx area (receiving is synchronous, so they
 * take turns). Nothing is allocated per datagram, either way:
 *
 *   send(p) ─► input4/6: checks, flow lookup (numeric hash) ─► copy payload into the tx area
 *       tx area  | d0 | d1 | d2 | ...   packed; entry i: offs[i], lens[i], txFlows[i]
 *       ─► flush (end of the synchronous run, or full): each run of one flow's entries in one
 *          sendmmsg on its connected socket (equal sizes joined by UDP GSO)
 *
 *   poll(every flow fd + an eventfd) on a libuv pool thread (waitFdsAsync; one per Stack)
 *       ─► for each readable flow: recvmmsg into the rx area, entry i's payload at
 *          i * stride + 48 (headroom) ─► IPv4/IPv6 and UDP headers written in place in front of
 *          it ─► space.out(a view cached per entry and length)
 *
 * The clock is read once per run of sends and once per wake, not per datagram (a clock read
 * allocates a HeapNumber). Adding or removing a flow kicks the eventfd so the poll restarts with
 * the new set; readiness is looked up by index in the set the poll was given, so a descriptor
 * closed (and reused) under a poll in flight is never mistaken for another flow's.
 *
 * dgram (node:dgram; forced with `udp: 'dgram'`): a dgram socket per flow, a Buffer copy per
 * datagram out, dgram's Buffer and rinfo per datagram in. About 3 us a datagram: the
 * compatibility path.
 *
 * Not concurrent: one thread owns the Stack, its flows and their sockets.
 */

import * as dgram from 'node:dgram';
import type { Clock } from '../core/clock.js';
import { PktError } from '../errors.js';
import { hasNative, requireNative, type NativeBinding } from '../native/index.js';
import type * as NetBinding from '../native/binding.js';
import { formatIPv4, formatIPv6 } from '../wire/addr.js';
import { be16, be32 } from '../wire/bytes.js';
import { transportChecksumV4, transportChecksumV6 } from '../wire/checksum.js';
import { IpProto } from '../wire/ipv4.js';
import type { SlirpCounters, SlirpDrop } from './host.js';
import { UDP_MAX_PAYLOAD4, UDP_MAX_PAYLOAD6, type PacketBuilder } from './packets.js';
import type { Space } from './space.js';

type NativeUdp = NetBinding.UdpSocket;

// RFC 791 §3.1, RFC 8200 §3, RFC 768 offsets.
const V4_SRC = 12;
const V4_DST = 16;
const V6_SRC = 8;
const V6_DST = 24;
const UDP_HEADER = 8;
const UDP_LEN = 4;
const UDP_CSUM = 6;
const IPV4_UDP_HEADERS = 28;
const IPV6_UDP_HEADERS = 48;

/** The receive area: entries of headroom + the largest datagram, so none is ever truncated. */
const RX_HEADROOM = IPV6_UDP_HEADERS;
const RX_CAP = 65536;
const RX_STRIDE = RX_HEADROOM + RX_CAP;
const RX_ENTRIES = 16;
/** recvmmsg calls per flow per wake at most (fairness between flows; the poll is level-triggered). */
const DRAIN_ROUNDS = 4;
/** The longest a wait lasts before it is started again (see run()). */
const POLL_TIMEOUT_MS = 1000;
/** The send area: entries and bytes queued per Stack before a flush. */
const TX_ENTRIES = 64;
const TX_BYTES = 256 * 1024;
/** Address records of the native socket (native/src/udp.rs): family, port, 4 address words, scope, segment. */
const ADDR_WORDS = 8;
const BIND_ANY4 = [4, 0, 0, 0, 0, 0, 0, 0];
const BIND_ANY6 = [6, 0, 0, 0, 0, 0, 0, 0];
/** Below this a JavaScript loop copies faster than a native call (about 280 ns fixed). */
const NATIVE_COPY_MIN = 128;

/** Where a new flow goes (filled by the Stack for the first datagram of a 4-tuple; reused). */
export class UdpTarget {
  family: 4 | 6 = 4;
  /** IPv4 address as an int32 (10.0.0.1 = 0x0a000001; above 2^31 negative). */
  v4 = 0;
  readonly v6 = new Uint8Array(16);
  port = 0;

  text(): string {
    return this.family === 4 ? formatIPv4(this.v4 >>> 0) : formatIPv6(this.v6, 0);
  }
}

/** A UDP flow: one real socket per (src, sport, dst, dport) of a namespace. */
export class UdpFlow {
  readonly key: number;
  readonly family: 4 | 6;
  readonly space: Space;
  readonly io: UdpIo;
  /** Virtual source (the host) and destination, 4 or 16 bytes. */
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  /** The same as int32s (IPv4 flows; 0 for IPv6): no boxed double per reply. */
  readonly src4: number;
  readonly dst4: number;
  readonly sport: number;
  readonly dport: number;
  readonly realAddr: string;
  readonly realPort: number;
  sock: dgram.Socket | null = null;
  nat: NativeUdp | null = null;
  lastActiveMs: number;
  next: UdpFlow | null = null;
  closed = false;

  constructor(key: number, space: Space, io: UdpIo, family: 4 | 6, p: Uint8Array, srcOff: number, sport: number, dstOff: number, dport: number, t: UdpTarget, now: number) {
    const n = family === 4 ? 4 : 16;
    this.key = key;
    this.family = family;
    this.space = space;
    this.io = io;
    this.src = p.slice(srcOff, srcOff + n);
    this.dst = p.slice(dstOff, dstOff + n);
    this.src4 = family === 4 ? be32(p, srcOff) | 0 : 0;
    this.dst4 = family === 4 ? be32(p, dstOff) | 0 : 0;
    this.sport = sport;
    this.dport = dport;
    this.realAddr = t.text();
    this.realPort = t.port;
    this.lastActiveMs = now;
  }

  matches(p: Uint8Array, srcOff: number, sport: number, dstOff: number, dport: number): boolean {
    if (this.sport !== sport || this.dport !== dport) return false;
    const n = this.src.length;
    for (let i = 0; i < n; i++) if (this.src[i] !== p[srcOff + i] || this.dst[i] !== p[dstOff + i]) return false;
    return true;
  }
}

/** FNV-1a over a flow's addresses and ports, seeded: a number, never a string from packet data. */
export function flowHash(seed: number, p: Uint8Array, srcOff: number, dstOff: number, n: number, sport: number, dport: number): number {
  let h = seed ^ 0x811c9dc5;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ p[srcOff + i]!, 0x01000193);
  for (let i = 0; i < n; i++) h = Math.imul(h ^ p[dstOff + i]!, 0x01000193);
  h = Math.imul(h ^ sport, 0x01000193);
  return Math.imul(h ^ dport, 0x01000193) | 0;
}

/** The UDP flows of one namespace: a numeric-hash table with chaining. */
export class UdpTable {
  private readonly map = new Map<number, UdpFlow>();
  count = 0;

  find(key: number, p: Uint8Array, srcOff: number, sport: number, dstOff: number, dport: number): UdpFlow | null {
    for (let f = this.map.get(key) ?? null; f !== null; f = f.next) if (f.matches(p, srcOff, sport, dstOff, dport)) return f;
    return null;
  }

  add(f: UdpFlow): void {
    f.next = this.map.get(f.key) ?? null;
    this.map.set(f.key, f);
    this.count++;
  }

  /** Unlinks `f` and closes its socket. Idempotent. */
  remove(f: UdpFlow): void {
    if (f.closed) return;
    f.closed = true;
    let prev: UdpFlow | null = null;
    let cur = this.map.get(f.key) ?? null;
    while (cur !== null && cur !== f) {
      prev = cur;
      cur = cur.next;
    }
    if (cur !== null) {
      if (prev !== null) prev.next = f.next;
      else if (f.next !== null) this.map.set(f.key, f.next);
      else this.map.delete(f.key);
      this.count--;
    }
    f.next = null;
    f.io.close(f);
  }

  /** Closes flows idle for `idleMs` or more; returns how many. */
  sweep(now: number, idleMs: number): number {
    const stale: UdpFlow[] = [];
    for (const head of this.map.values()) for (let f: UdpFlow | null = head; f !== null; f = f.next) if (now - f.lastActiveMs >= idleMs) stale.push(f);
    for (const f of stale) this.remove(f);
    return stale.length;
  }

  closeAll(): void {
    const all: UdpFlow[] = [];
    for (const head of this.map.values()) for (let f: UdpFlow | null = head; f !== null; f = f.next) all.push(f);
    for (const f of all) this.remove(f);
    this.map.clear();
    this.count = 0;
  }
}

/** What the UDP path needs of its Stack. */
export interface UdpHost {
  readonly counters: SlirpCounters;
  readonly clock: Clock;
  drop(reason: SlirpDrop): void;
  /**
   * The first datagram of an unknown 4-tuple (UDP header at `udpOff`, `ulen` bytes, checked):
   * fills `t` with where its flow goes and returns true, or deals with it (DNS forwarding, ICMP
   * errors, drops: counted) and returns false.
   */
  udpTarget(s: Space, p: Uint8Array, family: 4 | 6, ipEnd: number, udpOff: number, ulen: number, t: UdpTarget): boolean;
  /** ICMP Destination Unreachable (host) about `p`: a socket could not be opened. */
  unreachable(s: Space, p: Uint8Array, family: 4 | 6): void;
}

/** The kernel side of the flows of one Stack. One class per Stack: its call sites stay monomorphic. */
export interface UdpIo {
  readonly kind: 'batched' | 'dgram';
  /** Opens `f`'s socket towards `t`; false when the kernel refuses (the caller counts it). */
  open(f: UdpFlow, t: UdpTarget): boolean;
  /** Sends `p[off, off + len)` (borrowed) on `f`. */
  send(f: UdpFlow, p: Uint8Array, off: number, len: number): void;
  /** Closes `f`'s socket (the table has unlinked it). */
  close(f: UdpFlow): void;
  /** Sends what is queued, stops receiving; resolves once no wait is in flight. */
  shutdown(): Promise<void>;
}

export type UdpMode = 'auto' | 'batched' | 'dgram';

/** The UDP path of a Stack: datagrams from the virtual side to their flows, and the sockets. */
export class SlirpUdp {
  readonly io: UdpIo;
  private readonly host: UdpHost;
  private readonly seed: number;
  private readonly target = new UdpTarget();

  /** @throws {PktError} ERR_PKT_NATIVE_UNAVAILABLE for `batched` without the addon's udp feature. */
  constructor(host: UdpHost, build: PacketBuilder, mode: UdpMode, seed: number) {
    this.host = host;
    this.seed = seed;
    const batched = mode === 'batched' || (mode === 'auto' && hasNative('udp'));
    this.io = batched ? new BatchedUdpIo(host, build, requireNative('slirp batched UDP', 'udp')) : new DgramUdpIo(host, build);
  }

  /** An IPv4 datagram (header length `hl`, `total` bytes) from the virtual side of `s`. */
  input4(s: Space, p: Uint8Array, hl: number, total: number): void {
    const host = this.host;
    const segLen = total - hl;
    if (segLen < UDP_HEADER) return host.drop('badUdp');
    const ulen = be16(p, hl + UDP_LEN);
    if (ulen < UDP_HEADER || ulen > segLen) return host.drop('badUdp');
    // Addresses as int32s: a u32 above 2^31 passed to a call V8 did not inline is boxed.
    if (be16(p, hl + UDP_CSUM) !== 0 && transportChecksumV4(IpProto.UDP, be32(p, V4_SRC) | 0, be32(p, V4_DST) | 0, p, hl, ulen) !== 0) return host.drop('badChecksum');
    const sport = be16(p, hl);
    const dport = be16(p, hl + 2);
    const key = flowHash(this.seed, p, V4_SRC, V4_DST, 4, sport, dport);
    let f = s.udp.find(key, p, V4_SRC, sport, V4_DST, dport);
    if (f === null) {
      f = this.newFlow(s, key, 4, p, V4_SRC, sport, V4_DST, dport, total, hl, ulen);
      if (f === null) return;
    }
    host.counters.datagramsOut++;
    this.io.send(f, p, hl + UDP_HEADER, ulen - UDP_HEADER);
  }

  /** An IPv6 datagram (UDP header at `off`, the packet ending at `end`). */
  input6(s: Space, p: Uint8Array, off: number, end: number): void {
    const host = this.host;
    const segLen = end - off;
    if (segLen < UDP_HEADER) return host.drop('badUdp');
    const ulen = be16(p, off + UDP_LEN);
    if (ulen < UDP_HEADER || ulen > segLen) return host.drop('badUdp');
    // RFC 8200 §8.1: a zero UDP checksum is invalid over IPv6.
    if (transportChecksumV6(IpProto.UDP, p, V6_SRC, V6_DST, p, off, ulen) !== 0) return host.drop('badChecksum');
    const sport = be16(p, off);
    const dport = be16(p, off + 2);
    const key = flowHash(this.seed, p, V6_SRC, V6_DST, 16, sport, dport);
    let f = s.udp.find(key, p, V6_SRC, sport, V6_DST, dport);
    if (f === null) {
      f = this.newFlow(s, key, 6, p, V6_SRC, sport, V6_DST, dport, end, off, ulen);
      if (f === null) return;
    }
    host.counters.datagramsOut++;
    this.io.send(f, p, off + UDP_HEADER, ulen - UDP_HEADER);
  }

  /** First datagram of a 4-tuple: ask the Stack where it goes, open its socket. Per flow, not per datagram. */
  private newFlow(s: Space, key: number, family: 4 | 6, p: Uint8Array, srcOff: number, sport: number, dstOff: number, dport: number, ipEnd: number, udpOff: number, ulen: number): UdpFlow | null {
    const host = this.host;
    const t = this.target;
    if (!host.udpTarget(s, p, family, ipEnd, udpOff, ulen, t)) return null;
    const f = new UdpFlow(key, s, this.io, family, p, srcOff, sport, dstOff, dport, t, host.clock.now());
    if (!this.io.open(f, t)) {
      host.drop('sendFailed');
      host.unreachable(s, p, family);
      return null;
    }
    s.udp.add(f);
    host.counters.udpFlows++;
    return f;
  }

  /** Flushes, stops the receive loop (after every space has closed its flows). */
  shutdown(): Promise<void> {
    return this.io.shutdown();
  }
}

/** node:dgram: the compatibility path (allocates per datagram: dgram's own objects and a copy). */
class DgramUdpIo implements UdpIo {
  readonly kind = 'dgram' as const;
  private readonly host: UdpHost;
  private readonly build: PacketBuilder;

  constructor(host: UdpHost, build: PacketBuilder) {
    this.host = host;
    this.build = build;
  }

  open(f: UdpFlow, t: UdpTarget): boolean {
    const sock = dgram.createSocket(t.family === 6 ? 'udp6' : 'udp4');
    f.sock = sock;
    sock.on('message', (msg: Buffer, rinfo: dgram.RemoteInfo) => this.reply(f, msg, rinfo));
    sock.on('error', () => {
      this.host.drop('sendFailed');
      f.space.udp.remove(f);
    });
    return true;
  }

  send(f: UdpFlow, p: Uint8Array, off: number, len: number): void {
    f.lastActiveMs = this.host.clock.now();
    // dgram sends asynchronously and the packet is borrowed: one copy.
    const data = Buffer.allocUnsafe(len);
    data.set(p.subarray(off, off + len));
    f.sock!.send(data, f.realPort, f.realAddr, (err) => {
      if (err) this.host.drop('sendFailed');
    });
  }

  /** A datagram from the real side: back to the virtual host as from the flow's destination. */
  private reply(f: UdpFlow, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const s = f.space;
    if (f.closed || s.closed) return;
    // Endpoint-dependent filtering: only the flow's own peer may answer on it.
    if (rinfo.port !== f.realPort || rinfo.address !== f.realAddr) return;
    f.lastActiveMs = this.host.clock.now();
    this.host.counters.datagramsIn++;
    if (f.family === 4) {
      if (msg.length > UDP_MAX_PAYLOAD4) return this.host.drop('badUdp');
      s.out(this.build.udp4(f.dst4, f.dport, f.src4, f.sport, msg, 0, msg.length));
    } else {
      if (msg.length > UDP_MAX_PAYLOAD6) return this.host.drop('badUdp');
      s.out(this.build.udp6(f.dst, 0, f.dport, f.src, 0, f.sport, msg, 0, msg.length));
    }
  }

  close(f: UdpFlow): void {
    try {
      f.sock?.close();
    } catch {
      // already closed
    }
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** The receive area of this thread, shared by every batched slirp socket (receiving is synchronous). */
class RxArea {
  readonly data = new Uint8Array(RX_ENTRIES * RX_STRIDE);
  readonly offs = new Int32Array(RX_ENTRIES);
  readonly lens = new Int32Array(RX_ENTRIES);
  readonly addrs = new Int32Array(RX_ENTRIES * ADDR_WORDS);
  /** The packet handed out from entry i, cached while its length repeats (one per family). */
  private readonly views4: Uint8Array[];
  private readonly len4 = new Int32Array(RX_ENTRIES).fill(-1);
  private readonly views6: Uint8Array[];
  private readonly len6 = new Int32Array(RX_ENTRIES).fill(-1);

  constructor() {
    for (let i = 0; i < RX_ENTRIES; i++) this.offs[i] = i * RX_STRIDE + RX_HEADROOM;
    const empty = this.data.subarray(0, 0);
    this.views4 = new Array<Uint8Array>(RX_ENTRIES).fill(empty);
    this.views6 = new Array<Uint8Array>(RX_ENTRIES).fill(empty);
  }

  /** The IPv4 packet of `n` bytes in entry `e` (it starts 28 bytes before the payload). */
  view4(e: number, n: number): Uint8Array {
    if (this.len4[e] === n) return this.views4[e]!;
    const at = this.offs[e]! - IPV4_UDP_HEADERS;
    const v = this.data.subarray(at, at + n);
    this.views4[e] = v;
    this.len4[e] = n;
    return v;
  }

  view6(e: number, n: number): Uint8Array {
    if (this.len6[e] === n) return this.views6[e]!;
    const at = this.offs[e]! - IPV6_UDP_HEADERS;
    const v = this.data.subarray(at, at + n);
    this.views6[e] = v;
    this.len6[e] = n;
    return v;
  }
}

let threadRx: RxArea | null = null;

type CopyFn = (dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, len: number) => void;

/** The addon's batched UDP: a native socket per flow, shared areas, one poll per Stack. */
class BatchedUdpIo implements UdpIo {
  readonly kind = 'batched' as const;
  private readonly host: UdpHost;
  private readonly build: PacketBuilder;
  private readonly b: NativeBinding;
  private readonly rx: RxArea;
  private readonly nativeCopy: CopyFn | null;
  // The send area (see the file header).
  private readonly txData = new Uint8Array(TX_BYTES);
  private readonly txOffs = new Int32Array(TX_ENTRIES);
  private readonly txLens = new Int32Array(TX_ENTRIES);
  /** Family 0 in every record: each flow socket sends to its connected peer. Never written. */
  private readonly txAddrs = new Int32Array(TX_ENTRIES * ADDR_WORDS);
  private readonly txFlows: (UdpFlow | null)[] = new Array<UdpFlow | null>(TX_ENTRIES).fill(null);
  private txCount = 0;
  private txUsed = 0;
  private flushScheduled = false;
  private readonly flushTask: () => void;
  /** The clock, read once per run of sends and once per wake. */
  private nowMs = 0;
  // The receive loop.
  private readonly flows = new Set<UdpFlow>();
  private pollFds: number[] = [];
  private pollFlows: UdpFlow[] = [];
  private dirty = true;
  private kick = -1;
  private loop: Promise<void> | null = null;
  private stopped = false;

  constructor(host: UdpHost, build: PacketBuilder, b: NativeBinding) {
    this.host = host;
    this.build = build;
    this.b = b;
    threadRx ??= new RxArea();
    this.rx = threadRx;
    // The addon's memmove, where this build has it (a Node-API call, no JavaScript object).
    const mc = (b as unknown as { memCopy?: CopyFn }).memCopy;
    this.nativeCopy = typeof mc === 'function' ? mc : null;
    this.flushTask = () => {
      this.flushScheduled = false;
      this.flush();
    };
  }

  open(f: UdpFlow, t: UdpTarget): boolean {
    if (this.stopped) return false;
    const rec = [t.family, t.port, 0, 0, 0, 0, 0, 0];
    if (t.family === 4) rec[2] = t.v4 | 0;
    else for (let k = 0; k < 4; k++) rec[2 + k] = be32(t.v6, 4 * k) | 0;
    let nat: NativeUdp | null = null;
    try {
      nat = this.b.UdpSocket.open({ family: t.family, bind: t.family === 4 ? BIND_ANY4 : BIND_ANY6, connect: rec });
      const rx = this.rx;
      nat.setRxBuffers(rx.data, rx.offs, rx.lens, rx.addrs);
      nat.setTxBuffers(this.txData, this.txOffs, this.txLens, this.txAddrs);
    } catch {
      // No route (ENETUNREACH at connect), out of descriptors...: the caller answers with ICMP.
      nat?.close();
      return false;
    }
    f.nat = nat;
    this.flows.add(f);
    this.dirty = true;
    if (this.kick < 0) this.kick = this.b.eventfdCreate();
    if (this.loop !== null) this.b.eventfdKick(this.kick);
    else this.loop = this.run();
    return true;
  }

  send(f: UdpFlow, p: Uint8Array, off: number, len: number): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.nowMs = this.host.clock.now();
      queueMicrotask(this.flushTask);
    }
    f.lastActiveMs = this.nowMs;
    if (this.txCount === TX_ENTRIES || this.txUsed + len > TX_BYTES) this.flush();
    const e = this.txCount;
    const at = this.txUsed;
    this.copy(this.txData, at, p, off, len);
    this.txOffs[e] = at;
    this.txLens[e] = len;
    this.txFlows[e] = f;
    this.txCount = e + 1;
    this.txUsed = at + len;
  }

  /** Copies without a view: natively from NATIVE_COPY_MIN bytes up (when built), else a loop. */
  private copy(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, len: number): void {
    const mc = this.nativeCopy;
    if (mc !== null && len >= NATIVE_COPY_MIN) return mc(dst, dstOff, src, srcOff, len);
    for (let i = 0; i < len; i++) dst[dstOff + i] = src[srcOff + i]!;
  }

  /** Sends the queued entries, each run of one flow with one call. What the kernel refuses is dropped, counted. */
  flush(): void {
    const n = this.txCount;
    const flows = this.txFlows;
    let i = 0;
    while (i < n) {
      const f = flows[i]!;
      let j = i + 1;
      while (j < n && flows[j] === f) j++;
      const nat = f.nat;
      if (nat !== null && !f.closed) {
        let done = 0;
        try {
          done = nat.send(i, j - i, 0);
        } catch {
          done = 0;
        }
        for (let k = done; k < j - i; k++) this.host.drop('sendFailed');
      }
      i = j;
    }
    for (let k = 0; k < n; k++) flows[k] = null;
    this.txCount = 0;
    this.txUsed = 0;
  }

  close(f: UdpFlow): void {
    const nat = f.nat;
    if (nat === null) return;
    f.nat = null;
    // Queued datagrams of this flow are skipped by flush (f.closed).
    nat.close();
    this.flows.delete(f);
    this.dirty = true;
    if (this.loop !== null && this.kick >= 0) this.b.eventfdKick(this.kick);
  }

  /** Waits for any flow socket to be readable (one libuv pool thread), drains the ready ones. */
  private async run(): Promise<void> {
    const b = this.b;
    const rx = this.rx;
    while (!this.stopped && this.flows.size > 0) {
      if (this.dirty) this.rebuild();
      const flows = this.pollFlows;
      let revents: number[];
      try {
        // A bounded wait, so that the pool thread comes back now and then: process.exit() joins
        // libuv's pool threads, and one parked in poll(-1) would hold the exit forever.
        revents = (await b.waitFdsAsync(this.pollFds, this.kick, POLL_TIMEOUT_MS)) as number[];
      } catch {
        // poll(2) itself failed (EINTR is retried natively): rebuild the set and try again.
        this.dirty = true;
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      if (this.stopped) break;
      this.nowMs = this.host.clock.now();
      for (let i = 0; i < flows.length; i++) {
        const f = flows[i]!;
        if (revents[i] !== 0 && f.nat !== null) this.drain(f, rx);
      }
    }
    this.loop = null;
  }

  /** Receives what `f`'s socket holds (a few batches at most) and hands each datagram to its space. */
  drain(f: UdpFlow, rx: RxArea): void {
    for (let round = 0; round < DRAIN_ROUNDS; round++) {
      const nat = f.nat;
      if (nat === null) return;
      let n = 0;
      try {
        n = nat.recv(0, RX_ENTRIES, RX_CAP);
      } catch {
        return;
      }
      if (n === 0) return;
      f.lastActiveMs = this.nowMs;
      for (let e = 0; e < n; e++) {
        const len = rx.lens[e]!;
        if (len < 0) continue; // larger than RX_CAP: cannot happen for UDP over IP
        this.deliver(f, rx, e, len);
        if (f.closed) return;
      }
      if (n < RX_ENTRIES) return;
    }
  }

  private deliver(f: UdpFlow, rx: RxArea, e: number, len: number): void {
    const s = f.space;
    if (s.closed) return;
    this.host.counters.datagramsIn++;
    const payload = rx.offs[e]!;
    if (f.family === 4) {
      if (len > UDP_MAX_PAYLOAD4) return this.host.drop('badUdp');
      const n = this.build.udp4InPlace(rx.data, payload - IPV4_UDP_HEADERS, f.dst4, f.dport, f.src4, f.sport, len);
      s.out(rx.view4(e, n));
    } else {
      if (len > UDP_MAX_PAYLOAD6) return this.host.drop('badUdp');
      const n = this.build.udp6InPlace(rx.data, payload - IPV6_UDP_HEADERS, f.dst, 0, f.dport, f.src, 0, f.sport, len);
      s.out(rx.view6(e, n));
    }
  }

  /**
   * @internal Tests and benchmarks: receives synchronously on every open flow until nothing is
   * left (allocation checks run the whole path in one synchronous loop). Returns the datagrams handed over.
   */
  pollNow(): number {
    const before = this.host.counters.datagramsIn;
    if (this.dirty) this.rebuild();
    const flows = this.pollFlows;
    for (let got = -1; got !== this.host.counters.datagramsIn; ) {
      got = this.host.counters.datagramsIn;
      for (let i = 0; i < flows.length; i++) if (flows[i]!.nat !== null) this.drain(flows[i]!, this.rx);
    }
    return this.host.counters.datagramsIn - before;
  }

  private rebuild(): void {
    this.dirty = false;
    this.pollFlows = [...this.flows];
    this.pollFds = this.pollFlows.map((f) => f.nat!.fd);
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.flush();
    this.stopped = true;
    const loop = this.loop;
    if (loop !== null) {
      this.b.eventfdKick(this.kick);
      await loop;
    }
    for (const f of [...this.flows]) f.space.udp.remove(f);
    if (this.kick >= 0) this.b.fdClose(this.kick);
    this.kick = -1;
  }
}

/** @internal The batched io's synchronous receive (tests, benchmarks); 0 for dgram. */
export function pollUdpNow(io: UdpIo): number {
  if (io instanceof BatchedUdpIo) return io.pollNow();
  return 0;
}

/** @internal Flushes the batched io's queued sends now (tests, benchmarks). */
export function flushUdpNow(io: UdpIo): void {
  if (io instanceof BatchedUdpIo) io.flush();
}

export function checkUdpMode(v: unknown): UdpMode {
  if (v === undefined) return 'auto';
  if (v === 'auto' || v === 'batched' || v === 'dgram') return v;
  throw new PktError('ERR_PKT_CONFIG', `slirp: udp must be 'auto', 'batched' or 'dgram', got ${JSON.stringify(v)}`);
}
