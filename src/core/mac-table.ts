/**
 * MacTable: a bounded map from 48-bit MAC address to port number, built for a switch's
 * per-frame lookups: no allocation, no Map with heap-number keys, no strings.
 *
 * Layout (all typed arrays, sized once):
 *
 *   index  Int32Array(slots)     open addressing, linear probing; entry id + 1, 0 = empty
 *   keyHi  Int32Array(capacity)  high 16 bits of the MAC     \
 *   keyLo  Int32Array(capacity)  low 32 bits (as int32)       |  one row per entry id
 *   port   Int32Array(capacity)  port number                  |
 *   seen   Int32Array(capacity)  last seen, in the caller's coarse time units
 *   prev/next Int32Array         intrusive list, most recently seen at the head (LRU order);
 *                                free entries are chained through `next`
 *
 * `slots` is the next power of two at or above twice the capacity, so the load factor stays at
 * most 1/2. Deletion uses backward shifting (no tombstones), so probe runs never silt up.
 *
 * The hash is seeded at random per table, so a sender choosing source MACs cannot aim for one
 * probe run without first learning the seed. Together with the capacity bound this keeps the
 * worst case of a flood of fake MACs at "the table holds the most recent `capacity` of them".
 *
 * Eviction: when full, `learn` evicts the least recently seen entry (the list's tail). Aging:
 * `expireOlderThan(t)` pops entries from the tail while they were last seen before t, so it
 * costs time in proportion to what expires, not to the table size.
 */

import { intInRange } from '../errors.js';

const EMPTY = 0;
const NIL = -1;

export class MacTable {
  readonly capacity: number;
  private readonly mask: number;
  private readonly index: Int32Array;
  private readonly keyHi: Int32Array;
  private readonly keyLo: Int32Array;
  private readonly portOfEntry: Int32Array;
  private readonly seenAt: Int32Array;
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private head = NIL;
  private tail = NIL;
  private freeHead: number;
  private count = 0;
  private readonly seedA: number;
  private readonly seedB: number;
  /** Entries evicted to make room. */
  evictions = 0;

  /** @param seed fixes the hash seeds (tests); random by default. */
  constructor(capacity: number, seed?: number) {
    this.capacity = intInRange('MacTable capacity', capacity, 1, 1 << 24);
    let slots = 2;
    while (slots < capacity * 2) slots *= 2;
    this.mask = slots - 1;
    this.index = new Int32Array(slots);
    this.keyHi = new Int32Array(capacity);
    this.keyLo = new Int32Array(capacity);
    this.portOfEntry = new Int32Array(capacity);
    this.seenAt = new Int32Array(capacity);
    this.prev = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.next[i] = i + 1 < capacity ? i + 1 : NIL;
    this.freeHead = 0;
    const r = new Uint32Array(2);
    if (seed === undefined) crypto.getRandomValues(r);
    else {
      r[0] = seed;
      r[1] = seed ^ 0x5bd1e995;
    }
    this.seedA = r[0]! | 0;
    this.seedB = r[1]! | 0;
  }

  get size(): number {
    return this.count;
  }

  private home(hi: number, lo: number): number {
    let h = Math.imul(lo ^ this.seedA, 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h ^ hi ^ this.seedB, 0x85ebca77);
    h ^= h >>> 13;
    return h & this.mask;
  }

  /** The slot holding the entry for (hi, lo), or -1. */
  private slotOf(hi: number, lo: number): number {
    const index = this.index;
    let s = this.home(hi, lo);
    for (;;) {
      const v = index[s]!;
      if (v === EMPTY) return -1;
      const e = v - 1;
      if (this.keyLo[e] === lo && this.keyHi[e] === hi) return s;
      s = (s + 1) & this.mask;
    }
  }

  /**
   * The entry id for the MAC whose high 16 bits are `hi` and low 32 bits `lo` (as int32), or -1.
   */
  lookup(hi: number, lo: number): number {
    const s = this.slotOf(hi, lo);
    return s < 0 ? -1 : this.index[s]! - 1;
  }

  /** The port of entry `e`. */
  portOf(e: number): number {
    return this.portOfEntry[e]!;
  }

  /** When entry `e` was last seen. */
  seenOf(e: number): number {
    return this.seenAt[e]!;
  }

  /** Points entry `e` at another port (a MAC that moved). */
  setPort(e: number, port: number): void {
    this.portOfEntry[e] = port;
  }

  /** Marks entry `e` seen at `now`, moving it to the head of the LRU list if its time changed. */
  touch(e: number, now: number): void {
    if (this.seenAt[e] === now) return;
    this.seenAt[e] = now;
    if (this.head === e) return;
    this.unlink(e);
    this.pushHead(e);
  }

  /**
   * Adds an entry for a MAC not in the table (the caller looked it up first) and returns its id.
   * When full, the least recently seen entry is evicted first.
   */
  learn(hi: number, lo: number, port: number, now: number): number {
    if (this.freeHead === NIL) {
      this.removeEntry(this.tail);
      this.evictions++;
    }
    const e = this.freeHead;
    this.freeHead = this.next[e]!;
    this.keyHi[e] = hi;
    this.keyLo[e] = lo;
    this.portOfEntry[e] = port;
    this.seenAt[e] = now;
    this.pushHead(e);
    let s = this.home(hi, lo);
    while (this.index[s] !== EMPTY) s = (s + 1) & this.mask;
    this.index[s] = e + 1;
    this.count++;
    return e;
  }

  /** Removes entry `e`. */
  removeEntry(e: number): void {
    const s = this.slotOf(this.keyHi[e]!, this.keyLo[e]!);
    if (s < 0) return;
    this.deleteSlot(s);
    this.unlink(e);
    this.portOfEntry[e] = NIL;
    this.next[e] = this.freeHead;
    this.freeHead = e;
    this.count--;
  }

  /** Removes every entry last seen before `cutoff`. Returns how many. */
  expireOlderThan(cutoff: number): number {
    let n = 0;
    while (this.tail !== NIL && this.seenAt[this.tail]! < cutoff) {
      this.removeEntry(this.tail);
      n++;
    }
    return n;
  }

  /** Removes every entry pointing at `port`. Returns how many. */
  removePort(port: number): number {
    let n = 0;
    let e = this.head;
    while (e !== NIL) {
      const nextE = this.next[e]!;
      if (this.portOfEntry[e] === port) {
        this.removeEntry(e);
        n++;
      }
      e = nextE;
    }
    return n;
  }

  /** Empties the table. */
  clear(): void {
    while (this.tail !== NIL) this.removeEntry(this.tail);
  }

  /** Calls `fn` for every entry, most recently seen first (cold path: stats, tests). */
  forEach(fn: (hi: number, lo: number, port: number, seen: number) => void): void {
    for (let e = this.head; e !== NIL; e = this.next[e]!) fn(this.keyHi[e]!, this.keyLo[e]!, this.portOfEntry[e]!, this.seenAt[e]!);
  }

  // Backward-shift deletion for linear probing: move later members of the probe run into the
  // hole whenever their home slot does not lie cyclically in (hole, their slot].
  private deleteSlot(hole: number): void {
    const index = this.index;
    const mask = this.mask;
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const v = index[j]!;
      if (v === EMPTY) break;
      const e = v - 1;
      const k = this.home(this.keyHi[e]!, this.keyLo[e]!);
      const stays = hole <= j ? hole < k && k <= j : hole < k || k <= j;
      if (!stays) {
        index[hole] = v;
        hole = j;
      }
    }
    index[hole] = EMPTY;
  }

  private unlink(e: number): void {
    const p = this.prev[e]!;
    const n = this.next[e]!;
    if (p === NIL) this.head = n;
    else this.next[p] = n;
    if (n === NIL) this.tail = p;
    else this.prev[n] = p;
  }

  private pushHead(e: number): void {
    this.prev[e] = NIL;
    this.next[e] = this.head;
    if (this.head !== NIL) this.prev[this.head] = e;
    this.head = e;
    if (this.tail === NIL) this.tail = e;
  }
}
