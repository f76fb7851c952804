/**
 * ICMP Echo from a slirp `Stack`'s virtual hosts to real destinations, through unprivileged ICMP
 * echo sockets (pktkit/icmp over the addon's `icmp` feature; RFC 792 Echo, RFC 4443 §4.1-4.2).
 *
 *   virtual Echo Request (checked by the Stack, policy passed)
 *     ─► the namespace's socket of that family (opened on first use)
 *        table slot ◄─ (virtual src, virtual dst, id, seq, real dst, deadline)
 *        socket-side seq = generation << bits | slot      (the kernel owns the identifier)
 *     ─► sendto(real dst)
 *   reply (recvmmsg batch, any of the Stack's sockets, one libuv pool thread waits for all)
 *     ─► slot and generation from its seq; its source must be the slot's real dst
 *     ─► Echo Reply rebuilt: from the virtual dst to the virtual src, the virtual id and seq,
 *        the reply's data, checksums computed (packets.ts)
 *
 * A socket's identifier is the kernel's, so requests of every virtual host of a namespace share
 * one socket and are told apart by the socket-side sequence number: a slot in a bounded table
 * (`maxEchoes`, a power of two) plus a generation that changes each time the slot is reused, so
 * a late reply to a forgotten request cannot be taken for a newer one. A request unanswered
 * after `timeoutMs` is forgotten (counted `echoExpired`); with no slot free a new request is
 * dropped (`echoLimit`). A socket with nothing in flight for `timeoutMs` is closed, and
 * removing a namespace closes its sockets: an idle Stack holds no socket and no pool thread.
 *
 * When no socket can be had (the addon absent or built without `icmp`, `forward: false`, or the
 * kernel refusing: net.ipv4.ping_group_range excludes this process, whose kernel default "1 0"
 * excludes root too) `request` returns false and the Stack falls back to answering its own
 * addresses only; a refused open is retried after `RETRY_MS`.
 *
 * Not concurrent: the Stack's thread owns every socket.
 */

import type { TimerHandle } from '../core/clock.js';
import { PktError, intInRange } from '../errors.js';
import { hasNative } from '../native/index.js';
import { ICMP_ADDR_WORDS, IcmpEchoSocket, IcmpWaiter, IcmpWord } from '../native/icmp.js';
import { be16, be32, be32i } from '../wire/bytes.js';
import { Icmpv4Type } from '../wire/icmpv4.js';
import { Icmpv6Type } from '../wire/icmpv6.js';
import { PacketBuilder } from './packets.js';
import type { SlirpHost, Space } from './space.js';

export interface SlirpIcmpOptions {
  /** Forward Echo to other destinations (default true; false: own addresses only, as without the addon). */
  forward?: boolean;
  /** Echo Requests in flight per namespace and family (a power of two, 1 to 4096; default 256). */
  maxEchoes?: number;
  /** A request unanswered this long is forgotten; a socket idle this long is closed (default 10 s). */
  timeoutMs?: number;
  /** Largest ICMP message forwarded either way, header included (default 2048: pings up to MTU 1500 and more). */
  maxMessage?: number;
  /** @internal Opens a socket (tests: in another network namespace). Default IcmpEchoSocket.open. */
  open?: (family: 4 | 6, opts: { rxSlotSize: number; rxEntries: number }) => IcmpEchoSocket;
}

/** After a refused open, how long until a request tries again. */
const RETRY_MS = 60_000;
/** Reply entries per receive call. */
const RX_ENTRIES = 16;
/** Batches drained per socket and wake, so a flood cannot starve the event loop. */
const MAX_BATCHES = 16;
const ECHO_HEADER_LEN = 8;
const ECHO_IDENT = 4;
const ECHO_SEQ = 6;
const V4_SRC = 12;
const V4_DST = 16;
const V6_SRC = 8;
const V6_DST = 24;
/** Bytes per address in the tables (IPv4 uses the first 4). */
const A = 16;

/** One namespace's socket of one family and its table of requests in flight. */
class EchoChannel {
  readonly space: Space;
  readonly family: 4 | 6;
  readonly sock: IcmpEchoSocket;
  private readonly bits: number;
  private readonly mask: number;
  private readonly genMask: number;
  /** Per slot: virtual source, virtual destination, real destination (16 bytes each). */
  private readonly vsrc: Uint8Array;
  private readonly vdst: Uint8Array;
  private readonly real: Uint8Array;
  private readonly vid: Uint16Array;
  private readonly vseq: Uint16Array;
  private readonly gen: Uint16Array;
  /** When the slot's request is forgotten; 0: free. */
  private readonly deadline: Float64Array;
  /** Free slots, a stack. */
  private readonly free: Int32Array;
  private freeTop: number;
  lastUsedMs: number;
  /** Requests forgotten since the forwarder last collected the count. */
  expired = 0;
  closing = false;

  constructor(space: Space, family: 4 | 6, sock: IcmpEchoSocket, slots: number, now: number) {
    this.space = space;
    this.family = family;
    this.sock = sock;
    this.bits = 31 - Math.clz32(slots);
    this.mask = slots - 1;
    this.genMask = (0x1_0000 >>> this.bits) - 1;
    this.vsrc = new Uint8Array(slots * A);
    this.vdst = new Uint8Array(slots * A);
    this.real = new Uint8Array(slots * A);
    this.vid = new Uint16Array(slots);
    this.vseq = new Uint16Array(slots);
    this.gen = new Uint16Array(slots);
    this.deadline = new Float64Array(slots);
    this.free = new Int32Array(slots);
    for (let i = 0; i < slots; i++) this.free[i] = slots - 1 - i;
    this.freeTop = slots;
    this.lastUsedMs = now;
  }

  get inFlight(): number {
    return this.mask + 1 - this.freeTop;
  }

  /**
   * Records and sends the request whose ICMP message is `p[off, end)` with the virtual
   * addresses at `srcOff`/`dstOff` (`n` bytes) to the real address at `real[realOff]`.
   */
  send(f: EchoForwarder, p: Uint8Array, off: number, end: number, srcOff: number, dstOff: number, n: number, real: Uint8Array, realOff: number, now: number): void {
    if (this.freeTop === 0 && this.expire(now) === 0) return void f.host.drop('echoLimit');
    const slot = this.free[--this.freeTop]!;
    const g = (this.gen[slot]! + 1) & this.genMask;
    this.gen[slot] = g;
    const base = slot * A;
    for (let i = 0; i < n; i++) {
      this.vsrc[base + i] = p[srcOff + i]!;
      this.vdst[base + i] = p[dstOff + i]!;
      this.real[base + i] = real[realOff + i]!;
    }
    this.vid[slot] = be16(p, off + ECHO_IDENT);
    this.vseq[slot] = be16(p, off + ECHO_SEQ);
    this.deadline[slot] = now + f.timeoutMs;
    this.lastUsedMs = now;
    const r = this.sock.send(this.real, base, (g << this.bits) | slot, p, off + ECHO_HEADER_LEN, end - off - ECHO_HEADER_LEN);
    if (r !== 0) {
      this.release(slot);
      return void f.host.drop('sendFailed');
    }
    f.host.counters.echoForwarded++;
  }

  private release(slot: number): void {
    this.deadline[slot] = 0;
    this.free[this.freeTop++] = slot;
  }

  /** Forgets requests past their deadline (counted in `expired`); returns how many slots are free. */
  expire(now: number): number {
    if (this.freeTop === this.mask + 1) return this.freeTop;
    const deadline = this.deadline;
    for (let slot = 0; slot <= this.mask; slot++) {
      const d = deadline[slot]!;
      if (d !== 0 && d <= now) {
        this.release(slot);
        this.expired++;
      }
    }
    return this.freeTop;
  }

  /** Receives what arrived, rebuilds each reply for the virtual host. Returns replies seen. */
  drain(f: EchoForwarder): number {
    const sock = this.sock;
    const n = sock.recvEntries();
    if (n === 0) return 0;
    const { data, offs, lens, addrs } = sock.rx;
    const replyType = this.family === 4 ? Icmpv4Type.EchoReply : Icmpv6Type.EchoReply;
    const s = this.space;
    for (let e = 0; e < n; e++) {
      const len = lens[e]!;
      if (len < 0) {
        f.host.drop('echoTooBig');
        continue;
      }
      const off = offs[e]!;
      if (len < ECHO_HEADER_LEN || data[off] !== replyType) {
        f.host.drop('echoStale');
        continue;
      }
      const seq = be16(data, off + ECHO_SEQ);
      const slot = seq & this.mask;
      const base = slot * A;
      const w = e * ICMP_ADDR_WORDS + IcmpWord.Addr;
      if (this.deadline[slot] === 0 || this.gen[slot] !== seq >>> this.bits || !this.fromReal(addrs, w, base)) {
        f.host.drop('echoStale');
        continue;
      }
      const id = this.vid[slot]!;
      const vseq = this.vseq[slot]!;
      this.release(slot);
      if (s.closed) continue;
      f.host.counters.echoReplies++;
      const dataOff = off + ECHO_HEADER_LEN;
      const dataLen = len - ECHO_HEADER_LEN;
      if (this.family === 4) s.out(f.build.echoReplyFrom4(be32(this.vdst, base), be32(this.vsrc, base), id, vseq, data, dataOff, dataLen));
      else s.out(f.build.echoReplyFrom6(this.vdst, base, this.vsrc, base, id, vseq, data, dataOff, dataLen));
    }
    return n;
  }

  /** Is the source record at `addrs[w]` the real destination of the slot at `base`? */
  private fromReal(addrs: Int32Array, w: number, base: number): boolean {
    if (addrs[w] !== be32i(this.real, base)) return false;
    if (this.family === 4) return true;
    return addrs[w + 1] === be32i(this.real, base + 4) && addrs[w + 2] === be32i(this.real, base + 8) && addrs[w + 3] === be32i(this.real, base + 12);
  }
}

/**
 * The Stack's echo forwarding: sockets per namespace and family, the wait for replies, idle
 * expiry. See the file header.
 */
export class EchoForwarder {
  readonly host: SlirpHost;
  readonly build = new PacketBuilder();
  readonly timeoutMs: number;
  private readonly enabled: boolean;
  private readonly slots: number;
  private readonly maxMessage: number;
  private readonly open: (family: 4 | 6, opts: { rxSlotSize: number; rxEntries: number }) => IcmpEchoSocket;
  private readonly bySpace = new Map<Space, (EchoChannel | null)[]>();
  private readonly channels: EchoChannel[] = [];
  /** Channels closed while a wait may poll their descriptors: closed once it returns. */
  private readonly doomed: EchoChannel[] = [];
  private readonly retryAt = new Float64Array(2);
  /** Why the last open failed (for stats), or null. */
  lastError: PktError | null = null;
  private waiter: IcmpWaiter | null = null;
  private loop: Promise<void> | null = null;
  private timer: TimerHandle | null = null;
  private closed = false;

  /** @throws {PktRangeError} for options out of range. */
  constructor(host: SlirpHost, opts: SlirpIcmpOptions = {}) {
    this.host = host;
    this.slots = intInRange('icmp.maxEchoes', opts.maxEchoes ?? 256, 1, 4096);
    if ((this.slots & (this.slots - 1)) !== 0) intInRange('icmp.maxEchoes (a power of two)', this.slots, 0, -1);
    this.timeoutMs = intInRange('icmp.timeoutMs', opts.timeoutMs ?? 10_000, 1, 3_600_000);
    this.maxMessage = intInRange('icmp.maxMessage', opts.maxMessage ?? 2048, ECHO_HEADER_LEN, 65535);
    this.open = opts.open ?? ((family, o) => IcmpEchoSocket.open(family, o));
    this.enabled = opts.forward !== false && (opts.open !== undefined || hasNative('icmp'));
  }

  /** Sockets open now, and requests in flight. */
  get sockets(): number {
    return this.channels.length;
  }

  get inFlight(): number {
    let n = 0;
    for (const c of this.channels) n += c.inFlight;
    return n;
  }

  /**
   * Forwards the checked IPv4 Echo Request `p` (ICMP at `hl`, `total` bytes) to the real
   * address at `real[realOff]`; replies come back from the request's own destination. Returns
   * false when no socket can be had (the Stack falls back); true when sent or dropped, counted.
   */
  request4(s: Space, p: Uint8Array, hl: number, total: number, real: Uint8Array, realOff: number): boolean {
    const c = this.channel(s, 4);
    if (c === null) return false;
    if (total - hl > this.maxMessage) return this.tooBig();
    c.send(this, p, hl, total, V4_SRC, V4_DST, 4, real, realOff, this.host.clock.now());
    return true;
  }

  /** As `request4` for the ICMPv6 Echo Request at `off` (to `end`) of the IPv6 packet `p`. */
  request6(s: Space, p: Uint8Array, off: number, end: number, real: Uint8Array, realOff: number): boolean {
    const c = this.channel(s, 6);
    if (c === null) return false;
    if (end - off > this.maxMessage) return this.tooBig();
    c.send(this, p, off, end, V6_SRC, V6_DST, 16, real, realOff, this.host.clock.now());
    return true;
  }

  private tooBig(): boolean {
    this.host.drop('echoTooBig');
    return true;
  }

  /** The namespace's socket of `family`, opened on first use; null when none can be had. */
  private channel(s: Space, family: 4 | 6): EchoChannel | null {
    if (!this.enabled || this.closed) return null;
    const pair = this.bySpace.get(s);
    const c = pair === undefined ? null : pair[family === 4 ? 0 : 1]!;
    if (c !== null) return c;
    return this.openChannel(s, family, pair);
  }

  /** Cold: opens a socket (at most one try per RETRY_MS after a refusal). */
  private openChannel(s: Space, family: 4 | 6, pair: (EchoChannel | null)[] | undefined): EchoChannel | null {
    const now = this.host.clock.now();
    const i = family === 4 ? 0 : 1;
    if (this.retryAt[i]! > now) return null;
    let sock: IcmpEchoSocket;
    try {
      sock = this.open(family, { rxSlotSize: this.maxMessage, rxEntries: RX_ENTRIES });
      try {
        this.waiter ??= new IcmpWaiter();
      } catch (err) {
        sock.close();
        throw err;
      }
    } catch (err) {
      this.lastError = err instanceof PktError ? err : new PktError('ERR_PKT_IO', 'slirp: cannot open an ICMP echo socket', { cause: err });
      this.retryAt[i] = now + RETRY_MS;
      return null;
    }
    const c = new EchoChannel(s, family, sock, this.slots, now);
    const p = pair ?? [null, null];
    p[i] = c;
    if (pair === undefined) this.bySpace.set(s, p);
    this.channels.push(c);
    this.armSweep();
    if (this.loop === null) this.loop = this.run();
    else this.waiter!.kick(); // the wait in progress does not poll the new descriptor
    return c;
  }

  /** Receives until no socket is left: drain, close what was doomed, wait on the rest. */
  private async run(): Promise<void> {
    const fds: number[] = [];
    try {
      for (;;) {
        for (let k = 0; k < this.channels.length; k++) {
          const c = this.channels[k]!;
          for (let b = 0; b < MAX_BATCHES && c.drain(this) > 0; b++);
        }
        for (const c of this.doomed) c.sock.close();
        this.doomed.length = 0;
        if (this.channels.length === 0) break;
        fds.length = 0;
        for (const c of this.channels) fds.push(c.sock.fd);
        await this.waiter!.wait(fds, -1);
      }
    } catch (err) {
      // A handler downstream threw, or the addon did: stop forwarding rather than spin.
      this.lastError = err instanceof PktError ? err : new PktError('ERR_PKT_IO', 'slirp: the ICMP receive loop failed', { cause: err });
      for (const c of [...this.channels]) this.retire(c);
    } finally {
      // Nothing polls any more: every descriptor may go.
      for (const c of this.doomed) c.sock.close();
      this.doomed.length = 0;
      this.loop = null;
      this.waiter?.close();
      this.waiter = null;
    }
  }

  /** Takes a channel out; its socket closes once no wait polls it. */
  private retire(c: EchoChannel): void {
    if (c.closing) return;
    c.closing = true;
    const k = this.channels.indexOf(c);
    if (k >= 0) this.channels.splice(k, 1);
    const pair = this.bySpace.get(c.space);
    if (pair !== undefined) {
      pair[c.family === 4 ? 0 : 1] = null;
      if (pair[0] === null && pair[1] === null) this.bySpace.delete(c.space);
    }
    if (this.loop === null) c.sock.close();
    else {
      this.doomed.push(c);
      this.waiter!.kick();
    }
  }

  private armSweep(): void {
    if (this.timer !== null || this.closed) return;
    this.timer = this.host.clock.setTimer(() => {
      this.timer = null;
      this.sweep(this.host.clock.now());
      if (this.channels.length > 0) this.armSweep();
    }, Math.max(1, Math.floor(this.timeoutMs / 2)));
  }

  /** Forgets expired requests; closes sockets idle for `timeoutMs`. */
  sweep(now: number): void {
    for (const c of [...this.channels]) {
      c.expire(now);
      this.host.counters.echoExpired += c.expired;
      c.expired = 0;
      if (c.inFlight === 0 && now - c.lastUsedMs >= this.timeoutMs) this.retire(c);
    }
  }

  /** The namespace `s` is gone: its sockets go with it. */
  release(s: Space): void {
    const pair = this.bySpace.get(s);
    if (pair === undefined) return;
    for (const c of pair) if (c !== null) this.retire(c);
  }

  /** Closes every socket; resolves once the receive loop has stopped and the descriptors are closed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) this.host.clock.clearTimer(this.timer);
    this.timer = null;
    for (const c of [...this.channels]) this.retire(c);
    if (this.loop !== null) await this.loop.catch(() => {});
    this.waiter?.close();
    this.waiter = null;
  }
}
