/**
 * slirp UDP flows (RFC 768): what a flow is, the table of one namespace, and the contract of the
 * two ways to the kernel under them (`UdpIo`: udp-batched.ts, udp-dgram.ts). udp.ts decides which
 * datagrams make a flow; this file only holds them.
 *
 * A flow is one (virtual src, sport, virtual dst, dport) of a namespace with a real socket of its
 * own, as in slirp4netns: its own ephemeral port, connected to the real destination, so that the
 * kernel lets only that peer answer (endpoint-dependent filtering) and a reply finds its flow by
 * the socket it arrives on. Flows expire when idle (`limits.udpIdleMs`, swept by the Stack).
 *
 * Not concurrent: one thread owns the Stack, its flows and their sockets.
 */

import type * as dgram from 'node:dgram';
import type { Clock } from '../core/clock.js';
import type { PacketHandler } from '../core/device.js';
import type * as NetBinding from '../native/binding.js';
import { formatIPv4, formatIPv6 } from '../wire/addr.js';
import { be32 } from '../wire/bytes.js';
import type { SlirpCounters, SlirpDrop } from './host.js';

type NativeUdp = NetBinding.UdpSocket;

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


/**
 * What a flow needs of its namespace (space.ts's `Space`): where replies go and the table it is in.
 * Declared here so that the flows do not import the space that holds them.
 */
export interface UdpSpace {
  readonly closed: boolean;
  readonly out: PacketHandler;
  readonly udp: UdpTable;
}

/** A UDP flow: one real socket per (src, sport, dst, dport) of a namespace. */
export class UdpFlow {
  readonly key: number;
  readonly family: 4 | 6;
  readonly space: UdpSpace;
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

  constructor(key: number, space: UdpSpace, io: UdpIo, family: 4 | 6, p: Uint8Array, srcOff: number, sport: number, dstOff: number, dport: number, t: UdpTarget, now: number) {
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

/** What the kernel side needs of its Stack (udp.ts's `UdpHost` adds the flow decisions). */
export interface UdpIoHost {
  readonly counters: SlirpCounters;
  readonly clock: Clock;
  drop(reason: SlirpDrop): void;
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
