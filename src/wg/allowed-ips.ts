/**
 * Cryptokey routing (whitepaper §2, notes §6.1, wireguard-go `device/allowedips.go`): which
 * peer owns which inner addresses. Outbound, the destination of a packet picks the peer (longest
 * prefix match); inbound, the source of a decrypted packet must map back to the peer whose
 * keypair opened it.
 *
 * One owner per prefix: inserting a prefix another peer holds *moves* it (that peer then shows
 * `allowed ips: (none)` for it), as wireguard-go does. Host bits are ignored on insert.
 *
 * Lookups go through core's RouteTable (one IntMap probe per distinct prefix length, no
 * allocation); the prefix -> owner record for moves and listings is a cold-path Map keyed by the
 * masked prefix's text (configuration only, never packet data).
 */

import { RouteTable } from '../core/route-table.js';
import { IpPrefix } from '../wire/addr.js';

export class AllowedIps<P extends object> {
  readonly #table: RouteTable<P>;
  readonly #owners = new Map<string, { prefix: IpPrefix; owner: P }>();

  /** @param maxPrefixes bound on distinct prefixes (RouteTable throws ERR_PKT_LIMIT past it). */
  constructor(maxPrefixes = 1 << 20) {
    this.#table = new RouteTable<P>(maxPrefixes);
  }

  get size(): number {
    return this.#owners.size;
  }

  /**
   * Gives `prefix` to `owner`, taking it from any other owner.
   * @throws {PktTypeError} on a malformed prefix; {PktError} ERR_PKT_LIMIT when full.
   */
  insert(prefix: IpPrefix | string, owner: P): void {
    const p = IpPrefix.from(prefix).masked();
    const key = p.toString();
    const cur = this.#owners.get(key);
    if (cur !== undefined) {
      if (cur.owner === owner) return;
      this.#table.remove(cur.prefix, cur.owner);
    }
    this.#table.add(p, owner);
    this.#owners.set(key, { prefix: p, owner });
  }

  /** Removes `prefix` if `owner` holds it; returns whether it did. */
  remove(prefix: IpPrefix | string, owner: P): boolean {
    const p = IpPrefix.from(prefix).masked();
    const key = p.toString();
    const cur = this.#owners.get(key);
    if (cur === undefined || cur.owner !== owner) return false;
    this.#table.remove(cur.prefix, owner);
    this.#owners.delete(key);
    return true;
  }

  /** Removes every prefix of `owner` (a removed peer, or `replace_allowed_ips`). */
  removeOwner(owner: P): void {
    for (const [key, r] of this.#owners) {
      if (r.owner !== owner) continue;
      this.#table.remove(r.prefix, owner);
      this.#owners.delete(key);
    }
  }

  /** The prefixes of `owner` (cold path, insertion order). */
  prefixesOf(owner: P): IpPrefix[] {
    const out: IpPrefix[] = [];
    for (const r of this.#owners.values()) if (r.owner === owner) out.push(r.prefix);
    return out;
  }

  /** Owner of the longest prefix holding IPv4 `addr` (u32 or int32), or null. */
  lookupV4(addr: number): P | null {
    return this.#table.lookupV4(addr);
  }

  /** Owner of the longest prefix holding the IPv6 address at buf[off..off+16), or null. */
  lookupV6(buf: Uint8Array, off: number): P | null {
    return this.#table.lookupV6(buf, off);
  }

  /**
   * The peer for an outgoing IP packet: by its destination (IPv4 offset 16, IPv6 offset 24).
   * Null when it is too short, not IPv4/IPv6, or no prefix matches.
   */
  lookupDestination(pkt: Uint8Array, off: number, len: number): P | null {
    return this.#byAddress(pkt, off, len, 16, 24);
  }

  /** The owner of an incoming packet's source (IPv4 offset 12, IPv6 offset 8), or null. */
  lookupSource(pkt: Uint8Array, off: number, len: number): P | null {
    return this.#byAddress(pkt, off, len, 12, 8);
  }

  #byAddress(pkt: Uint8Array, off: number, len: number, v4Off: number, v6Off: number): P | null {
    if (len < 1) return null;
    const version = pkt[off]! >>> 4;
    if (version === 4) {
      if (len < 20) return null;
      const o = off + v4Off;
      return this.#table.lookupV4((pkt[o]! << 24) | (pkt[o + 1]! << 16) | (pkt[o + 2]! << 8) | pkt[o + 3]!);
    }
    if (version === 6 && len >= 40) return this.#table.lookupV6(pkt, off + v6Off);
    return null;
  }
}
