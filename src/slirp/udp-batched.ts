/**
 * slirp's batched UDP (the addon's `udp` feature; the default when it is built): the kernel side
 * of the flows of one Stack (a `UdpIo`, udp-flow.ts), with one native socket per flow and no
 * buffer of its own: every flow socket of a Stack sends from the Stack's tx area, and every flow
 * socket of the thread receives into one rx area (receiving is synchronous, so they take turns).
 * Nothing is allocated per datagram, either way:
 *
 *   send(p) ─► udp.ts input4/6: checks, flow lookup (numeric hash) ─► copy payload into the tx area
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
 * Not concurrent: one thread owns the Stack, its flows and their sockets.
 */

import type { NativeBinding } from '../native/index.js';
import type * as NetBinding from '../native/binding.js';
import { be32 } from '../wire/bytes.js';
import { UDP_MAX_PAYLOAD4, UDP_MAX_PAYLOAD6, type PacketBuilder } from './packets.js';
import type { UdpFlow, UdpIo, UdpIoHost, UdpTarget } from './udp-flow.js';

type NativeUdp = NetBinding.UdpSocket;

// RFC 791 §3.1 + RFC 768, RFC 8200 §3 + RFC 768: the headers written in front of a payload.
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
export class BatchedUdpIo implements UdpIo {
  readonly kind = 'batched' as const;
  private readonly host: UdpIoHost;
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

  constructor(host: UdpIoHost, build: PacketBuilder, b: NativeBinding) {
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
