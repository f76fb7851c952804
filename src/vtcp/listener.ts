/**
 * `Listener`: the LISTEN state of RFC 9293 §3.10.7.2 for one port, with a bounded backlog of
 * half-open (SYN-RECEIVED) Tcbs, a bounded accept queue, and SYN cookies when the backlog is
 * full (or always, by option).
 *
 *   SYN ──► backlog has room ─────► new Tcb (acceptSyn) ──SYN-ACK──►   ...ACK──► accept queue
 *      └──► backlog full ─────────► SYN-ACK with a cookie ISS, no state kept
 *   ACK (no Tcb) ─► cookie valid ──► new Tcb (acceptCookie): ESTABLISHED ─────► accept queue
 *               └─► otherwise ─────► RST (<SEQ=SEG.ACK><CTL=RST>)
 *   RST ─► ignored;   anything else without SYN ─► dropped
 *
 * A cookie connection negotiates the MSS only: the cookie (syn-cookies.ts) encodes no window
 * scale, SACK or timestamps, so those stay off for it (as in the Go engine; Linux hides them in
 * the timestamp, which we do not).
 *
 * The stack demultiplexes: a segment for a connection it has accepted goes to that Tcb;
 * anything else for this port comes here with the local and remote addresses (opaque bytes, 4
 * or 16 of them, used for the ISN and cookie hashes and the connection's key) and a `reply`
 * sink addressed back to the sender, for stateless answers. The Listener keeps its own Tcbs
 * (half-open, and established but not yet accepted) and forwards their segments. `accept()`
 * hands one over: from then on the stack routes to it and owns it (set `tcb.events`).
 *
 * The handshake path allocates (a Tcb and an entry per connection, never a string); the data path
 * never passes here.
 */

import type { Clock } from '../core/clock.js';
import { TCP_FLAG_ACK, TCP_FLAG_RST, TCP_FLAG_SYN, newTcpFields, type TcpFields } from '../wire/tcp.js';
import { intInRange } from '../errors.js';
import { TcpState, type SegmentSink, type TcbOptions } from './contract.js';
import { IsnGenerator } from './isn.js';
import { SynCookies } from './syn-cookies.js';
import { TCB_DEFAULT_BUFFER, TCB_DEFAULT_MSS, TCP_DEFAULT_PEER_MSS, TCP_MAX_UNSCALED_WINDOW, emitRstReply } from './tcb-base.js';
import { Tcb } from './tcb.js';
import { seqAdd } from './seq.js';

export interface ListenerOptions {
  port: number;
  clock: Clock;
  /** Options of every connection (the clock is the listener's). */
  tcb?: Omit<TcbOptions, 'clock'>;
  /** Half-open connections at most (default 128). */
  backlog?: number;
  /** Established connections waiting for accept() at most (default 128). */
  acceptQueue?: number;
  /** 'auto' (default): cookies when the backlog is full; 'always'; 'never' (drop SYNs then). */
  synCookies?: 'auto' | 'always' | 'never';
  isn?: IsnGenerator;
  cookies?: SynCookies;
  /** The sink of a new connection to remote:remotePort from local (both copies, kept by the callee). */
  newSink(local: Uint8Array, remote: Uint8Array, remotePort: number): SegmentSink;
}

/** A connection the listener completed, for accept(). */
export interface AcceptedConnection {
  tcb: Tcb;
  local: Uint8Array;
  remote: Uint8Array;
  remotePort: number;
}

export interface ListenerStats {
  syns: number;
  cookiesSent: number;
  cookiesAccepted: number;
  cookiesRejected: number;
  backlogDrops: number;
  acceptQueueDrops: number;
  resets: number;
  dropped: number;
}

interface Entry extends AcceptedConnection {
  /** The tuple's hash (the table's key) and the next entry with the same hash. */
  key: number;
  next: Entry | null;
  established: boolean;
}

/**
 * The table's key for a (local, remote, remote port) tuple: FNV-1a over the bytes and the port,
 * seeded per listener. A number, not a string: the handshake path sees whatever an attacker
 * sends, and builds no string from it. Collisions chain (at most backlog + accept queue deep).
 */
function tupleHash(seed: number, local: Uint8Array, remote: Uint8Array, remotePort: number): number {
  let h = seed ^ 0x811c9dc5;
  for (let i = 0; i < local.length; i++) h = Math.imul(h ^ local[i]!, 0x01000193);
  for (let i = 0; i < remote.length; i++) h = Math.imul(h ^ remote[i]!, 0x01000193);
  h = Math.imul(h ^ (remotePort >>> 8), 0x01000193);
  return Math.imul(h ^ (remotePort & 0xff), 0x01000193) | 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class Listener {
  readonly port: number;
  readonly clock: Clock;
  readonly backlog: number;
  readonly acceptQueueLimit: number;
  readonly synCookies: 'auto' | 'always' | 'never';
  readonly stats: ListenerStats;
  /** Called when a connection joins the accept queue. */
  onConnection: (() => void) | null = null;
  private readonly tcbOpts: TcbOptions;
  private readonly isn: IsnGenerator;
  private readonly cookies: SynCookies;
  private readonly newSink: ListenerOptions['newSink'];
  private readonly conns = new Map<number, Entry>();
  private readonly seed = (Math.random() * 0x1_0000_0000) | 0;
  private readonly queue: Entry[] = [];
  private halfOpenCount = 0;
  private closed = false;
  private readonly out: TcpFields = newTcpFields();
  private readonly empty = new Uint8Array(0);

  /** @throws {PktRangeError} for a port, backlog or queue size out of range. */
  constructor(opts: ListenerOptions) {
    this.port = intInRange('port', opts.port, 1, 65535);
    this.clock = opts.clock;
    this.backlog = intInRange('backlog', opts.backlog ?? 128, 0, 1 << 20);
    this.acceptQueueLimit = intInRange('acceptQueue', opts.acceptQueue ?? 128, 1, 1 << 20);
    this.synCookies = opts.synCookies ?? 'auto';
    this.tcbOpts = { ...opts.tcb, clock: opts.clock };
    this.isn = opts.isn ?? new IsnGenerator({ clock: opts.clock });
    this.cookies = opts.cookies ?? new SynCookies({ clock: opts.clock });
    this.newSink = opts.newSink;
    this.stats = { syns: 0, cookiesSent: 0, cookiesAccepted: 0, cookiesRejected: 0, backlogDrops: 0, acceptQueueDrops: 0, resets: 0, dropped: 0 };
  }

  /** Half-open connections held now. */
  get halfOpen(): number {
    return this.halfOpenCount;
  }

  /** Connections waiting for accept(). */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * A segment for this port that the stack has no accepted connection for. `f` and the bytes
   * are borrowed; `local` and `remote` are copied if kept. Never throws for any segment.
   */
  input(f: TcpFields, payload: Uint8Array, off: number, len: number, local: Uint8Array, remote: Uint8Array, reply: SegmentSink): void {
    if (this.closed || f.dstPort !== this.port) {
      this.stats.dropped++;
      return;
    }
    const key = tupleHash(this.seed, local, remote, f.srcPort);
    const e = this.find(key, local, remote, f.srcPort);
    if (e !== null) {
      e.tcb.input(f, payload, off, len);
      return;
    }
    const fl = f.flags;
    if ((fl & TCP_FLAG_RST) !== 0) {
      this.stats.dropped++;
      return;
    }
    if ((fl & TCP_FLAG_ACK) !== 0) {
      if ((fl & TCP_FLAG_SYN) === 0 && this.synCookies !== 'never') {
        const mss = this.cookies.validate(local, remote, this.port, f.srcPort, f.seq, f.ack);
        if (mss > 0) {
          this.acceptCookie(f, payload, off, len, local, remote, key, mss);
          return;
        }
        this.stats.cookiesRejected++;
      }
      this.stats.resets++;
      emitRstReply(reply, this.out, f, len, this.empty);
      return;
    }
    if ((fl & TCP_FLAG_SYN) === 0) {
      this.stats.dropped++;
      return;
    }
    this.stats.syns++;
    if (this.queue.length >= this.acceptQueueLimit) {
      // Linux drops SYNs while the accept queue is full: the peer retries later.
      this.stats.acceptQueueDrops++;
      return;
    }
    if (this.synCookies === 'always' || (this.halfOpenCount >= this.backlog && this.synCookies === 'auto')) {
      this.sendCookie(f, local, remote, reply);
      return;
    }
    if (this.halfOpenCount >= this.backlog) {
      this.stats.backlogDrops++;
      return;
    }
    const entry = this.newEntry(local, remote, f.srcPort, key);
    this.halfOpenCount++;
    entry.tcb.acceptSyn(f, payload, off, len, this.isn.next(local, remote, this.port, f.srcPort));
  }

  /** The next completed connection, or null. The caller now owns it (set `tcb.events`). */
  accept(): AcceptedConnection | null {
    const e = this.queue.shift();
    if (e === undefined) return null;
    this.unlink(e);
    return { tcb: e.tcb, local: e.local, remote: e.remote, remotePort: e.remotePort };
  }

  /** Stops listening: half-open and unaccepted connections are reset. */
  close(): void {
    this.closed = true;
    const all: Entry[] = [];
    for (const e of this.conns.values()) for (let c: Entry | null = e; c !== null; c = c.next) all.push(c);
    for (const e of all) e.tcb.abort();
    this.conns.clear();
    this.queue.length = 0;
    this.halfOpenCount = 0;
  }

  private find(key: number, local: Uint8Array, remote: Uint8Array, remotePort: number): Entry | null {
    let e = this.conns.get(key) ?? null;
    while (e !== null && !(e.remotePort === remotePort && sameBytes(e.remote, remote) && sameBytes(e.local, local))) e = e.next;
    return e;
  }

  /** Takes `e` out of its chain; false when it was not in the table. */
  private unlink(e: Entry): boolean {
    let prev: Entry | null = null;
    let cur = this.conns.get(e.key) ?? null;
    while (cur !== null && cur !== e) {
      prev = cur;
      cur = cur.next;
    }
    if (cur === null) return false;
    if (prev !== null) prev.next = e.next;
    else if (e.next !== null) this.conns.set(e.key, e.next);
    else this.conns.delete(e.key);
    e.next = null;
    return true;
  }

  private newEntry(local: Uint8Array, remote: Uint8Array, remotePort: number, key: number): Entry {
    const l = local.slice();
    const r = remote.slice();
    const entry: Entry = { tcb: null as unknown as Tcb, local: l, remote: r, remotePort, key, next: this.conns.get(key) ?? null, established: false };
    entry.tcb = new Tcb(this.newSink(l, r, remotePort), this.tcbOpts, {
      onEstablished: () => this.established(entry),
      onClose: () => this.gone(entry),
    });
    this.conns.set(key, entry);
    return entry;
  }

  private established(e: Entry): void {
    if (e.established) return;
    e.established = true;
    this.halfOpenCount--;
    if (this.queue.length >= this.acceptQueueLimit) {
      this.stats.acceptQueueDrops++;
      e.tcb.abort();
      return;
    }
    this.queue.push(e);
    this.onConnection?.();
  }

  private gone(e: Entry): void {
    if (!this.unlink(e)) return;
    if (!e.established) this.halfOpenCount--;
    const i = this.queue.indexOf(e);
    if (i >= 0) this.queue.splice(i, 1);
  }

  private acceptCookie(f: TcpFields, payload: Uint8Array, off: number, len: number, local: Uint8Array, remote: Uint8Array, key: number, mss: number): void {
    if (this.queue.length >= this.acceptQueueLimit) {
      this.stats.acceptQueueDrops++;
      return;
    }
    this.stats.cookiesAccepted++;
    const entry = this.newEntry(local, remote, f.srcPort, key);
    entry.established = true; // never counted as half-open
    entry.tcb.acceptCookie(f, payload, off, len, seqAdd(f.ack, -1), mss);
    if (entry.tcb.state === TcpState.Established || entry.tcb.state === TcpState.CloseWait) {
      if (!this.queue.includes(entry)) {
        this.queue.push(entry);
        this.onConnection?.();
      }
    }
  }

  /** A stateless SYN-ACK whose ISS is the cookie (RFC 4987 §3.6). */
  private sendCookie(f: TcpFields, local: Uint8Array, remote: Uint8Array, reply: SegmentSink): void {
    const peerMss = f.mss > 0 ? f.mss : TCP_DEFAULT_PEER_MSS;
    const iss = this.cookies.generate(local, remote, this.port, f.srcPort, f.seq, peerMss);
    const o = this.out;
    const recv = this.tcbOpts.recvBufferSize ?? TCB_DEFAULT_BUFFER;
    o.srcPort = this.port;
    o.dstPort = f.srcPort;
    o.seq = iss;
    o.ack = seqAdd(f.seq, 1);
    o.flags = TCP_FLAG_SYN | TCP_FLAG_ACK;
    o.window = recv < TCP_MAX_UNSCALED_WINDOW ? recv : TCP_MAX_UNSCALED_WINDOW;
    o.urgent = 0;
    o.mss = this.tcbOpts.mss ?? TCB_DEFAULT_MSS;
    o.windowScale = -1;
    o.sackPermitted = false;
    o.hasTimestamps = false;
    o.sackCount = 0;
    this.stats.cookiesSent++;
    reply.emit(o, this.empty, 0, 0);
  }
}
