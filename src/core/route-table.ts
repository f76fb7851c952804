/**
 * RouteTable: longest-prefix match for IPv4 and IPv6, allocation-free on lookup.
 *
 * Routes are grouped by prefix length. A lookup tries each length that has routes, longest
 * first, with one IntMap probe per length (open addressing over typed arrays, int-map.ts): for
 * IPv4 the key is the masked address as an int32; for IPv6 it is a 32-bit hash of the four
 * masked words, and the route itself is compared word by word, with colliding routes chained. Cost is one probe per distinct prefix length in the table (typically 2-4: host
 * routes, the LAN prefix, the default), independent of the number of routes.
 *
 * Several owners may claim the same prefix: the first one added wins, and when it is removed
 * the next one takes over (so a backup route is just a second owner). The table is bounded
 * (`maxRoutes`).
 */

import { PktError, intInRange } from '../errors.js';
import type { IpPrefix } from '../wire/addr.js';
import { be32i } from '../wire/bytes.js';
import { IntMap } from './int-map.js';

export interface Route<T> {
  readonly prefix: IpPrefix;
  /** Owners in the order they claimed the prefix; owners[0] is the active one. */
  readonly owners: T[];
}

class Route6<T> implements Route<T> {
  readonly prefix: IpPrefix;
  readonly owners: T[] = [];
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
  /** Next route in the same hash bucket. */
  chain: Route6<T> | null = null;
  constructor(prefix: IpPrefix) {
    this.prefix = prefix;
    this.w0 = prefix.net[0]! | 0;
    this.w1 = prefix.net[1]! | 0;
    this.w2 = prefix.net[2]! | 0;
    this.w3 = prefix.net[3]! | 0;
  }
}

function hash6(w0: number, w1: number, w2: number, w3: number): number {
  let h = Math.imul(w0, 0x9e3779b1) ^ Math.imul(w1, 0x85ebca77) ^ Math.imul(w2, 0xc2b2ae3d) ^ Math.imul(w3, 0x27d4eb2f);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 12);
}

function maskWord(bits: number, word: number): number {
  const left = bits - word * 32;
  return left >= 32 ? -1 : left <= 0 ? 0 : (-1 << (32 - left)) | 0;
}

export class RouteTable<T> {
  readonly maxRoutes: number;
  private count = 0;
  // IPv4: parallel arrays sorted by length, longest first.
  private lens4: number[] = [];
  private masks4: number[] = [];
  private maps4: IntMap<Route<T>>[] = [];
  // IPv6: the same, with four mask words per length.
  private lens6: number[] = [];
  private masks6: Int32Array = new Int32Array(0);
  private maps6: IntMap<Route6<T>>[] = [];

  constructor(maxRoutes = 65536) {
    this.maxRoutes = intInRange('RouteTable maxRoutes', maxRoutes, 1, 1 << 24);
  }

  /** Number of distinct prefixes. */
  get size(): number {
    return this.count;
  }

  /**
   * Adds `owner` for `prefix` (host bits are ignored). Adding the same owner twice is a no-op.
   * @throws {PktError} code ERR_PKT_LIMIT when a new prefix would exceed `maxRoutes`.
   */
  add(prefix: IpPrefix, owner: T): void {
    const r = this.find(prefix) ?? this.create(prefix);
    if (!r.owners.includes(owner)) r.owners.push(owner);
  }

  /** Removes `owner` from `prefix`; the prefix goes when its last owner does. */
  remove(prefix: IpPrefix, owner: T): void {
    const r = this.find(prefix);
    if (r === null) return;
    const i = r.owners.indexOf(owner);
    if (i === -1) return;
    r.owners.splice(i, 1);
    if (r.owners.length === 0) this.delete(r);
  }

  /** Removes `owner` from every prefix. */
  removeOwner(owner: T): void {
    for (const r of this.routes()) this.remove(r.prefix, owner);
  }

  /** The active owner of the longest prefix holding IPv4 `dst` (uint32 or int32), or null. */
  lookupV4(dst: number): T | null {
    const lens = this.lens4;
    for (let i = 0; i < lens.length; i++) {
      const r = this.maps4[i]!.get(dst & this.masks4[i]!);
      if (r !== undefined) return r.owners[0]!;
    }
    return null;
  }

  /** The active owner of the longest prefix holding the IPv6 address at `off` in `b`, or null. */
  lookupV6(b: Uint8Array, off: number): T | null {
    const lens = this.lens6;
    if (lens.length === 0) return null;
    const a0 = be32i(b, off);
    const a1 = be32i(b, off + 4);
    const a2 = be32i(b, off + 8);
    const a3 = be32i(b, off + 12);
    const m = this.masks6;
    for (let i = 0; i < lens.length; i++) {
      const k = i << 2;
      const w0 = a0 & m[k]!;
      const w1 = a1 & m[k + 1]!;
      const w2 = a2 & m[k + 2]!;
      const w3 = a3 & m[k + 3]!;
      let r: Route6<T> | null | undefined = this.maps6[i]!.get(hash6(w0, w1, w2, w3));
      while (r !== undefined && r !== null) {
        if (r.w0 === w0 && r.w1 === w1 && r.w2 === w2 && r.w3 === w3) return r.owners[0]!;
        r = r.chain;
      }
    }
    return null;
  }

  /** Every route (cold path). */
  routes(): Route<T>[] {
    const out: Route<T>[] = [];
    for (const m of this.maps4) for (const r of m.values()) out.push(r);
    for (const m of this.maps6) {
      for (const head of m.values()) {
        for (let r: Route6<T> | null = head; r !== null; r = r.chain) out.push(r);
      }
    }
    return out;
  }

  private find(prefix: IpPrefix): Route<T> | null {
    if (prefix.family === 4) {
      const i = this.lens4.indexOf(prefix.bits);
      return i === -1 ? null : (this.maps4[i]!.get(prefix.net[0]! | 0) ?? null);
    }
    const i = this.lens6.indexOf(prefix.bits);
    if (i === -1) return null;
    const probe = new Route6<T>(prefix);
    let r = this.maps6[i]!.get(hash6(probe.w0, probe.w1, probe.w2, probe.w3)) ?? null;
    while (r !== null && !(r.w0 === probe.w0 && r.w1 === probe.w1 && r.w2 === probe.w2 && r.w3 === probe.w3)) r = r.chain;
    return r;
  }

  private create(prefix: IpPrefix): Route<T> {
    if (this.count >= this.maxRoutes) throw new PktError('ERR_PKT_LIMIT', `RouteTable: at most ${this.maxRoutes} prefixes; cannot add ${prefix.toString()}`);
    this.count++;
    if (prefix.family === 4) {
      const i = this.lengthSlot4(prefix.bits);
      const r: Route<T> = { prefix, owners: [] };
      this.maps4[i]!.set(prefix.net[0]! | 0, r);
      return r;
    }
    const i = this.lengthSlot6(prefix.bits);
    const r = new Route6<T>(prefix);
    const map = this.maps6[i]!;
    const h = hash6(r.w0, r.w1, r.w2, r.w3);
    r.chain = map.get(h) ?? null;
    map.set(h, r);
    return r;
  }

  private delete(r: Route<T>): void {
    this.count--;
    const bits = r.prefix.bits;
    if (r.prefix.family === 4) {
      const i = this.lens4.indexOf(bits);
      const map = this.maps4[i]!;
      map.delete(r.prefix.net[0]! | 0);
      if (map.size === 0) {
        this.lens4.splice(i, 1);
        this.masks4.splice(i, 1);
        this.maps4.splice(i, 1);
      }
      return;
    }
    const r6 = r as Route6<T>;
    const i = this.lens6.indexOf(bits);
    const map = this.maps6[i]!;
    const h = hash6(r6.w0, r6.w1, r6.w2, r6.w3);
    let head = map.get(h) ?? null;
    if (head === r6) head = r6.chain;
    else for (let p = head; p !== null; p = p.chain) if (p.chain === r6) p.chain = r6.chain;
    if (head === null) map.delete(h);
    else map.set(h, head);
    if (map.size === 0) {
      this.lens6.splice(i, 1);
      this.maps6.splice(i, 1);
      this.rebuildMasks6();
    }
  }

  private lengthSlot4(bits: number): number {
    let i = this.lens4.indexOf(bits);
    if (i !== -1) return i;
    i = 0;
    while (i < this.lens4.length && this.lens4[i]! > bits) i++;
    this.lens4.splice(i, 0, bits);
    this.masks4.splice(i, 0, maskWord(bits, 0));
    this.maps4.splice(i, 0, new IntMap());
    return i;
  }

  private lengthSlot6(bits: number): number {
    let i = this.lens6.indexOf(bits);
    if (i !== -1) return i;
    i = 0;
    while (i < this.lens6.length && this.lens6[i]! > bits) i++;
    this.lens6.splice(i, 0, bits);
    this.maps6.splice(i, 0, new IntMap());
    this.rebuildMasks6();
    return i;
  }

  private rebuildMasks6(): void {
    const m = new Int32Array(this.lens6.length * 4);
    for (let i = 0; i < this.lens6.length; i++) for (let w = 0; w < 4; w++) m[i * 4 + w] = maskWord(this.lens6[i]!, w);
    this.masks6 = m;
  }
}
