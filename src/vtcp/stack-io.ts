/**
 * The parts of `TcpStack` (stack.ts) that touch packets: the connection table keyed by 4-tuple,
 * the outgoing packet queue, and the per-connection `SegmentSink` that puts an IPv4 or IPv6
 * header (RFC 791 §3.1, RFC 8200 §3) and the TCP checksum (RFC 9293 §3.1's pseudo-header,
 * RFC 8200 §8.1 for IPv6) around each segment a Tcb emits.
 *
 * Why a queue: a Tcb's sink must not call back into it (contract.ts). A sink that handed the
 * packet straight to the device would, when the device is a PipeL3 joined to another stack in
 * the same thread, run the other stack, whose answer would come back into the emitting Tcb while
 * it is still inside `emit`. So `emit` builds the packet in a slot of `OutQueue` and returns;
 * the stack drains the queue into the device once no Tcb of it is on the call stack (at the end
 * of a packet's input, of a timer, or in a microtask after a user call).
 *
 *   Tcb.emit ──► ConnSink.emit ──► OutQueue (ring of slots, grows up to a bound) ──flush──► dev.send
 *
 * Allocation: building a packet allocates nothing in steady state except Node's view for the
 * payload copy (recv-buffer.ts's copyBytes explains why); the device is handed a cached view of
 * the slot (one per slot and length, so repeated sizes reuse it).
 */

import { be32 } from '../wire/bytes.js';
import { transportChecksumV4, transportChecksumV6 } from '../wire/checksum.js';
import { IpProto, emitIpv4, newIpv4Fields, type Ipv4Fields } from '../wire/ipv4.js';
import { IPV6_ADDR_LEN, IPV6_HEADER_LEN, emitIpv6, newIpv6Fields, type Ipv6Fields } from '../wire/ipv6.js';
import { emitTcp, tcpEmitLen, type TcpFields } from '../wire/tcp.js';
import { setBe16, setBe32 } from '../wire/bytes.js';
import type { SegmentSink } from './contract.js';
import type { Tcb } from './tcb.js';
import type { Conn } from './conn.js';
import { copyBytes } from './recv-buffer.js';

export const IPV4_HEADER_LEN = 20;
/** Offset of the checksum in the TCP header (RFC 9293 §3.1). */
const TCP_CSUM = 16;
/** Default hop limit / TTL of what we send. */
export const STACK_DEFAULT_TTL = 64;

/** Why the stack dropped a packet: the keys of `TcpStackStats.drops`. */
export const StackDrop = {
  truncated: 'truncated',
  badVersion: 'badVersion',
  badHeader: 'badHeader',
  badIpChecksum: 'badIpChecksum',
  badTcpChecksum: 'badTcpChecksum',
  badTcpHeader: 'badTcpHeader',
  notTcp: 'notTcp',
  fragment: 'fragment',
  notForUs: 'notForUs',
  badSource: 'badSource',
  noListener: 'noListener',
  tableFull: 'tableFull',
  queueFull: 'queueFull',
  tooBig: 'tooBig',
  closed: 'closed',
} as const;
export type StackDrop = (typeof StackDrop)[keyof typeof StackDrop];

/** What a sink needs from its stack. */
export interface SinkHost {
  readonly queue: OutQueue;
  readonly ttl: number;
  nextIdent(): number;
  dropOut(reason: StackDrop): void;
  scheduleFlush(): void;
}

/**
 * The `SegmentSink` of one connection (or of the stack's stateless replies, re-aimed per
 * packet): source and destination addresses, and the family. IPv4 addresses are uint32 in
 * `local4`/`remote4`; IPv6 ones 16 bytes in `local6`/`remote6`.
 */
export class ConnSink implements SegmentSink {
  family: 4 | 6;
  local4: number;
  remote4: number;
  readonly local6: Uint8Array;
  readonly remote6: Uint8Array;
  private readonly host: SinkHost;
  private readonly ip4: Ipv4Fields;
  private readonly ip6: Ipv6Fields;

  constructor(host: SinkHost) {
    this.family = 4;
    this.local4 = 0;
    this.remote4 = 0;
    this.local6 = new Uint8Array(IPV6_ADDR_LEN);
    this.remote6 = new Uint8Array(IPV6_ADDR_LEN);
    this.host = host;
    this.ip4 = newIpv4Fields();
    this.ip4.protocol = IpProto.TCP;
    this.ip4.ttl = host.ttl;
    this.ip6 = newIpv6Fields();
    this.ip6.nextHeader = IpProto.TCP;
    this.ip6.hopLimit = host.ttl;
    // The IPv6 fields own no arrays of their own here: they point at ours.
    this.ip6.src = this.local6;
    this.ip6.dst = this.remote6;
  }

  /** Aims the sink from `local` to `remote` (4 or 16 bytes each, same length). */
  setAddrs(local: Uint8Array, remote: Uint8Array): this {
    if (local.length === 4) {
      this.family = 4;
      this.local4 = be32(local, 0);
      this.remote4 = be32(remote, 0);
    } else {
      this.family = 6;
      this.local6.set(local);
      this.remote6.set(remote);
    }
    return this;
  }

  /** The local address as bytes (a new array: cold path). */
  localBytes(): Uint8Array {
    if (this.family === 6) return this.local6.slice();
    const b = new Uint8Array(4);
    setBe32(b, 0, this.local4);
    return b;
  }

  /** The remote address as bytes (a new array: cold path). */
  remoteBytes(): Uint8Array {
    if (this.family === 6) return this.remote6.slice();
    const b = new Uint8Array(4);
    setBe32(b, 0, this.remote4);
    return b;
  }

  emit(f: TcpFields, payload: Uint8Array, payloadOff: number, payloadLen: number): void {
    const host = this.host;
    const ipLen = this.family === 4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN;
    const tcpHl = tcpEmitLen(f);
    const segLen = tcpHl + payloadLen;
    const total = ipLen + segLen;
    const q = host.queue;
    if (total > q.slotSize) return host.dropOut(StackDrop.tooBig);
    const slot = q.reserve();
    if (slot === null) return host.dropOut(StackDrop.queueFull);
    emitTcp(f, slot, ipLen);
    if (payloadLen > 0) copyBytes(slot, ipLen + tcpHl, payload, payloadOff, payloadLen);
    if (this.family === 4) {
      const h = this.ip4;
      h.src = this.local4;
      h.dst = this.remote4;
      h.payloadLen = segLen;
      h.ident = host.nextIdent();
      emitIpv4(h, slot, 0);
      setBe16(slot, ipLen + TCP_CSUM, transportChecksumV4(IpProto.TCP, this.local4, this.remote4, slot, ipLen, segLen));
    } else {
      const h = this.ip6;
      h.payloadLen = segLen;
      emitIpv6(h, slot, 0);
      // The pseudo-header's addresses are read from the header just written (offsets 8 and 24).
      setBe16(slot, ipLen + TCP_CSUM, transportChecksumV6(IpProto.TCP, slot, 8, 24, slot, ipLen, segLen));
    }
    q.commit(total);
    host.scheduleFlush();
  }
}

/**
 * A FIFO of packets waiting for the device: a ring of fixed-size slots that doubles (up to
 * `maxSlots`) when a burst outgrows it, and never shrinks.
 *
 *   slots:  [ free | head ... head+count-1 (queued) | free ]   (indices mod capacity)
 *   reserve() returns the slot at head+count; commit(len) queues it; shift() hands out the head.
 */
export class OutQueue {
  readonly slotSize: number;
  readonly maxSlots: number;
  private slots: Uint8Array[];
  private lens: Int32Array;
  private views: Uint8Array[];
  private head = 0;
  private count = 0;
  private reserved = -1;
  /** Most packets queued at once (for stats). */
  highWater = 0;

  constructor(slotSize: number, initialSlots: number, maxSlots: number) {
    this.slotSize = slotSize;
    this.maxSlots = maxSlots;
    this.slots = [];
    this.views = [];
    for (let i = 0; i < initialSlots; i++) {
      const s = new Uint8Array(slotSize);
      this.slots.push(s);
      this.views.push(s);
    }
    this.lens = new Int32Array(initialSlots);
  }

  get length(): number {
    return this.count;
  }

  /** The slot to write the next packet into, or null when the queue is at its bound. */
  reserve(): Uint8Array | null {
    let cap = this.slots.length;
    if (this.count === cap) {
      if (cap >= this.maxSlots) return null;
      this.grow();
      cap = this.slots.length;
    }
    const i = (this.head + this.count) % cap;
    this.reserved = i;
    return this.slots[i]!;
  }

  /** Queues the reserved slot with `len` bytes. */
  commit(len: number): void {
    const i = this.reserved;
    this.lens[i] = len;
    this.reserved = -1;
    this.count++;
    if (this.count > this.highWater) this.highWater = this.count;
  }

  /**
   * The oldest packet as a view of its slot (cached per slot and length), or null when empty.
   * The view is valid until the next `reserve` could reuse the slot: hand it on at once.
   */
  shift(): Uint8Array | null {
    if (this.count === 0) return null;
    const i = this.head;
    const len = this.lens[i]!;
    let v = this.views[i]!;
    if (v.length !== len) {
      v = this.slots[i]!.subarray(0, len);
      this.views[i] = v;
    }
    this.head = (i + 1) % this.slots.length;
    this.count--;
    return v;
  }

  /** Forgets every queued packet. */
  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  /** Doubles the ring, keeping the queued packets in order from index 0. */
  private grow(): void {
    const cap = this.slots.length;
    const next = Math.min(this.maxSlots, cap * 2);
    const slots: Uint8Array[] = [];
    const views: Uint8Array[] = [];
    const lens = new Int32Array(next);
    for (let k = 0; k < cap; k++) {
      const i = (this.head + k) % cap;
      slots.push(this.slots[i]!);
      views.push(this.views[i]!);
      lens[k] = this.lens[i]!;
    }
    for (let k = cap; k < next; k++) {
      const s = new Uint8Array(this.slotSize);
      slots.push(s);
      views.push(s);
    }
    this.slots = slots;
    this.views = views;
    this.lens = lens;
    this.head = 0;
  }
}

/** One connection the stack routes to: its 4-tuple (numbers), Tcb, sink and stream. */
export class ConnEntry {
  readonly family: 4 | 6;
  readonly localPort: number;
  readonly remotePort: number;
  /** Address words: IPv4 in word 0, IPv6 in words 0-3 (big-endian u32). */
  readonly l0: number;
  readonly l1: number;
  readonly l2: number;
  readonly l3: number;
  readonly r0: number;
  readonly r1: number;
  readonly r2: number;
  readonly r3: number;
  readonly tcb: Tcb;
  readonly sink: ConnSink;
  conn: Conn | null;
  /** The local port was taken from the ephemeral range (released with the entry). */
  ephemeral: boolean;
  /** Next entry in the same hash chain. */
  next: ConnEntry | null;
  inTable: boolean;

  constructor(sink: ConnSink, tcb: Tcb, localPort: number, remotePort: number) {
    this.family = sink.family;
    this.localPort = localPort;
    this.remotePort = remotePort;
    if (sink.family === 4) {
      this.l0 = sink.local4;
      this.r0 = sink.remote4;
      this.l1 = this.l2 = this.l3 = this.r1 = this.r2 = this.r3 = 0;
    } else {
      const l = sink.local6;
      const r = sink.remote6;
      this.l0 = be32(l, 0);
      this.l1 = be32(l, 4);
      this.l2 = be32(l, 8);
      this.l3 = be32(l, 12);
      this.r0 = be32(r, 0);
      this.r1 = be32(r, 4);
      this.r2 = be32(r, 8);
      this.r3 = be32(r, 12);
    }
    this.tcb = tcb;
    this.sink = sink;
    this.conn = null;
    this.ephemeral = false;
    this.next = null;
    this.inTable = false;
  }
}

/**
 * The connection table: a Map from a 30-bit number made of the two ports (a V8 small integer,
 * so a lookup allocates nothing) to a chain of entries, each compared on the whole 4-tuple.
 * Bounded by `limit` entries.
 */
export class ConnTable {
  readonly limit: number;
  private readonly map = new Map<number, ConnEntry>();
  private n = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get size(): number {
    return this.n;
  }

  private static key(localPort: number, remotePort: number): number {
    return ((remotePort << 14) ^ localPort) & 0x3fff_ffff;
  }

  /** The IPv4 connection localAddr:localPort <- remoteAddr:remotePort, or null. */
  find4(localPort: number, remotePort: number, local: number, remote: number): ConnEntry | null {
    let e = this.map.get(ConnTable.key(localPort, remotePort)) ?? null;
    while (e !== null) {
      if (e.localPort === localPort && e.remotePort === remotePort && e.l0 === local && e.r0 === remote && e.family === 4) return e;
      e = e.next;
    }
    return null;
  }

  /** The IPv6 connection whose addresses are at `localOff` and `remoteOff` in `b`, or null. */
  find6(localPort: number, remotePort: number, b: Uint8Array, localOff: number, remoteOff: number): ConnEntry | null {
    let e = this.map.get(ConnTable.key(localPort, remotePort)) ?? null;
    while (e !== null) {
      if (
        e.localPort === localPort &&
        e.remotePort === remotePort &&
        e.family === 6 &&
        e.r3 === be32(b, remoteOff + 12) &&
        e.l3 === be32(b, localOff + 12) &&
        e.r0 === be32(b, remoteOff) &&
        e.r1 === be32(b, remoteOff + 4) &&
        e.r2 === be32(b, remoteOff + 8) &&
        e.l0 === be32(b, localOff) &&
        e.l1 === be32(b, localOff + 4) &&
        e.l2 === be32(b, localOff + 8)
      ) {
        return e;
      }
      e = e.next;
    }
    return null;
  }

  /** The entry with the same 4-tuple as `x`, or null. */
  findLike(x: ConnEntry): ConnEntry | null {
    let e = this.map.get(ConnTable.key(x.localPort, x.remotePort)) ?? null;
    while (e !== null) {
      if (
        e.localPort === x.localPort && e.remotePort === x.remotePort && e.family === x.family &&
        e.l0 === x.l0 && e.l1 === x.l1 && e.l2 === x.l2 && e.l3 === x.l3 &&
        e.r0 === x.r0 && e.r1 === x.r1 && e.r2 === x.r2 && e.r3 === x.r3
      ) {
        return e;
      }
      e = e.next;
    }
    return null;
  }

  /** Adds `e`; false when the table is full or the 4-tuple is taken. */
  insert(e: ConnEntry): boolean {
    if (this.n >= this.limit || e.inTable || this.findLike(e) !== null) return false;
    const k = ConnTable.key(e.localPort, e.remotePort);
    e.next = this.map.get(k) ?? null;
    this.map.set(k, e);
    e.inTable = true;
    this.n++;
    return true;
  }

  /** Removes `e` (a no-op when it is not in the table). */
  remove(e: ConnEntry): void {
    if (!e.inTable) return;
    const k = ConnTable.key(e.localPort, e.remotePort);
    let p = this.map.get(k) ?? null;
    if (p === e) {
      if (e.next === null) this.map.delete(k);
      else this.map.set(k, e.next);
    } else {
      while (p !== null && p.next !== e) p = p.next;
      if (p !== null) p.next = e.next;
    }
    e.next = null;
    e.inTable = false;
    this.n--;
  }

  /** Every entry (a snapshot: cold path). */
  entries(): ConnEntry[] {
    const out: ConnEntry[] = [];
    for (const head of this.map.values()) {
      for (let x: ConnEntry | null = head; x !== null; x = x.next) out.push(x);
    }
    return out;
  }
}
