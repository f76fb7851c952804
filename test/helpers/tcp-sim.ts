/**
 * A deterministic link between two TCP endpoints, for vtcp's engine tests: time from a
 * ManualClock, randomness from a seeded PRNG, segments carried as bytes (emitTcp on the way in,
 * parseTcp on the way out, as a stack would; no IP header or checksum at this level).
 *
 * Each direction models, in this order: a drop-tail queue of `queueLimit` segments waiting for
 * the wire; serialisation at `bytesPerMs` (a bandwidth limit); propagation `delayMs`; random loss
 * (`loss`), duplication (`dup`) and reordering (`reorder`: a segment is held back `reorderMs`
 * longer). A `tap` sees every segment first and may drop it (scripted loss in focused tests).
 *
 *   A.sink --> [queue | serialise] --delay--> (loss, dup, reorder) --> B.input
 *   A.input <-- ...the same, independently, the other way... <-- B.sink
 *
 * `run(until)` steps the clock from event to event (a delivery or a due timer), so simulated
 * seconds of idle RTO backoff cost nothing.
 */

import { ManualClock } from '../../src/core/clock.js';
import { TcpView, emitTcp, newTcpFields, parseTcp, tcpEmitLen, type TcpFields } from '../../src/wire/tcp.js';
import type { SegmentSink } from '../../src/vtcp/contract.js';

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A ManualClock that can say when its next timer falls due. */
export class SimClock extends ManualClock {
  nextDue(): number {
    const timers = (this as unknown as { timers: { at: number }[] }).timers;
    let at = Infinity;
    for (const t of timers) if (t.at < at) at = t.at;
    return at;
  }
}

export interface LinkOptions {
  delayMs?: number;
  /** Bytes per millisecond (12_500 = 100 Mbit/s); Infinity for no limit. */
  bytesPerMs?: number;
  /** Segments waiting for the wire, at most (drop tail). */
  queueLimit?: number;
  loss?: number;
  dup?: number;
  reorder?: number;
  reorderMs?: number;
}

/** Which way a segment goes: 0 = A to B, 1 = B to A. */
export type Dir = 0 | 1;

/** Sees each segment as sent; returns false to drop it. `f` and payload are borrowed. */
export type Tap = (dir: Dir, f: TcpFields, payload: Uint8Array, off: number, len: number) => boolean;

/** Where delivered segments go. */
export type Deliver = (f: TcpFields, payload: Uint8Array, off: number, len: number) => void;

interface InFlight {
  at: number;
  order: number;
  bytes: Uint8Array;
}

class Direction {
  readonly opts: Required<LinkOptions>;
  readonly rnd: () => number;
  readonly queue: InFlight[] = [];
  busyUntil = 0;
  order = 0;
  sent = 0;
  lost = 0;
  queueDrops = 0;

  constructor(opts: LinkOptions, rnd: () => number) {
    this.opts = {
      delayMs: opts.delayMs ?? 1,
      bytesPerMs: opts.bytesPerMs ?? Infinity,
      queueLimit: opts.queueLimit ?? 1000,
      loss: opts.loss ?? 0,
      dup: opts.dup ?? 0,
      reorder: opts.reorder ?? 0,
      reorderMs: opts.reorderMs ?? 2,
    };
    this.rnd = rnd;
  }

  send(bytes: Uint8Array, now: number): void {
    const o = this.opts;
    this.sent++;
    // Segments still waiting to be serialised.
    let waiting = 0;
    for (const p of this.queue) if (p.at - o.delayMs > now) waiting++;
    if (waiting >= o.queueLimit) {
      this.queueDrops++;
      return;
    }
    const start = this.busyUntil > now ? this.busyUntil : now;
    const depart = start + (o.bytesPerMs === Infinity ? 0 : (bytes.length + 40) / o.bytesPerMs);
    this.busyUntil = depart;
    if (o.loss > 0 && this.rnd() < o.loss) {
      this.lost++;
      return;
    }
    let at = depart + o.delayMs;
    if (o.reorder > 0 && this.rnd() < o.reorder) at += o.reorderMs;
    this.push({ at, order: this.order++, bytes });
    if (o.dup > 0 && this.rnd() < o.dup) this.push({ at: at + 0.01, order: this.order++, bytes });
  }

  private push(p: InFlight): void {
    const q = this.queue;
    let i = q.length;
    while (i > 0 && (q[i - 1]!.at > p.at || (q[i - 1]!.at === p.at && q[i - 1]!.order > p.order))) i--;
    q.splice(i, 0, p);
  }
}

export interface SimOptions {
  seed?: number;
  ab?: LinkOptions;
  ba?: LinkOptions;
  /** Clock start (ms). */
  start?: number;
}

export class TcpSim {
  readonly clock: SimClock;
  readonly dirs: [Direction, Direction];
  /** Delivery targets; set by the test. */
  toB: Deliver = () => {};
  toA: Deliver = () => {};
  tap: Tap | null = null;
  /** Every segment sent, decoded (when `record` is true). */
  record = false;
  readonly log: { dir: Dir; f: TcpFields; len: number; at: number }[] = [];
  readonly sinkA: SegmentSink;
  readonly sinkB: SegmentSink;
  private readonly view = new TcpView();
  private readonly fields = newTcpFields();

  constructor(opts: SimOptions = {}) {
    this.clock = new SimClock(opts.start ?? 0);
    const rnd = prng(opts.seed ?? 1);
    this.dirs = [new Direction(opts.ab ?? {}, rnd), new Direction(opts.ba ?? opts.ab ?? {}, rnd)];
    this.sinkA = { emit: (f, p, o, l) => this.emit(0, f, p, o, l) };
    this.sinkB = { emit: (f, p, o, l) => this.emit(1, f, p, o, l) };
  }

  private emit(dir: Dir, f: TcpFields, payload: Uint8Array, off: number, len: number): void {
    if (this.record) this.log.push({ dir, f: copyFields(f), len, at: this.clock.now() });
    if (this.tap !== null && !this.tap(dir, f, payload, off, len)) return;
    const hl = tcpEmitLen(f);
    const bytes = new Uint8Array(hl + len);
    emitTcp(f, bytes, 0);
    bytes.set(payload.subarray(off, off + len), hl);
    this.dirs[dir].send(bytes, this.clock.now());
  }

  /** The next event time: a delivery or a timer. */
  private next(): number {
    const a = this.dirs[0].queue[0]?.at ?? Infinity;
    const b = this.dirs[1].queue[0]?.at ?? Infinity;
    const t = this.clock.nextDue();
    return Math.min(a, b, t);
  }

  /**
   * Runs events until `done()` holds (checked after each event) or `maxMs` of simulated time
   * pass or nothing is left to happen. Returns done().
   */
  run(done: () => boolean = () => false, maxMs = 600_000): boolean {
    const limit = this.clock.now() + maxMs;
    while (!done()) {
      const t = this.next();
      if (t === Infinity || t > limit) {
        if (t !== Infinity) this.clock.set(limit);
        return done();
      }
      this.clock.set(t);
      for (let d = 0; d < 2; d++) {
        const q = this.dirs[d as Dir].queue;
        while (q.length > 0 && q[0]!.at <= t) {
          const p = q.shift()!;
          this.view.reset(p.bytes, 0, p.bytes.length);
          if (parseTcp(this.view, this.fields) !== 0) throw new Error('sim: unparsable segment');
          const hl = this.view.headerLen;
          (d === 0 ? this.toB : this.toA)(this.fields, p.bytes, hl, p.bytes.length - hl);
        }
      }
    }
    return true;
  }

  /** Runs for `ms` of simulated time. */
  advance(ms: number): void {
    const end = this.clock.now() + ms;
    this.run(() => this.clock.now() >= end, ms);
    if (this.clock.now() < end) this.clock.set(end);
  }
}

/** A deep copy of fields (for logs and scripted peers). */
export function copyFields(f: TcpFields): TcpFields {
  return { ...f, sackBlocks: f.sackBlocks.slice() };
}

/** Fields for a scripted segment: everything zero or absent unless given. */
export function seg(p: Partial<Omit<TcpFields, 'sackBlocks'>> & { sack?: number[] }): TcpFields {
  const f = newTcpFields();
  Object.assign(f, p);
  if (p.sack !== undefined) {
    f.sackCount = p.sack.length / 2;
    f.sackBlocks.set(p.sack);
  }
  delete (f as { sack?: unknown }).sack;
  return f;
}

/** A sink that records what it is given, decoded, for scripted-peer tests. */
export class RecordingSink implements SegmentSink {
  readonly segs: { f: TcpFields; data: Uint8Array; at: number }[] = [];
  private readonly clock: { now(): number };
  constructor(clock: { now(): number }) {
    this.clock = clock;
  }
  emit(f: TcpFields, payload: Uint8Array, off: number, len: number): void {
    this.segs.push({ f: copyFields(f), data: payload.slice(off, off + len), at: this.clock.now() });
  }
  get last(): { f: TcpFields; data: Uint8Array; at: number } | undefined {
    return this.segs[this.segs.length - 1];
  }
  clear(): void {
    this.segs.length = 0;
  }
}

/** A deterministic byte pattern: byte i of a stream (prime period, so shifts show). */
export class Pattern {
  private readonly bytes: Uint8Array;
  readonly period: number;
  constructor(seed: number, period = 65_521) {
    this.period = period;
    const r = prng(seed);
    this.bytes = new Uint8Array(period);
    for (let i = 0; i < period; i++) this.bytes[i] = (r() * 256) | 0;
  }
  /** Fills dst[0, len) with stream bytes from `pos`. */
  fill(dst: Uint8Array, pos: number, len: number): void {
    const p = this.period;
    let k = pos % p;
    for (let i = 0; i < len; i++) {
      dst[i] = this.bytes[k]!;
      if (++k === p) k = 0;
    }
  }
  /** Index of the first byte of src[0, len) that differs from the stream at `pos`, or -1. */
  mismatch(src: Uint8Array, pos: number, len: number): number {
    const p = this.period;
    let k = pos % p;
    for (let i = 0; i < len; i++) {
      if (src[i] !== this.bytes[k]) return i;
      if (++k === p) k = 0;
    }
    return -1;
  }
}

// ---------------------------------------------------------------------------------------------
// Two Tcbs over a TcpSim, and a bulk transfer between them.

import { Tcb } from '../../src/vtcp/tcb.js';
import type { TcbOptions } from '../../src/vtcp/contract.js';
import { TcpState } from '../../src/vtcp/contract.js';
import { TCP_FLAG_ACK, TCP_FLAG_SYN } from '../../src/wire/tcp.js';

/** One side of a transfer: writes `sendBytes` of its pattern, checks what it reads. */
export class Endpoint {
  readonly tcb: Tcb;
  sent = 0;
  received = 0;
  mismatchAt = -1;
  ended = false;
  closed = false;
  closeReason: string | null = null;
  established = false;
  sendBytes = 0;
  /** shutdown() once all `sendBytes` are written. */
  shutdownWhenDone = false;
  /** Stop reading (to fill the receive window). */
  paused = false;
  private readonly out: Pattern;
  private readonly inn: Pattern;
  private readonly chunk = new Uint8Array(64 * 1024);
  private readonly rbuf = new Uint8Array(64 * 1024);

  constructor(sink: SegmentSink, opts: TcbOptions, outSeed: number, inSeed: number) {
    this.out = new Pattern(outSeed);
    this.inn = new Pattern(inSeed);
    this.tcb = new Tcb(sink, opts, {
      onEstablished: () => {
        this.established = true;
        this.pump();
      },
      onReadable: () => this.drain(),
      onDrain: () => this.pump(),
      onEnd: () => {
        this.ended = true;
      },
      onClose: (r) => {
        this.closed = true;
        this.closeReason = r;
      },
    });
  }

  /** Writes as much as the Tcb takes. */
  pump(): void {
    const t = this.tcb;
    while (this.sent < this.sendBytes && t.state !== TcpState.Closed && !t.finQueued) {
      const n = Math.min(this.chunk.length, this.sendBytes - this.sent, t.writable);
      if (n <= 0) {
        // Ask for onDrain: offer one byte more than fits.
        if (t.writable === 0) t.write(this.chunk, 0, 1);
        return;
      }
      this.out.fill(this.chunk, this.sent, n);
      const w = t.write(this.chunk, 0, n);
      this.sent += w;
      if (w < n) return;
    }
    if (this.sent >= this.sendBytes && this.shutdownWhenDone && !t.finQueued && (t.state === TcpState.Established || t.state === TcpState.CloseWait)) t.shutdown();
  }

  /** Reads everything readable and checks it against the peer's pattern. */
  drain(): void {
    if (this.paused) return;
    for (;;) {
      const n = this.tcb.read(this.rbuf, 0, this.rbuf.length);
      if (n === 0) return;
      if (this.mismatchAt < 0) {
        const m = this.inn.mismatch(this.rbuf, this.received, n);
        if (m >= 0) this.mismatchAt = this.received + m;
      }
      this.received += n;
    }
  }
}

export interface PairOptions {
  sim?: SimOptions;
  a?: Partial<TcbOptions>;
  b?: Partial<TcbOptions>;
  issA?: number;
  issB?: number;
  portA?: number;
  portB?: number;
}

/**
 * Two endpoints over a new TcpSim: A actively opens to B, which accepts the SYN (a minimal
 * listener). Call `sim.run(...)` to run; `connect()` runs the handshake.
 */
export function makePair(o: PairOptions = {}): { sim: TcpSim; a: Endpoint; b: Endpoint; connect(): boolean } {
  const sim = new TcpSim(o.sim);
  const base = { clock: sim.clock, random: prng((o.sim?.seed ?? 1) + 99) };
  const a = new Endpoint(sim.sinkA, { ...base, ...o.a }, 11, 22);
  const b = new Endpoint(sim.sinkB, { ...base, ...o.b }, 22, 11);
  sim.toA = (f, p, off, len) => a.tcb.input(f, p, off, len);
  sim.toB = (f, p, off, len) => {
    if (b.tcb.state === TcpState.Closed && b.tcb.sndMax === 0) {
      if ((f.flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) === TCP_FLAG_SYN) b.tcb.acceptSyn(f, p, off, len, o.issB ?? 0x8000_0000);
      return;
    }
    b.tcb.input(f, p, off, len);
  };
  return {
    sim,
    a,
    b,
    connect() {
      a.tcb.connect(o.portA ?? 40000, o.portB ?? 80, o.issA ?? 0xffff_f000);
      return sim.run(() => a.established && b.established, 60_000);
    },
  };
}
