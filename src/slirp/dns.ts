/**
 * slirp's DNS forwarder: queries a virtual host sends to the Stack's virtual resolver address
 * (UDP port 53) go to the upstream resolvers (`dnsServers`) with failover, and the answer comes
 * back from the virtual resolver address.
 *
 *   query (RFC 1035 §4.1: QR = 0, one question) ─► pending table (bounded) ─► server A
 *     no answer within dnsTimeoutMs ─► A demoted for dnsDemoteMs ─► the same query to server B
 *     ... at most dnsAttempts sends, then given up (the virtual host's own resolver retries)
 *   reply ─► from the server asked last? ─► same id, QR = 1, the same question? ─► relayed
 *
 * Server order, in the spirit of glibc's resolver (res_send: servers in order, the next on a
 * timeout) kept simple: the configured order, except that a server that timed out goes behind
 * the others until `dnsDemoteMs` has passed (or it answers). So one dead first server costs one
 * timeout per `dnsDemoteMs`, not one per query. A server is asked once per query while others
 * are left; with one server, each attempt asks it again.
 *
 * Each query has a socket of its own (a fresh ephemeral port, and the client's random id, as
 * RFC 5452 §9 asks of a forwarder); a reply is accepted only from the server asked last, on that
 * socket, with the query's id and question (names compared ASCII case-insensitively, RFC 4343),
 * so a late answer from a server given up on is dropped, counted. Everything else is dropped and
 * counted too. This is the per-query path, not the datagram hot path: it uses node:dgram, a
 * closure and a copy per query.
 *
 * Not supported: DNS over TCP failover (TCP port 53 goes to the first server not demoted), EDNS
 * or TC-bit handling beyond relaying what the server sent, caching.
 */

import * as dgram from 'node:dgram';
import * as net from 'node:net';
import type { Clock, TimerHandle } from '../core/clock.js';
import { PktError, intInRange } from '../errors.js';
import { be16, be32 } from '../wire/bytes.js';
import type { SlirpCounters, SlirpDrop } from './host.js';
import { UDP_MAX_PAYLOAD4, UDP_MAX_PAYLOAD6, type PacketBuilder } from './packets.js';
import type { Space } from './space.js';

// RFC 1035 §4.1.1: the header.
const ID = 0;
const FLAGS = 2;
const QDCOUNT = 4;
const HEADER_LEN = 12;
const FLAG_QR = 0x80;
/** RFC 1035 §2.3.4: names are 255 bytes at most. */
const NAME_MAX = 255;
const LABEL_PTR_MASK = 0xc0;
/** QTYPE and QCLASS after the name. */
const QTAIL = 4;
const DNS_PORT = 53;
const UDP_HEADER = 8;
const V4_SRC = 12;
const V4_DST = 16;
const V6_SRC = 8;
const V6_DST = 24;
const MAX_SERVERS = 16;

export interface DnsForwardOptions {
  /** Per attempt (default 2000). */
  timeoutMs?: number;
  /** Sends per query at most, across servers (default: the number of servers, at least 2). */
  attempts?: number;
  /** Queries in flight at most (default 512); past it new queries are dropped, counted. */
  maxPending?: number;
  /** How long a server that timed out stays behind the others (default 30000). */
  demoteMs?: number;
}

export interface DnsServer {
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
  /** Clock time until which it is tried after the others (0: not demoted). */
  demotedUntilMs: number;
}

/** What the forwarder needs of its Stack. */
export interface DnsHost {
  readonly counters: SlirpCounters;
  readonly clock: Clock;
  drop(reason: SlirpDrop): void;
}

/** Parses '1.2.3.4', '1.2.3.4:5353', '::1', '[::1]:5353'. @throws {PktError} ERR_PKT_CONFIG. */
export function parseDnsServer(s: string): { host: string; port: number; family: 4 | 6 } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s);
  if (m !== null && net.isIPv6(m[1]!)) return { host: m[1]!, port: intInRange('dns server port', Number(m[2]), 1, 65535), family: 6 };
  const fam = net.isIP(s);
  if (fam !== 0) return { host: s, port: DNS_PORT, family: fam === 4 ? 4 : 6 };
  const i = s.lastIndexOf(':');
  if (i > 0 && net.isIPv4(s.slice(0, i)) && /^\d+$/.test(s.slice(i + 1))) return { host: s.slice(0, i), port: intInRange('dns server port', Number(s.slice(i + 1)), 1, 65535), family: 4 };
  throw new PktError('ERR_PKT_CONFIG', `slirp: dns server: expected an IP address with an optional port, got ${JSON.stringify(s)}`);
}

/**
 * The end of the single question of the DNS message `b[off, end)` (offset just past QCLASS), or
 * -1: not exactly one question, or a name that is malformed, compressed or too long. Linear in
 * the name's length.
 */
export function questionEnd(b: Uint8Array, off: number, end: number): number {
  if (end - off < HEADER_LEN + 1 + QTAIL || be16(b, off + QDCOUNT) !== 1) return -1;
  let i = off + HEADER_LEN;
  let nameLen = 0;
  for (;;) {
    if (i >= end) return -1;
    const l = b[i]!;
    if (l === 0) break;
    // A question's name has no earlier name to point at; extended label types are obsolete.
    if ((l & LABEL_PTR_MASK) !== 0) return -1;
    nameLen += l + 1;
    if (nameLen + 1 > NAME_MAX) return -1;
    i += l + 1;
  }
  i += 1 + QTAIL;
  return i <= end ? i : -1;
}

function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

class DnsQuery {
  readonly space: Space;
  readonly family: 4 | 6;
  /** The virtual host and the virtual resolver address it asked (4 or 16 bytes). */
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  readonly sport: number;
  readonly id: number;
  readonly key: number;
  /** The whole query as sent (an owned copy) and its question's end in it. */
  readonly msg: Buffer;
  readonly qEnd: number;
  server = -1;
  /** Bit i: server i was asked. */
  tried = 0;
  attempts = 0;
  deadlineMs = 0;
  sock: dgram.Socket | null = null;
  sockFamily = 0;
  next: DnsQuery | null = null;
  done = false;

  constructor(space: Space, family: 4 | 6, p: Uint8Array, udpOff: number, ulen: number, qEnd: number, key: number) {
    const n = family === 4 ? 4 : 16;
    const so = family === 4 ? V4_SRC : V6_SRC;
    const d = family === 4 ? V4_DST : V6_DST;
    this.space = space;
    this.family = family;
    this.src = p.slice(so, so + n);
    this.dst = p.slice(d, d + n);
    this.sport = be16(p, udpOff);
    const off = udpOff + UDP_HEADER;
    this.id = be16(p, off + ID);
    this.key = key;
    this.msg = Buffer.from(p.subarray(off, udpOff + ulen));
    this.qEnd = qEnd - off;
  }

  same(space: Space, p: Uint8Array, srcOff: number, sport: number, id: number): boolean {
    if (this.space !== space || this.sport !== sport || this.id !== id) return false;
    for (let i = 0; i < this.src.length; i++) if (this.src[i] !== p[srcOff + i]) return false;
    return true;
  }

  /** A reply to this query: the same id, QR set, and the same single question. */
  answers(r: Buffer): boolean {
    if (r.length < this.qEnd || be16(r, ID) !== this.id || (r[FLAGS]! & FLAG_QR) === 0 || be16(r, QDCOUNT) !== 1) return false;
    const q = this.msg;
    for (let i = HEADER_LEN; i < this.qEnd; i++) if (lower(r[i]!) !== lower(q[i]!)) return false;
    return true;
  }
}

export class DnsForwarder {
  readonly servers: DnsServer[];
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly maxPending: number;
  readonly demoteMs: number;
  private readonly host: DnsHost;
  private readonly build: PacketBuilder;
  private readonly table = new Map<number, DnsQuery>();
  private count = 0;
  private timer: TimerHandle | null = null;
  private timerAtMs = Infinity;
  private closed = false;

  /** @throws {PktError} ERR_PKT_CONFIG for a bad server; {PktRangeError} for an option out of range. */
  constructor(host: DnsHost, build: PacketBuilder, servers: readonly string[], opts: DnsForwardOptions = {}) {
    if (servers.length > MAX_SERVERS) throw new PktError('ERR_PKT_CONFIG', `slirp: dnsServers: at most ${MAX_SERVERS}, got ${servers.length}`);
    this.host = host;
    this.build = build;
    this.servers = servers.map((s) => ({ ...parseDnsServer(s), demotedUntilMs: 0 }));
    this.timeoutMs = intInRange('dnsTimeoutMs', opts.timeoutMs ?? 2000, 1, 60_000);
    this.attempts = intInRange('dnsAttempts', opts.attempts ?? Math.max(2, this.servers.length), 1, 32);
    this.maxPending = intInRange('dnsMaxPending', opts.maxPending ?? 512, 1, 65536);
    this.demoteMs = intInRange('dnsDemoteMs', opts.demoteMs ?? 30_000, 0, 3_600_000);
  }

  /** Queries in flight. */
  get pending(): number {
    return this.count;
  }

  /** Servers demoted now. */
  get demoted(): number {
    const now = this.host.clock.now();
    let n = 0;
    for (const s of this.servers) if (s.demotedUntilMs > now) n++;
    return n;
  }

  /** The server TCP port 53 goes to: the first one not demoted (else the first), or null. */
  tcpServer(): { host: string; port: number } | null {
    if (this.servers.length === 0) return null;
    const now = this.host.clock.now();
    for (const s of this.servers) if (s.demotedUntilMs <= now) return s;
    return this.servers[0]!;
  }

  /**
   * A datagram to the virtual resolver's port 53 (UDP header at `udpOff`, `ulen` bytes, checked
   * by the caller) from the virtual host of `s`. Never throws for what it contains.
   */
  query(s: Space, p: Uint8Array, family: 4 | 6, udpOff: number, ulen: number): void {
    const host = this.host;
    if (this.closed) return host.drop('closed');
    const off = udpOff + UDP_HEADER;
    const end = udpOff + ulen;
    const qEnd = end - off >= HEADER_LEN && (p[off + FLAGS]! & FLAG_QR) === 0 ? questionEnd(p, off, end) : -1;
    if (qEnd < 0) return host.drop('dnsBadQuery');
    const srcOff = family === 4 ? V4_SRC : V6_SRC;
    const sport = be16(p, udpOff);
    const id = be16(p, off + ID);
    const key = queryKey(s.id, p, srcOff, family === 4 ? 4 : 16, sport, id);
    for (let q = this.table.get(key) ?? null; q !== null; q = q.next) {
      // The virtual host's resolver retrying a query still in flight: ours is still trying.
      if (q.same(s, p, srcOff, sport, id)) return host.drop('dnsDuplicate');
    }
    if (this.count >= this.maxPending) return host.drop('dnsPendingFull');
    const q = new DnsQuery(s, family, p, udpOff, ulen, qEnd, key);
    q.next = this.table.get(key) ?? null;
    this.table.set(key, q);
    this.count++;
    host.counters.dnsQueries++;
    this.send(q, host.clock.now());
  }

  /** The next server for `q`: the first not demoted and not asked yet, else the first not asked, else the one after the last. */
  private pick(q: DnsQuery, now: number): number {
    const n = this.servers.length;
    let fallback = -1;
    for (let i = 0; i < n; i++) {
      if ((q.tried & (1 << i)) !== 0) continue;
      if (this.servers[i]!.demotedUntilMs <= now) return i;
      if (fallback < 0) fallback = i;
    }
    return fallback >= 0 ? fallback : (q.server + 1) % n;
  }

  private send(q: DnsQuery, now: number): void {
    const i = this.pick(q, now);
    const srv = this.servers[i]!;
    q.server = i;
    q.tried |= 1 << i;
    q.attempts++;
    q.deadlineMs = now + this.timeoutMs;
    if (q.sock === null || q.sockFamily !== srv.family) {
      q.sock?.close();
      const sock = dgram.createSocket(srv.family === 6 ? 'udp6' : 'udp4');
      sock.on('message', (msg: Buffer, rinfo: dgram.RemoteInfo) => this.reply(q, msg, rinfo));
      sock.on('error', () => {
        // Sending failed at once (no route...): the timeout moves the query on.
        this.host.drop('sendFailed');
      });
      q.sock = sock;
      q.sockFamily = srv.family;
    }
    q.sock.send(q.msg, srv.port, srv.host, (err) => {
      if (err) this.host.drop('sendFailed');
    });
    this.arm(q.deadlineMs, now);
  }

  private reply(q: DnsQuery, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const host = this.host;
    if (q.done) return;
    const srv = this.servers[q.server]!;
    if (rinfo.port !== srv.port || rinfo.address !== srv.host) return host.drop('dnsWrongServer');
    if (!q.answers(msg)) return host.drop('dnsBadReply');
    srv.demotedUntilMs = 0;
    this.finish(q);
    const s = q.space;
    if (s.closed) return host.drop('closed');
    host.counters.dnsAnswers++;
    if (q.family === 4) {
      if (msg.length > UDP_MAX_PAYLOAD4) return host.drop('badUdp');
      s.out(this.build.udp4(be32(q.dst, 0), DNS_PORT, be32(q.src, 0), q.sport, msg, 0, msg.length));
    } else {
      if (msg.length > UDP_MAX_PAYLOAD6) return host.drop('badUdp');
      s.out(this.build.udp6(q.dst, 0, DNS_PORT, q.src, 0, q.sport, msg, 0, msg.length));
    }
  }

  /** Unlinks `q` and closes its socket. */
  private finish(q: DnsQuery): void {
    if (q.done) return;
    q.done = true;
    let prev: DnsQuery | null = null;
    let cur = this.table.get(q.key) ?? null;
    while (cur !== null && cur !== q) {
      prev = cur;
      cur = cur.next;
    }
    if (cur !== null) {
      if (prev !== null) prev.next = q.next;
      else if (q.next !== null) this.table.set(q.key, q.next);
      else this.table.delete(q.key);
      this.count--;
    }
    q.next = null;
    try {
      q.sock?.close();
    } catch {
      // already closed
    }
    q.sock = null;
  }

  /** One timer for the earliest deadline. */
  private arm(atMs: number, now: number): void {
    if (this.closed || atMs >= this.timerAtMs) return;
    if (this.timer !== null) this.host.clock.clearTimer(this.timer);
    this.timerAtMs = atMs;
    this.timer = this.host.clock.setTimer(() => this.expire(), Math.max(0, atMs - now));
  }

  private expire(): void {
    this.timer = null;
    this.timerAtMs = Infinity;
    if (this.closed) return;
    const now = this.host.clock.now();
    const due: DnsQuery[] = [];
    let next = Infinity;
    for (const head of this.table.values()) {
      for (let q: DnsQuery | null = head; q !== null; q = q.next) {
        if (q.deadlineMs <= now) due.push(q);
        else if (q.deadlineMs < next) next = q.deadlineMs;
      }
    }
    for (const q of due) {
      this.servers[q.server]!.demotedUntilMs = now + this.demoteMs;
      this.host.counters.dnsServerTimeouts++;
      if (q.attempts >= this.attempts || q.space.closed) {
        this.host.counters.dnsFailed++;
        this.finish(q);
      } else {
        this.host.counters.dnsRetries++;
        this.send(q, now);
      }
    }
    if (next !== Infinity) this.arm(next, now);
  }

  /** Forgets every query and closes their sockets and the timer. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) this.host.clock.clearTimer(this.timer);
    this.timer = null;
    const all: DnsQuery[] = [];
    for (const head of this.table.values()) for (let q: DnsQuery | null = head; q !== null; q = q.next) all.push(q);
    for (const q of all) this.finish(q);
    this.table.clear();
    this.count = 0;
  }
}

/** FNV-1a over the namespace, the virtual source, its port and the query id. */
function queryKey(spaceId: number, p: Uint8Array, srcOff: number, n: number, sport: number, id: number): number {
  let h = Math.imul(0x811c9dc5 ^ spaceId, 0x01000193);
  for (let i = 0; i < n; i++) h = Math.imul(h ^ p[srcOff + i]!, 0x01000193);
  h = Math.imul(h ^ sport, 0x01000193);
  return Math.imul(h ^ id, 0x01000193) | 0;
}
