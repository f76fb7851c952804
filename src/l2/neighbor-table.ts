/**
 * The neighbour cache shared by ARP (RFC 826) and NDP (RFC 4861 §7.3): one entry per on-link IP
 * address, with the reachability state machine of RFC 4861 §7.3.2 and its timers. Linux runs
 * ARP through the same machine (neigh_update), and so does pktkit: an IPv4 entry is confirmed by
 * an ARP reply as an IPv6 one is by a solicited Neighbor Advertisement.
 *
 *                  packet to send, no entry
 *                           |
 *                           v      retrans timer, < max multicast solicits: solicit again
 *                     +------------+ ------+
 *                     | INCOMPLETE | <-----+    max reached: drop the queue, remove
 *                     +------------+
 *          confirmed /              \ learned (not confirmed)
 *                   v                v
 *   +-----------+  reachable time  +-------+  GC time unused: remove
 *   | REACHABLE | ---------------> | STALE | ---------------------->
 *   +-----------+                  +-------+
 *         ^                            | packet sent
 *         | confirmed                  v
 *         +-------------------- +-------+  first-probe delay  +-------+  retrans timer
 *         +-------------------- | DELAY | ------------------> | PROBE | --+ (unicast solicit)
 *                               +-------+                     +-------+ <-+ max: remove
 *
 * Addresses are held as four int32 words (IPv4: word 0 only) and MACs as two small integers
 * (high 16 bits, low 32 bits as int32), so that V8 never boxes a double on the lookup path.
 * Entries are found by an IntMap over a seeded hash of the address with collision chains, and
 * kept on a list from least to most recently updated: the table never holds more than
 * `maxEntries`; a new entry evicts the least recently updated one.
 *
 * Packets waiting for resolution are copies (the caller's buffer is borrowed), at most
 * `maxPendingPerEntry` per entry and `maxPendingTotal` in the table; overflow is dropped and
 * counted. Each entry has at most one timer, armed on the injected Clock; `clear()` cancels all.
 *
 * Not concurrent: one table per adapter, on one thread.
 */

import type { Clock, TimerHandle } from '../core/clock.js';
import { IntMap } from '../core/int-map.js';
import { DropReason } from '../core/stats.js';
import { L2DropReason, L2Event, type L2Counters } from './stats.js';

/** RFC 4861 §7.3.2 neighbour states. */
export const NudState = {
  Incomplete: 1,
  Reachable: 2,
  Stale: 3,
  Delay: 4,
  Probe: 5,
} as const;
export type NudState = (typeof NudState)[keyof typeof NudState];

/** Display names of NudState, indexed by state. */
export const NUD_STATE_NAMES: readonly string[] = ['', 'INCOMPLETE', 'REACHABLE', 'STALE', 'DELAY', 'PROBE'];

/** What a table asks of its protocol (ARP or NDP). */
export interface NeighborProtocol {
  /**
   * Sends a solicitation for `n`: to the broadcast or solicited-node group while `n.state` is
   * INCOMPLETE, unicast to `n`'s MAC in PROBE (RFC 4861 §7.3.3).
   */
  solicit(n: Neighbor): void;
  /** Sends `packet` (a queued copy) to `n`, whose MAC is now known. */
  transmit(n: Neighbor, packet: Uint8Array): void;
}

/** The table's limits and timers (all in ms). */
export interface NeighborTableConfig {
  maxEntries: number;
  maxPendingPerEntry: number;
  maxPendingTotal: number;
  /** The RFC's ReachableTime (already randomised from BaseReachableTime, §6.3.2). */
  reachableMs: number;
  retransMs: number;
  delayFirstProbeMs: number;
  /** How long an unused STALE entry is kept (garbage collection, which the RFC leaves open). */
  staleMs: number;
  maxMulticastSolicit: number;
  maxUnicastSolicit: number;
}

/** One neighbour. Fields are public for the protocol engines; change them through the table. */
export class Neighbor {
  w0 = 0;
  w1 = 0;
  w2 = 0;
  w3 = 0;
  macHi = 0;
  macLo = 0;
  state: NudState = NudState.Incomplete;
  /** Solicitations sent in the current INCOMPLETE or PROBE run. */
  probes = 0;
  timer: TimerHandle | null = null;
  pending: Uint8Array[] | null = null;
  hashKey = 0;
  hashNext: Neighbor | null = null;
  older: Neighbor | null = null;
  newer: Neighbor | null = null;
  /** True while in the table. */
  live = true;
  /** The timer callback, made once per entry (not per arming). */
  readonly fire: () => void;

  constructor(table: NeighborTable) {
    this.fire = () => table.onTimer(this);
  }

  /** The MAC as a 48-bit number (cold path). */
  get mac(): number {
    return this.macHi * 0x1_0000_0000 + (this.macLo >>> 0);
  }
}

export class NeighborTable {
  private readonly map: IntMap<Neighbor>;
  private count = 0;
  private oldest: Neighbor | null = null;
  private newest: Neighbor | null = null;
  private pendingTotal = 0;
  private readonly seed: number;
  private readonly clock: Clock;
  private readonly cfg: NeighborTableConfig;
  private readonly counters: L2Counters;
  proto: NeighborProtocol;

  constructor(clock: Clock, cfg: NeighborTableConfig, counters: L2Counters, proto: NeighborProtocol, seed: number) {
    this.clock = clock;
    this.cfg = cfg;
    this.counters = counters;
    this.proto = proto;
    this.seed = seed | 0;
    this.map = new IntMap<Neighbor>(seed ^ 0x5bd1e995);
  }

  get size(): number {
    return this.count;
  }

  /** Packets waiting for resolution in this table. */
  get pending(): number {
    return this.pendingTotal;
  }

  /** The hash of an address: the IPv4 address itself, or a seeded mix of the IPv6 words. */
  private hash(w0: number, w1: number, w2: number, w3: number): number {
    let h = Math.imul(w0 ^ this.seed, 0x85ebca6b);
    h = Math.imul(h ^ w1 ^ (h >>> 15), 0xc2b2ae35);
    h = Math.imul(h ^ w2 ^ (h >>> 13), 0x85ebca6b);
    return (h ^ w3 ^ (h >>> 16)) | 0;
  }

  /** The entry for the IPv4 address `ip` (int32 or uint32), or null. Allocates nothing. */
  find4(ip: number): Neighbor | null {
    ip |= 0;
    let n: Neighbor | null | undefined = this.map.get(ip);
    while (n !== undefined && n !== null) {
      if (n.w0 === ip) return n;
      n = n.hashNext;
    }
    return null;
  }

  /** The entry for the IPv6 address given as four int32 words, or null. Allocates nothing. */
  find6(w0: number, w1: number, w2: number, w3: number): Neighbor | null {
    let n: Neighbor | null | undefined = this.map.get(this.hash(w0, w1, w2, w3));
    while (n !== undefined && n !== null) {
      if (n.w3 === w3 && n.w2 === w2 && n.w1 === w1 && n.w0 === w0) return n;
      n = n.hashNext;
    }
    return null;
  }

  /** Adds an IPv4 entry in `state` (INCOMPLETE, or STALE with its MAC), evicting if full. */
  add4(ip: number, state: NudState, macHi: number, macLo: number): Neighbor {
    return this.add(ip | 0, 0, 0, 0, ip | 0, state, macHi, macLo);
  }

  /** Adds an IPv6 entry (see add4). */
  add6(w0: number, w1: number, w2: number, w3: number, state: NudState, macHi: number, macLo: number): Neighbor {
    return this.add(w0, w1, w2, w3, this.hash(w0, w1, w2, w3), state, macHi, macLo);
  }

  private add(w0: number, w1: number, w2: number, w3: number, key: number, state: NudState, macHi: number, macLo: number): Neighbor {
    if (this.count >= this.cfg.maxEntries && this.oldest !== null) {
      this.counters.event(L2Event.Evictions);
      this.remove(this.oldest, L2DropReason.Evicted);
    }
    const n = new Neighbor(this);
    n.w0 = w0;
    n.w1 = w1;
    n.w2 = w2;
    n.w3 = w3;
    n.hashKey = key;
    n.hashNext = this.map.get(key) ?? null;
    this.map.set(key, n);
    this.count++;
    this.linkNewest(n);
    if (state === NudState.Incomplete) {
      n.state = NudState.Incomplete;
    } else {
      n.macHi = macHi;
      n.macLo = macLo | 0;
      this.enter(n, state);
    }
    return n;
  }

  /** Queues a copy of `packet` on `n` (INCOMPLETE), or drops it counted when a bound is hit. */
  enqueue(n: Neighbor, packet: Uint8Array): void {
    if (this.pendingTotal >= this.cfg.maxPendingTotal) return this.counters.drop(DropReason.QueueFull);
    if (n.pending === null) n.pending = [];
    else if (n.pending.length >= this.cfg.maxPendingPerEntry) return this.counters.drop(DropReason.QueueFull);
    n.pending.push(packet.slice());
    this.pendingTotal++;
    this.counters.event(L2Event.Queued);
  }

  /** Starts resolving a new INCOMPLETE entry: the first solicitation and its retransmit timer. */
  startResolve(n: Neighbor): void {
    n.probes = 1;
    this.arm(n, this.cfg.retransMs);
    this.proto.solicit(n);
  }

  /** Output on a STALE entry: RFC 4861 §7.3.3, "the sender ... changes the state to DELAY". */
  used(n: Neighbor): void {
    if (n.state === NudState.Stale) this.enter(n, NudState.Delay);
  }

  /**
   * Applies what an advertisement or ARP packet says about `n`: its MAC (`macHi` < 0 for none),
   * whether that reached us in answer to our solicitation (`solicited`: NA S flag, ARP reply),
   * and whether it may replace a different cached MAC (`override`: NA O flag; always for ARP).
   * RFC 4861 §7.2.5 for entries past INCOMPLETE; an INCOMPLETE entry without a MAC is left as is.
   * Returns true when the entry changed MAC.
   */
  update(n: Neighbor, macHi: number, macLo: number, solicited: boolean, override: boolean): boolean {
    if (!n.live) return false;
    macLo |= 0;
    if (n.state === NudState.Incomplete) {
      if (macHi < 0) return false;
      n.macHi = macHi;
      n.macLo = macLo;
      this.counters.event(L2Event.Resolved);
      this.enter(n, solicited ? NudState.Reachable : NudState.Stale);
      this.touch(n);
      this.flush(n);
      return true;
    }
    const differs = macHi >= 0 && (macHi !== n.macHi || macLo !== n.macLo);
    if (!override && differs) {
      // §7.2.5: "If the Override flag is clear and the supplied link-layer address differs ...
      // if the entry is REACHABLE, set its state to STALE ... Otherwise ... ignore."
      if (n.state === NudState.Reachable) this.enter(n, NudState.Stale);
      return false;
    }
    if (differs) {
      n.macHi = macHi;
      n.macLo = macLo;
    }
    if (solicited) this.enter(n, NudState.Reachable);
    else if (differs) this.enter(n, NudState.Stale);
    this.touch(n);
    return differs;
  }

  /**
   * What a solicitation (NS with SLLA, ARP request) from `n` says: its MAC. §7.2.3: a different
   * MAC makes the entry STALE; an INCOMPLETE one gets the MAC, goes STALE and sends its queue.
   */
  learn(n: Neighbor, macHi: number, macLo: number): void {
    macLo |= 0;
    if (n.state === NudState.Incomplete) {
      n.macHi = macHi;
      n.macLo = macLo;
      this.counters.event(L2Event.Resolved);
      this.enter(n, NudState.Stale);
      this.touch(n);
      this.flush(n);
    } else if (macHi !== n.macHi || macLo !== n.macLo) {
      n.macHi = macHi;
      n.macLo = macLo;
      this.enter(n, NudState.Stale);
      this.touch(n);
    }
  }

  /** Removes `n`, dropping its queued packets for `reason`. */
  remove(n: Neighbor, reason: number): void {
    if (!n.live) return;
    n.live = false;
    if (n.timer !== null) this.clock.clearTimer(n.timer);
    n.timer = null;
    if (n.pending !== null) {
      this.counters.drop(reason, n.pending.length);
      this.pendingTotal -= n.pending.length;
      n.pending = null;
    }
    // Unlink from the hash chain.
    const head = this.map.get(n.hashKey);
    if (head === n) {
      if (n.hashNext === null) this.map.delete(n.hashKey);
      else this.map.set(n.hashKey, n.hashNext);
    } else {
      let p = head ?? null;
      while (p !== null && p.hashNext !== n) p = p.hashNext;
      if (p !== null) p.hashNext = n.hashNext;
    }
    n.hashNext = null;
    // Unlink from the age list.
    if (n.older !== null) n.older.newer = n.newer;
    else this.oldest = n.newer;
    if (n.newer !== null) n.newer.older = n.older;
    else this.newest = n.older;
    n.older = n.newer = null;
    this.count--;
  }

  /** Removes every entry and cancels every timer; queued packets are counted as `reason`. */
  clear(reason: number = DropReason.Closed): void {
    while (this.oldest !== null) this.remove(this.oldest, reason);
  }

  /** Every entry, oldest first (cold path: display and tests). */
  list(): Neighbor[] {
    const out: Neighbor[] = [];
    for (let n = this.oldest; n !== null; n = n.newer) out.push(n);
    return out;
  }

  /** @internal The timer of `n` fired. */
  onTimer(n: Neighbor): void {
    n.timer = null;
    if (!n.live) return;
    const cfg = this.cfg;
    switch (n.state) {
      case NudState.Incomplete:
        if (n.probes >= cfg.maxMulticastSolicit) {
          // §7.3.3: "If no Neighbor Advertisement is received after MAX_MULTICAST_SOLICIT
          // solicitations, address resolution has failed ... the entry SHOULD be deleted."
          this.counters.event(L2Event.ResolutionFailures);
          this.remove(n, L2DropReason.ResolutionFailed);
          return;
        }
        n.probes++;
        this.arm(n, cfg.retransMs);
        this.proto.solicit(n);
        return;
      case NudState.Reachable:
        this.enter(n, NudState.Stale);
        return;
      case NudState.Stale:
        this.remove(n, DropReason.Closed);
        return;
      case NudState.Delay:
        n.state = NudState.Probe;
        n.probes = 1;
        this.arm(n, cfg.retransMs);
        this.proto.solicit(n);
        return;
      default: // Probe
        if (n.probes >= cfg.maxUnicastSolicit) {
          this.remove(n, DropReason.Closed);
          return;
        }
        n.probes++;
        this.arm(n, cfg.retransMs);
        this.proto.solicit(n);
        return;
    }
  }

  /** Puts `n` in `state` (not INCOMPLETE or PROBE) with that state's timer. */
  private enter(n: Neighbor, state: NudState): void {
    n.state = state;
    n.probes = 0;
    const cfg = this.cfg;
    this.arm(n, state === NudState.Reachable ? cfg.reachableMs : state === NudState.Delay ? cfg.delayFirstProbeMs : cfg.staleMs);
  }

  private arm(n: Neighbor, ms: number): void {
    if (n.timer !== null) this.clock.clearTimer(n.timer);
    n.timer = this.clock.setTimer(n.fire, ms);
  }

  private flush(n: Neighbor): void {
    const q = n.pending;
    if (q === null) return;
    n.pending = null;
    this.pendingTotal -= q.length;
    for (let i = 0; i < q.length && n.live; i++) this.proto.transmit(n, q[i]!);
    // Sending on a STALE entry starts the DELAY timer (§7.3.3), as it would for a new packet.
    if (q.length > 0 && n.live) this.used(n);
  }

  /** Moves `n` to the newest end of the age list. */
  private touch(n: Neighbor): void {
    if (this.newest === n) return;
    if (n.older !== null) n.older.newer = n.newer;
    else this.oldest = n.newer;
    if (n.newer !== null) n.newer.older = n.older;
    n.older = n.newer = null;
    this.linkNewest(n);
  }

  private linkNewest(n: Neighbor): void {
    n.older = this.newest;
    n.newer = null;
    if (this.newest !== null) this.newest.newer = n;
    else this.oldest = n;
    this.newest = n;
  }
}
