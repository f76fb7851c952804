/**
 * The addresses an L2Adapter answers for, and the multicast groups it listens to, in forms the
 * packet path reads without allocating: IPv4 addresses, networks and masks as int32 in typed
 * arrays, IPv6 ones as four int32 words each. Rebuilt (cold path) whenever an address changes.
 *
 * Own addresses are what ARP and NDP answer for and use as the source of solicitations; their
 * prefixes decide what is on-link (sent to its own MAC) and what goes to the gateway.
 */

import { IpAddr, type IpPrefix } from '../wire/addr.js';
import { be32i, setBe32 } from '../wire/bytes.js';

/** Addresses of one family the adapter holds at most (the L3 device's, the link-local, `addAddr`'s). */
export const MAX_ADDRS_PER_FAMILY = 8;
/** Multicast groups (MACs) the adapter listens to at most, the automatic ones included. */
export const MAX_GROUPS = 32;

/** RFC 4291 §2.7.1 solicited-node group MAC: 33:33:ff and the address's low 24 bits (RFC 2464 §7). */
const SNM_MAC_HI = 0x3333;
const SNM_MAC_LO_BASE = 0xff00_0000 | 0;

export class OwnAddrs {
  n4 = 0;
  readonly addr4 = new Int32Array(MAX_ADDRS_PER_FAMILY);
  readonly net4 = new Int32Array(MAX_ADDRS_PER_FAMILY);
  readonly mask4 = new Int32Array(MAX_ADDRS_PER_FAMILY);
  /** Directed broadcast of each prefix, or 0 for /31 and /32 (RFC 3021), which have none. */
  readonly bcast4 = new Int32Array(MAX_ADDRS_PER_FAMILY);
  n6 = 0;
  /** Four words per address. */
  readonly addr6 = new Int32Array(MAX_ADDRS_PER_FAMILY * 4);
  readonly net6 = new Int32Array(MAX_ADDRS_PER_FAMILY * 4);
  readonly mask6 = new Int32Array(MAX_ADDRS_PER_FAMILY * 4);
  /** The same addresses as configuration values (cold path), in the same order. */
  prefixes4: IpPrefix[] = [];
  prefixes6: IpPrefix[] = [];
  /** Multicast MACs listened to: high 16 bits and low 32 bits (int32), `nGroups` of them. */
  nGroups = 0;
  readonly groupHi = new Int32Array(MAX_GROUPS);
  readonly groupLo = new Int32Array(MAX_GROUPS);

  /** Replaces the address lists (at most MAX_ADDRS_PER_FAMILY each: the caller checks). */
  set(list4: IpPrefix[], list6: IpPrefix[]): void {
    this.prefixes4 = list4;
    this.prefixes6 = list6;
    this.n4 = list4.length;
    for (let i = 0; i < list4.length; i++) {
      const p = list4[i]!;
      const a = p.addr.v4 | 0;
      const m = p.mask[0]! | 0;
      this.addr4[i] = a;
      this.mask4[i] = m;
      this.net4[i] = a & m;
      this.bcast4[i] = p.bits >= 31 ? 0 : a | ~m;
    }
    this.n6 = list6.length;
    for (let i = 0; i < list6.length; i++) {
      const p = list6[i]!;
      for (let w = 0; w < 4; w++) {
        const a = be32i(p.addr.bytes, w * 4);
        const m = p.mask[w]! | 0;
        this.addr6[i * 4 + w] = a;
        this.mask6[i * 4 + w] = m;
        this.net6[i * 4 + w] = a & m;
      }
    }
  }

  /** Sets the multicast groups: `fixed` MACs (as numbers), then the solicited-node group of each IPv6 address. */
  setGroups(fixed: readonly number[]): void {
    let n = 0;
    const add = (hi: number, lo: number) => {
      for (let i = 0; i < n; i++) if (this.groupHi[i] === hi && this.groupLo[i] === lo) return;
      if (n < MAX_GROUPS) {
        this.groupHi[n] = hi;
        this.groupLo[n] = lo;
        n++;
      }
    };
    for (const mac of fixed) add(Math.floor(mac / 0x1_0000_0000), mac | 0);
    for (let i = 0; i < this.n6; i++) add(SNM_MAC_HI, SNM_MAC_LO_BASE | (this.addr6[i * 4 + 3]! & 0xff_ffff));
    this.nGroups = n;
  }

  /** True when the MAC (high 16 bits, low 32 as int32) is a group listened to. */
  inGroup(hi: number, lo: number): boolean {
    for (let i = 0; i < this.nGroups; i++) if (this.groupLo[i] === lo && this.groupHi[i] === hi) return true;
    return false;
  }

  /** True when `ip` (int32) is one of ours. */
  isOwn4(ip: number): boolean {
    for (let i = 0; i < this.n4; i++) if (this.addr4[i] === ip) return true;
    return false;
  }

  /** True when `ip` is inside one of our IPv4 prefixes. */
  onLink4(ip: number): boolean {
    for (let i = 0; i < this.n4; i++) if ((ip & this.mask4[i]!) === this.net4[i]) return true;
    return false;
  }

  /** True when `ip` is the directed broadcast of one of our prefixes. */
  isBroadcast4(ip: number): boolean {
    for (let i = 0; i < this.n4; i++) if (this.bcast4[i] === ip && ip !== 0) return true;
    return false;
  }

  /** Our address to send from towards `ip`: one whose prefix holds it, else the first, else 0. */
  src4For(ip: number): number {
    for (let i = 0; i < this.n4; i++) if ((ip & this.mask4[i]!) === this.net4[i]) return this.addr4[i]!;
    return this.n4 > 0 ? this.addr4[0]! : 0;
  }

  /** Index of our IPv6 address equal to the 16 bytes at `off`, or -1. */
  index6(b: Uint8Array, off: number): number {
    const w0 = be32i(b, off);
    const w1 = be32i(b, off + 4);
    const w2 = be32i(b, off + 8);
    const w3 = be32i(b, off + 12);
    const a = this.addr6;
    for (let i = 0; i < this.n6; i++) {
      const k = i * 4;
      if (a[k + 3] === w3 && a[k + 2] === w2 && a[k + 1] === w1 && a[k] === w0) return i;
    }
    return -1;
  }

  /** True when the address (four int32 words) is inside one of our IPv6 prefixes. */
  onLink6(w0: number, w1: number, w2: number, w3: number): boolean {
    const m = this.mask6;
    const net = this.net6;
    for (let i = 0; i < this.n6; i++) {
      const k = i * 4;
      if ((w0 & m[k]!) === net[k] && (w1 & m[k + 1]!) === net[k + 1] && (w2 & m[k + 2]!) === net[k + 2] && (w3 & m[k + 3]!) === net[k + 3]) {
        return true;
      }
    }
    return false;
  }

  /**
   * Index of our IPv6 address to send from towards the address (words): the first whose prefix
   * holds it (RFC 6724 rule 8 in spirit), else the first address (the link-local when enabled),
   * or -1 when we have none.
   */
  src6For(w0: number, w1: number, w2: number, w3: number): number {
    const m = this.mask6;
    const net = this.net6;
    for (let i = 0; i < this.n6; i++) {
      const k = i * 4;
      if ((w0 & m[k]!) === net[k] && (w1 & m[k + 1]!) === net[k + 1] && (w2 & m[k + 2]!) === net[k + 2] && (w3 & m[k + 3]!) === net[k + 3]) {
        return i;
      }
    }
    return this.n6 > 0 ? 0 : -1;
  }
}

/** An IPv6 address from four int32 words (cold path: display). */
export function ipv6FromWords(w0: number, w1: number, w2: number, w3: number): IpAddr {
  const b = new Uint8Array(16);
  setBe32(b, 0, w0);
  setBe32(b, 4, w1);
  setBe32(b, 8, w2);
  setBe32(b, 12, w3);
  return IpAddr.fromBytes(b);
}
