/**
 * The DHCP server's bindings (RFC 2131 §4.3.1 "allocating a network address"): who holds which
 * address until when, offers that reserve an address briefly, and addresses declined by clients.
 *
 * Bounded: at most `maxEntries` bindings (offers and leases together) and at most `maxEntries`
 * declined addresses; expired ones are pruned on a timer and whenever room is needed. A client
 * is keyed by its client identifier (option 61) when it sends one, else by its MAC (RFC 2131
 * §4.2: "the combination of 'client identifier' or 'chaddr' and assigned network address").
 * Keys are strings: this is a cold path (a few messages per lease), and one Map holds both kinds.
 *
 * Times are ms on the server's clock. Not safe for concurrent use (one thread, like the server).
 */

import { formatIPv4, formatMac, parseIPv4, parseMac } from '../wire/addr.js';

/** One binding: an offer (`bound` false, held until `expiresAt`) or a lease. */
export interface Binding {
  key: string;
  mac: number;
  addr: number;
  expiresAt: number;
  bound: boolean;
  hostname: string;
}

/**
 * A lease as the store keeps it: strings and Unix times, so that it survives JSON and process
 * restarts (the server's clock is monotonic and restarts at an arbitrary point).
 */
export interface DhcpLeaseRecord {
  /** Option 61 as lower-case hex (type byte first), or '' when the lease is keyed by MAC. */
  clientId: string;
  /** `'02:00:00:00:00:01'`. */
  mac: string;
  /** `'10.0.0.100'`. */
  addr: string;
  /** When the lease ends, Unix time in ms. */
  expires: number;
  /** Option 12 as the client sent it, or ''. */
  hostname: string;
}

/**
 * Persistence for bound leases. `load` is called once by the server's constructor; `save` with
 * every bound lease after each change (a bind, a renewal, a release, a decline, a lease pruned).
 * Both are synchronous; an implementation that writes a file asynchronously copies the array.
 */
export interface DhcpLeaseStore {
  load(): readonly DhcpLeaseRecord[];
  save(leases: readonly DhcpLeaseRecord[]): void;
}

/** The key of a client: its client identifier when it sent one (hex), else its MAC. */
export function clientKey(clientId: Uint8Array, mac: number): string {
  if (clientId.length === 0) return `m${mac.toString(16)}`;
  let s = 'c';
  for (let i = 0; i < clientId.length; i++) s += clientId[i]!.toString(16).padStart(2, '0');
  return s;
}

export class LeaseTable {
  private readonly byKey = new Map<string, Binding>();
  private readonly byAddr = new Map<number, Binding>();
  private readonly declined = new Map<number, number>();
  readonly maxEntries: number;

  constructor(maxEntries: number) {
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.byKey.size;
  }
  get declinedCount(): number {
    return this.declined.size;
  }

  byClient(key: string): Binding | undefined {
    return this.byKey.get(key);
  }
  byAddress(addr: number): Binding | undefined {
    return this.byAddr.get(addr);
  }

  /** True while `addr` is out of the pool because a client declined it. */
  isDeclined(addr: number, now: number): boolean {
    const until = this.declined.get(addr);
    return until !== undefined && until > now;
  }

  /**
   * Records `key` holding `addr` until `expiresAt`, replacing the client's previous binding and
   * any other (expired or offered) binding of the address. Returns false, changing nothing, when
   * the table is full of live entries.
   */
  set(key: string, mac: number, addr: number, expiresAt: number, bound: boolean, hostname: string, now: number): boolean {
    let b = this.byKey.get(key);
    const other = this.byAddr.get(addr);
    if (other !== undefined && other !== b) this.remove(other);
    if (b === undefined) {
      if (this.byKey.size >= this.maxEntries && this.prune(now).size === 0 && this.byKey.size >= this.maxEntries) return false;
      b = { key, mac, addr, expiresAt, bound, hostname };
      this.byKey.set(key, b);
    } else {
      if (b.addr !== addr && this.byAddr.get(b.addr) === b) this.byAddr.delete(b.addr);
      b.mac = mac;
      b.addr = addr;
      b.expiresAt = expiresAt;
      b.bound = bound;
      b.hostname = hostname;
    }
    this.byAddr.set(addr, b);
    return true;
  }

  remove(b: Binding): void {
    if (this.byKey.get(b.key) === b) this.byKey.delete(b.key);
    if (this.byAddr.get(b.addr) === b) this.byAddr.delete(b.addr);
  }

  /** Keeps `addr` out of the pool until `until`. Bounded: when full of live declines, the oldest goes. */
  decline(addr: number, until: number, now: number): void {
    if (!this.declined.has(addr) && this.declined.size >= this.maxEntries) {
      this.prune(now);
      if (this.declined.size >= this.maxEntries) this.declined.delete(this.declined.keys().next().value!);
    }
    this.declined.delete(addr);
    this.declined.set(addr, until);
  }

  /**
   * Drops expired bindings and declines. Returns the bindings removed that were leases (so the
   * caller knows whether to save).
   */
  prune(now: number): Set<Binding> {
    const gone = new Set<Binding>();
    for (const b of this.byKey.values()) {
      if (b.expiresAt <= now) {
        this.remove(b);
        if (b.bound) gone.add(b);
      }
    }
    for (const [a, until] of this.declined) if (until <= now) this.declined.delete(a);
    return gone;
  }

  /** Live bound leases and live offers. */
  count(now: number): { leases: number; offers: number } {
    let leases = 0;
    let offers = 0;
    for (const b of this.byKey.values()) {
      if (b.expiresAt <= now) continue;
      if (b.bound) leases++;
      else offers++;
    }
    return { leases, offers };
  }

  /** Every live bound lease as store records; `toEpoch` maps a clock time to Unix ms. */
  records(now: number, toEpoch: (t: number) => number): DhcpLeaseRecord[] {
    const out: DhcpLeaseRecord[] = [];
    for (const b of this.byKey.values()) {
      if (!b.bound || b.expiresAt <= now) continue;
      out.push({
        clientId: b.key.startsWith('c') ? b.key.slice(1) : '',
        mac: formatMac(b.mac),
        addr: formatIPv4(b.addr),
        expires: Math.round(toEpoch(b.expiresAt)),
        hostname: b.hostname,
      });
    }
    return out;
  }

  /**
   * Loads store records as bound leases; skips malformed ones, expired ones, those `accept`
   * refuses (not an address of this server's pool or reservations), and any beyond the bound.
   */
  load(
    records: readonly DhcpLeaseRecord[],
    now: number,
    fromEpoch: (ms: number) => number,
    accept: (addr: number, mac: number) => boolean,
  ): number {
    let n = 0;
    for (const r of records) {
      let mac: number;
      let addr: number;
      try {
        mac = parseMac(r.mac);
        addr = parseIPv4(r.addr);
      } catch {
        continue;
      }
      const expiresAt = fromEpoch(r.expires);
      if (!(expiresAt > now) || !accept(addr, mac) || this.byAddr.has(addr)) continue;
      const clientId = typeof r.clientId === 'string' && /^([0-9a-f]{2}){2,255}$/.test(r.clientId) ? r.clientId : '';
      const key = clientId === '' ? `m${mac.toString(16)}` : `c${clientId}`;
      if (this.byKey.has(key)) continue;
      if (!this.set(key, mac, addr, expiresAt, true, typeof r.hostname === 'string' ? r.hostname.slice(0, 255) : '', now)) break;
      n++;
    }
    return n;
  }
}
