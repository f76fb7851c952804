/**
 * The vclient's stub resolver: A and AAAA queries (RFC 1035 §4, RFC 3596) over UDP through the
 * Client's own UDP sockets to the configured servers, with what the Go vclient lacked:
 *
 *   - retries: attempt k goes to server k mod n, with a timeout that doubles each round
 *     (`timeoutMs`, 2x, 4x, ... for `attempts` rounds); the query keeps its id and source port;
 *   - answers checked against the question (RFC 5452 §4.1, §9.1): the answer must come from the
 *     server:53 asked, carry the query's id, QR set, opcode QUERY, exactly our question (name
 *     compared case-insensitively, type and class). Anything else is dropped and counted
 *     (`mismatched`), and the query goes on waiting. Each query uses its own random ephemeral
 *     port and a random id (RFC 5452 §9.2);
 *   - CNAME chains followed within the answer section (RFC 1034 §3.6.2, at most 8 links);
 *   - a small cache bounded in entries, keyed by type and name, kept for the smallest TTL on the
 *     chain (capped by `maxTtlS`); NXDOMAIN and NODATA answers are cached for the SOA's MINIMUM
 *     when the authority section has one (RFC 2308 §5), else not at all;
 *   - concurrent queries for the same name and type share one exchange.
 *
 * Errors are Node's (`dns.lookup` / `dns.resolve4`): a `DnsError` with `code` ENOTFOUND
 * (NXDOMAIN), ENODATA (no record of the type), ESERVFAIL, EREFUSED, EFORMERR, ETIMEOUT (no answer
 * after every attempt), ECANCELLED (the resolver was closed), and `hostname` and `syscall`.
 *
 * Not supported: TCP fallback for truncated answers (a TC answer's records are used as they are),
 * search domains and /etc/hosts, EDNS(0), DNSSEC, reverse lookups, following a CNAME chain with
 * further queries when the server's answer stops short of the addresses.
 */

import type { Clock, TimerHandle } from '../core/clock.js';
import { intInRange } from '../errors.js';
import { IpAddr } from '../wire/addr.js';
import { buildQuery, decodeDns } from '../wire/dns-codec.js';
import { DnsClass, DnsOpcode, DnsRcode, DnsType, type DnsMessage } from '../wire/dns.js';
import type { RemoteInfo, UdpSocket } from './udp.js';

/** DNS's UDP port (RFC 1035 §4.2.1). */
export const DNS_PORT = 53;
/** Most CNAME links followed inside one answer. */
const MAX_CNAME_CHAIN = 8;

export type DnsErrorCode = 'ENOTFOUND' | 'ENODATA' | 'ESERVFAIL' | 'EREFUSED' | 'EFORMERR' | 'ETIMEOUT' | 'ECANCELLED' | 'ECONNREFUSED';

/** A failed lookup, shaped like the errors of node:dns. */
export class DnsError extends Error {
  readonly code: DnsErrorCode;
  readonly hostname: string;
  readonly syscall: string;
  constructor(code: DnsErrorCode, syscall: string, hostname: string) {
    super(`${syscall} ${code} ${hostname}`);
    this.name = 'DnsError';
    this.code = code;
    this.hostname = hostname;
    this.syscall = syscall;
  }
}

export interface ResolverOptions {
  /** The first attempt's timeout (default 1000 ms); each round doubles it. */
  timeoutMs?: number;
  /** Rounds over the server list (default 3). */
  attempts?: number;
  /** Cache entries at most (default 256; 0 turns the cache off). */
  cacheSize?: number;
  /** Longest time an answer is cached, in seconds (default 3600). */
  maxTtlS?: number;
}

/** What the resolver needs from its Client. @internal */
export interface ResolverHost {
  readonly clock: Clock;
  readonly random: () => number;
  newUdpSocket(): UdpSocket;
  /** Whether the client has an address of the family (to pick A / AAAA for family 0). */
  hasFamily(family: 4 | 6): boolean;
}

export interface LookupAddress {
  address: string;
  family: 4 | 6;
}

export interface LookupOptions {
  /** 4, 6, or 0 (default): both, for the families the client has addresses of. */
  family?: 0 | 4 | 6;
  signal?: AbortSignal;
}

export interface ResolverStats {
  queries: number;
  sent: number;
  retries: number;
  timeouts: number;
  /** Answers dropped: wrong source, id, flags or question, or malformed. */
  mismatched: number;
  cacheHits: number;
  cacheMisses: number;
}

interface CacheEntry {
  expiresAt: number;
  addrs: string[];
  /** Negative entries: the error code. */
  code: DnsErrorCode | null;
}

interface Answer {
  addrs: string[];
  code: DnsErrorCode | null;
  ttlS: number;
}

/** One exchange in flight: a socket, an id, the attempt and its timer. */
class Exchange {
  readonly promise: Promise<Answer>;
  resolve!: (a: Answer) => void;
  reject!: (e: Error) => void;
  timer: TimerHandle | null = null;
  attempt = 0;
  server = '';
  readonly name: string;
  readonly type: number;
  readonly id: number;
  readonly sock: UdpSocket;
  readonly query: Uint8Array;
  constructor(name: string, type: number, id: number, sock: UdpSocket, query: Uint8Array) {
    this.name = name;
    this.type = type;
    this.id = id;
    this.sock = sock;
    this.query = query;
    this.promise = new Promise<Answer>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
  }
}

export class Resolver {
  private servers: string[];
  private readonly host: ResolverHost;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly cacheSize: number;
  private readonly maxTtlS: number;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Exchange>();
  private closed = false;
  private readonly counters: ResolverStats = { queries: 0, sent: 0, retries: 0, timeouts: 0, mismatched: 0, cacheHits: 0, cacheMisses: 0 };

  /** @internal Made by the Client. @throws {PktTypeError} for a malformed server address. */
  constructor(host: ResolverHost, servers: readonly string[], opts: ResolverOptions = {}) {
    this.host = host;
    this.servers = servers.map((s) => IpAddr.parse(s).toString());
    this.timeoutMs = intInRange('timeoutMs', opts.timeoutMs ?? 1000, 1, 600_000);
    this.attempts = intInRange('attempts', opts.attempts ?? 3, 1, 16);
    this.cacheSize = intInRange('cacheSize', opts.cacheSize ?? 256, 0, 1 << 20);
    this.maxTtlS = intInRange('maxTtlS', opts.maxTtlS ?? 3600, 0, 0x7fff_ffff);
  }

  /** Replaces the server list (a DHCP lease's DNS servers, say). @throws {PktTypeError} */
  setServers(servers: readonly string[]): void {
    this.servers = servers.map((s) => IpAddr.parse(s).toString());
  }

  getServers(): string[] {
    return this.servers.slice();
  }

  /**
   * `hostname`'s addresses as dns.lookup with `all: true` gives them: IPv4 first, then IPv6.
   * A literal address is returned as it is. Rejects with a DnsError (ENOTFOUND when no family
   * has an address), or the signal's reason.
   */
  async lookupAll(hostname: string, opts: LookupOptions = {}): Promise<LookupAddress[]> {
    opts.signal?.throwIfAborted();
    const lit = parseLiteral(hostname);
    if (lit !== null) return [{ address: lit.toString(), family: lit.family }];
    let fams: (4 | 6)[];
    if (opts.family === 4 || opts.family === 6) fams = [opts.family];
    else {
      fams = ([4, 6] as const).filter((f) => this.host.hasFamily(f));
      if (fams.length === 0) fams = [4, 6];
    }
    const results = await Promise.allSettled(fams.map((f) => this.resolveFamily(hostname, f, opts.signal)));
    const out: LookupAddress[] = [];
    let err: unknown = null;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') for (const a of r.value) out.push({ address: a, family: fams[i]! });
      else if (err === null || ((err as DnsError).code === 'ENODATA' && (r.reason as DnsError).code !== 'ENODATA')) err = r.reason;
    });
    if (out.length > 0) return out;
    opts.signal?.throwIfAborted();
    if (err instanceof DnsError) {
      // getaddrinfo reports "no such name" and "no address of the family" alike.
      throw new DnsError(err.code === 'ENODATA' ? 'ENOTFOUND' : err.code, 'getaddrinfo', hostname);
    }
    throw err;
  }

  /** The first address, as dns.lookup gives it (`family` as a number or in the options, as there). */
  async lookup(hostname: string, opts: LookupOptions | 0 | 4 | 6 = {}): Promise<LookupAddress> {
    return (await this.lookupAll(hostname, typeof opts === 'number' ? { family: opts } : opts))[0]!;
  }

  /** A records, as dns.resolve4. */
  resolve4(hostname: string, opts: { signal?: AbortSignal } = {}): Promise<string[]> {
    return this.resolveFamily(hostname, 4, opts.signal);
  }

  /** AAAA records, as dns.resolve6. */
  resolve6(hostname: string, opts: { signal?: AbortSignal } = {}): Promise<string[]> {
    return this.resolveFamily(hostname, 6, opts.signal);
  }

  stats(): ResolverStats {
    return { ...this.counters };
  }

  /** Entries in the cache now. */
  get cacheEntries(): number {
    return this.cache.size;
  }

  clearCache(): void {
    this.cache.clear();
  }

  /** Fails every query in flight with ECANCELLED and frees their sockets and timers. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const ex of [...this.inflight.values()]) this.finish(ex, new DnsError('ECANCELLED', syscallOf(ex.type), ex.name));
    this.cache.clear();
  }

  private async resolveFamily(hostname: string, family: 4 | 6, signal?: AbortSignal): Promise<string[]> {
    signal?.throwIfAborted();
    const type = family === 4 ? DnsType.A : DnsType.AAAA;
    const name = normalize(hostname);
    const syscall = syscallOf(type);
    if (this.closed) throw new DnsError('ECANCELLED', syscall, hostname);
    if (name.length === 0 || name.length > 253) throw new DnsError('ENOTFOUND', syscall, hostname);
    const key = `${type}:${name}`;
    const now = this.host.clock.now();
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      if (hit.expiresAt > now) {
        this.counters.cacheHits++;
        this.cache.delete(key); // most recently used goes last
        this.cache.set(key, hit);
        if (hit.code !== null) throw new DnsError(hit.code, syscall, hostname);
        return hit.addrs.slice();
      }
      this.cache.delete(key);
    }
    this.counters.cacheMisses++;
    if (this.servers.length === 0) throw new DnsError('ECONNREFUSED', syscall, hostname);
    let ex = this.inflight.get(key);
    if (ex === undefined) ex = this.start(key, name, type);
    const ans = await raceSignal(ex.promise, signal);
    if (ans.code !== null) throw new DnsError(ans.code, syscall, hostname);
    return ans.addrs.slice();
  }

  private start(key: string, name: string, type: number): Exchange {
    this.counters.queries++;
    const id = Math.floor(this.host.random() * 0x10000) & 0xffff;
    const sock = this.host.newUdpSocket();
    sock.bind(0);
    const ex = new Exchange(name, type, id, sock, buildQuery(id, name, type));
    this.inflight.set(key, ex);
    sock.on('message', (msg: Buffer, rinfo: RemoteInfo) => this.onAnswer(key, ex, msg, rinfo));
    this.send(ex);
    return ex;
  }

  private send(ex: Exchange): void {
    const n = this.servers.length;
    ex.server = this.servers[ex.attempt % n]!;
    const round = Math.floor(ex.attempt / n);
    this.counters.sent++;
    if (ex.attempt > 0) this.counters.retries++;
    ex.sock.send(ex.query, DNS_PORT, ex.server, () => {});
    ex.timer = this.host.clock.setTimer(() => this.onTimeout(ex), this.timeoutMs * 2 ** round);
  }

  private onTimeout(ex: Exchange): void {
    ex.timer = null;
    this.counters.timeouts++;
    ex.attempt++;
    if (ex.attempt >= this.attempts * this.servers.length) {
      this.finish(ex, { addrs: [], code: 'ETIMEOUT', ttlS: 0 });
      return;
    }
    this.send(ex);
  }

  private onAnswer(key: string, ex: Exchange, msg: Buffer, rinfo: RemoteInfo): void {
    if (this.inflight.get(key) !== ex) return;
    // RFC 5452 §9.1: accept only from the address and port the query went to.
    if (rinfo.port !== DNS_PORT || !this.servers.includes(rinfo.address)) return void this.counters.mismatched++;
    let m: DnsMessage;
    try {
      m = decodeDns(msg);
    } catch {
      return void this.counters.mismatched++;
    }
    const q = m.questions[0];
    if (
      m.id !== ex.id || !m.qr || m.opcode !== DnsOpcode.Query || m.questions.length !== 1 ||
      q === undefined || normalize(q.name) !== ex.name || q.type !== ex.type || q.class !== DnsClass.IN
    ) {
      return void this.counters.mismatched++;
    }
    this.finish(ex, this.interpret(ex, m));
  }

  /** Turns a matching answer into addresses (following the CNAME chain) or an error code. */
  private interpret(ex: Exchange, m: DnsMessage): Answer {
    if (m.rcode === DnsRcode.NXDomain) return { addrs: [], code: 'ENOTFOUND', ttlS: negativeTtl(m) };
    if (m.rcode === DnsRcode.ServFail) return { addrs: [], code: 'ESERVFAIL', ttlS: 0 };
    if (m.rcode === DnsRcode.Refused) return { addrs: [], code: 'EREFUSED', ttlS: 0 };
    if (m.rcode !== DnsRcode.NoError) return { addrs: [], code: 'EFORMERR', ttlS: 0 };
    let name = ex.name;
    let ttl = Infinity;
    for (let hops = 0; hops < MAX_CNAME_CHAIN; hops++) {
      const c = m.answers.find((r) => r.type === DnsType.CNAME && normalize(r.name) === name && typeof r.data === 'string');
      if (c === undefined) break;
      name = normalize(c.data as string);
      ttl = Math.min(ttl, c.ttl);
    }
    const addrs: string[] = [];
    for (const r of m.answers) {
      if (r.type === ex.type && r.class === DnsClass.IN && typeof r.data === 'string' && normalize(r.name) === name) {
        addrs.push(r.data);
        ttl = Math.min(ttl, r.ttl);
      }
    }
    if (addrs.length === 0) return { addrs: [], code: 'ENODATA', ttlS: negativeTtl(m) };
    return { addrs, code: null, ttlS: ttl };
  }

  private finish(ex: Exchange, result: Answer | Error): void {
    const key = `${ex.type}:${ex.name}`;
    if (this.inflight.get(key) === ex) this.inflight.delete(key);
    if (ex.timer !== null) {
      this.host.clock.clearTimer(ex.timer);
      ex.timer = null;
    }
    ex.sock.close();
    if (result instanceof Error) {
      ex.reject(result);
      return;
    }
    const ttlS = Math.min(result.ttlS, this.maxTtlS);
    if (this.cacheSize > 0 && ttlS > 0 && !this.closed && result.code !== 'ETIMEOUT') {
      if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, { expiresAt: this.host.clock.now() + ttlS * 1000, addrs: result.addrs, code: result.code });
    }
    ex.resolve(result);
  }
}

/** RFC 2308 §5: a negative answer lives for min(SOA TTL, SOA MINIMUM); without an SOA, not cached. */
function negativeTtl(m: DnsMessage): number {
  for (const r of m.authorities) {
    if (r.type === DnsType.SOA && typeof r.data === 'object' && !(r.data instanceof Uint8Array) && 'minimum' in r.data) {
      return Math.min(r.ttl, r.data.minimum);
    }
  }
  return 0;
}

function syscallOf(type: number): string {
  return type === DnsType.A ? 'queryA' : 'queryAaaa';
}

/** Lower case, without the trailing dot. */
function normalize(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

/** An IP literal (brackets allowed around IPv6), or null. */
export function parseLiteral(host: string): IpAddr | null {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  try {
    return IpAddr.parse(h);
  } catch {
    return null;
  }
}

/** `p`, or the signal's reason if it aborts first (the work behind `p` goes on). */
export function raceSignal<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
