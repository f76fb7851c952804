/**
 * FrameBroker: one port worker's side of the zero-copy frame pools. Every worker owns one
 * `SharedFramePool` (rings/frame-pool.ts) and can read every other worker's; frames travel between
 * workers as descriptors on zero-copy links (zero-copy-device.ts) and go home to their owner when
 * the last holder is done with them:
 *
 *   worker A (owner)                  worker B                         worker C
 *   ctx.allocFrame ─ engine ─ send ══desc══> handler ─ engine ─ send ══desc══> handler (keeps nothing)
 *        ^                                                                  │
 *        └───────────── reclaim <═══ completion ring C->A <═════════════════┘
 *
 * Descriptor words (two int32s, as every IndexRing carries):
 *
 *   a = pool << 22 | frame      pool: the owning worker's index (< 512); frame: index in that pool (< 2^22)
 *   b = packDesc(off, len)      where the frame's bytes start in its pool frame, and how many (< 65536 each)
 *
 * Completion rings carry (frame, 0): each ring returns frames of one pool only. Returns are staged
 * per owner and pushed a batch at a time when the worker publishes (IndexProducer.pushBatch: one
 * atomic look at the ring per batch, not per frame: an atomic load costs about 8 ns here).
 *
 * Which frames a worker may forward without copying: the ones it holds. A frame is held
 * ("live") while the engine callback that got it runs: from `ctx.allocFrame` until the callback
 * that allocated it returns, or from its delivery by an inbound zero-copy link until the handler
 * returns. `send` on a zero-copy device forwards a live frame once (its state goes from Live to
 * Forwarded: ownership passes down the chain); anything else (an ordinary buffer, a byte-ring slot,
 * a frame already forwarded, as when a hub floods one frame to two links) is copied into a frame of
 * this worker's pool first. When the callback returns, the runtime ends the scope: allocated frames
 * that were not forwarded go back to the free stack, a delivered one that was not forwarded goes
 * back to its owner (locally, or through the completion ring to that owner).
 *
 * Nothing here allocates per frame: states are one byte per pool frame, the frames allocated in
 * the current callback sit on an Int32Array stack. The one `frame.buffer` read (about 20 ns) is
 * avoided for the common case, a frame sent right after it was allocated or delivered, by
 * comparing with the last view handed out.
 *
 * Holdings: each worker counts, per pool, the frames it is responsible for in a row of a shared
 * Int32Array (one 64-byte line per worker, written only by that worker). When a worker dies, the
 * control thread adds its row to what it left in the rings leading to it: the frames of each live
 * pool that will never come back (`lost`).
 *
 * Not concurrent: one broker per worker, used on that worker's thread only.
 */

import { FramePoolOwner, FramePoolView, IndexConsumer, IndexProducer, type FramePoolDescriptor, type IndexRingDescriptor } from '../../rings/index.js';

/** Bits of the frame index in descriptor word a; the pool id is above them. */
export const DESC_POOL_SHIFT = 22;
export const DESC_INDEX_MASK = (1 << DESC_POOL_SHIFT) - 1;
/** Pools a descriptor can name (pool ids are worker indices). */
export const MAX_POOLS = 1 << (31 - DESC_POOL_SHIFT);
/** Frames a pool can have (the frame index field). */
export const MAX_POOL_FRAMES = 1 << DESC_POOL_SHIFT;

/** Int32s per worker row of the holdings array: at least one cache line, so rows never share one. */
export function holdingsStride(workers: number): number {
  return Math.max(16, (workers + 15) & ~15);
}

const IDLE = 0;
const LIVE = 1;
const FORWARDED = 2;

// Counters (Float64Array indices).
const TOO_BIG = 0;
const COMPLETIONS_SENT = 1;
const COMPLETIONS_DISCARDED = 2;
const BAD_DESCRIPTORS = 3;

/** Completions staged per owner before a batch push (more are pushed at once). */
const RETURN_STAGE = 256;

/** An outbound zero-copy port: pushes what it staged and publishes (after the scope ended). */
export interface OutboundPort {
  flush(): void;
}

/** What the broker needs from the run loop. */
export interface BrokerHook {
  readonly inRound: boolean;
  /** Ends the scope and publishes soon (a microtask): for frames allocated outside a round. */
  schedulePublish(): void;
}

/** A worker's pool counters, as its stats reply carries them. */
export interface BrokerPoolStats {
  free: number;
  inUse: number;
  highWater: number;
  exhausted: number;
  tooBig: number;
  doubleFrees: number;
  completionsSent: number;
  completionsDiscarded: number;
  badDescriptors: number;
}

const EMPTY = new Uint8Array(0);

export class FrameBroker {
  readonly self: number;
  readonly own: FramePoolOwner;
  readonly headroom: number;
  readonly frameSize: number;
  /** The largest `allocFrame` length. */
  readonly maxAlloc: number;
  /** Every pool, by owner index (this worker's is `own`). */
  private readonly pools: FramePoolView[];
  private readonly sabs: SharedArrayBuffer[];
  private readonly states: Uint8Array[];
  private readonly ownState: Uint8Array;
  /** This worker's row of the holdings: frames it is responsible for, per pool. */
  private readonly held: Int32Array;
  private readonly allocStack: Int32Array;
  private allocTop = 0;
  /** The last view handed out (allocated or delivered), and what it is. */
  private lastView: Uint8Array = EMPTY;
  private lastPool = -1;
  private lastIdx = -1;
  private lastOff = 0;
  /** Set by `take`: descriptor word b of the frame taken. */
  takenB = 0;
  /** Completion producers by owner index (null: none, or the owner is this worker). */
  private readonly completions: (IndexProducer | null)[];
  private completionList: IndexProducer[] = [];
  /** Returns staged per owner: (frame, 0) pairs, and how many. */
  private readonly returns: Int32Array[];
  private readonly returnCount: Int32Array;
  private returnOwners: number[] = [];
  /** Outbound zero-copy ports: flushed at the end of each round, or early once `publishDue`. */
  private ports: OutboundPort[] = [];
  /** A zero-copy producer has a quarter of its ring pending: publish at the next scope end. */
  publishDue = false;
  private hasCompletionRings = false;
  private readonly c = new Float64Array(4);
  private readonly hook: BrokerHook;

  constructor(self: number, pools: readonly FramePoolDescriptor[], headroom: number, holdings: SharedArrayBuffer, stride: number, hook: BrokerHook) {
    this.self = self;
    this.hook = hook;
    this.own = new FramePoolOwner(pools[self]!);
    this.pools = pools.map((d, i) => (i === self ? this.own : new FramePoolView(d)));
    this.sabs = pools.map((d) => d.sab);
    this.states = pools.map((d) => new Uint8Array(d.count));
    this.ownState = this.states[self]!;
    this.headroom = headroom;
    this.frameSize = this.own.frameSize;
    this.maxAlloc = this.frameSize - headroom;
    this.held = new Int32Array(holdings, self * stride * 4, pools.length);
    this.allocStack = new Int32Array(this.own.count);
    this.completions = pools.map(() => null);
    this.returns = pools.map(() => new Int32Array(RETURN_STAGE * 2));
    this.returnCount = new Int32Array(pools.length);
  }

  // -------------------------------------------------------------------------------------------
  // Allocation (ctx.allocFrame) and the end of a callback's scope

  /**
   * A view of `len` bytes of a free frame of this worker's pool, after the headroom; null when
   * the pool is exhausted or `len` does not fit (both counted). Held until the current callback
   * returns (see the file header).
   */
  alloc(len: number): Uint8Array | null {
    if (!(len >= 0 && len <= this.maxAlloc) || (len | 0) !== len) {
      this.c[TOO_BIG]!++;
      return null;
    }
    const i = this.own.alloc();
    if (i < 0) return null;
    this.ownState[i] = LIVE;
    this.allocStack[this.allocTop++] = i;
    this.held[this.self]!++;
    const v = this.own.frame(i, this.headroom, len);
    this.lastView = v;
    this.lastPool = this.self;
    this.lastIdx = i;
    this.lastOff = this.headroom;
    if (!this.hook.inRound) this.hook.schedulePublish();
    return v;
  }

  /** Frames allocated in the current scope. */
  get allocated(): number {
    return this.allocTop;
  }

  /** A callback returned: frees the frames it allocated and did not forward. */
  endScope(): void {
    const n = this.allocTop;
    if (n === 0) return;
    const st = this.ownState;
    const stack = this.allocStack;
    let freed = 0;
    for (let k = 0; k < n; k++) {
      const i = stack[k]!;
      if (st[i] === LIVE) {
        this.own.release(i);
        freed++;
      }
      st[i] = IDLE;
    }
    this.held[this.self]! -= freed;
    this.allocTop = 0;
  }

  // -------------------------------------------------------------------------------------------
  // Sending (zero-copy devices)

  /**
   * If `frame` is a live pool frame held here and not forwarded yet, marks it forwarded and
   * returns descriptor word a (word b in `takenB`); otherwise -1 (the caller copies).
   */
  take(frame: Uint8Array): number {
    let p: number;
    let i: number;
    let off: number;
    if (frame === this.lastView) {
      p = this.lastPool;
      i = this.lastIdx;
      off = this.lastOff;
    } else {
      p = this.poolOf(frame);
      if (p < 0) return -1;
      const start = frame.byteOffset;
      const fs = this.frameSize;
      i = (start / fs) | 0;
      off = start - i * fs;
      if (off + frame.length > fs) return -1;
    }
    const st = this.states[p]!;
    if (st[i] !== LIVE) return -1;
    st[i] = FORWARDED;
    this.held[p]!--;
    this.takenB = (off << 16) | frame.length;
    return (p << DESC_POOL_SHIFT) | i;
  }

  /** The pool whose memory `frame` views, or -1 (off the fast path: reads `frame.buffer`). */
  private poolOf(frame: Uint8Array): number {
    const buf = frame.buffer;
    const sabs = this.sabs;
    if (buf === sabs[this.self]) return this.self;
    for (let p = 0; p < sabs.length; p++) if (sabs[p] === buf) return p;
    return -1;
  }

  /**
   * Copies `frame` into a new frame of this worker's pool for a zero-copy send, and returns its
   * descriptor word a (b in `takenB`); -1 when the pool is exhausted. The copy is not live: the
   * engine never sees it, and it is forwarded at once (ownership leaves with the descriptor).
   */
  copyIn(frame: Uint8Array): number {
    const i = this.own.alloc();
    if (i < 0) return -1;
    const own = this.own;
    own.bytes.set(frame, own.offsetOf(i) + this.headroom);
    this.takenB = (this.headroom << 16) | frame.length;
    return (this.self << DESC_POOL_SHIFT) | i;
  }

  /** Frees a copy made by `copyIn` whose push failed. */
  dropCopy(a: number): void {
    this.own.release(a & DESC_INDEX_MASK);
  }

  /** A frame `take`n for a push that then failed, after its callback returned: it goes home. */
  giveBackTaken(a: number): void {
    this.giveBack(a >>> DESC_POOL_SHIFT, a & DESC_INDEX_MASK);
  }

  // -------------------------------------------------------------------------------------------
  // Receiving (zero-copy devices)

  /**
   * An inbound descriptor: the frame's view, now live here; null when the descriptor names no
   * frame (counted, and nothing to give back).
   */
  deliver(a: number, b: number): Uint8Array | null {
    const p = a >>> DESC_POOL_SHIFT;
    const i = a & DESC_INDEX_MASK;
    const off = b >>> 16;
    const len = b & 0xffff;
    const pool = this.pools[p];
    if (pool === undefined || i >= pool.count || off + len > this.frameSize) {
      this.c[BAD_DESCRIPTORS]!++;
      return null;
    }
    this.states[p]![i] = LIVE;
    this.held[p]!++;
    const v = pool.frame(i, off, len);
    this.lastView = v;
    this.lastPool = p;
    this.lastIdx = i;
    this.lastOff = off;
    return v;
  }

  /**
   * The handler of a delivered frame returned: gives the frame back to its owner unless it was
   * forwarded, and ends the scope of what the handler allocated.
   */
  delivered(a: number): void {
    const p = a >>> DESC_POOL_SHIFT;
    const i = a & DESC_INDEX_MASK;
    const st = this.states[p]!;
    if (st[i] === LIVE) {
      this.held[p]!--;
      this.giveBack(p, i);
    }
    st[i] = IDLE;
    if (this.allocTop !== 0) this.endScope();
  }

  /**
   * Returns frame `i` of pool `p` to its owner: locally, or staged for the completion ring (pushed
   * when the worker publishes, or when RETURN_STAGE are waiting).
   */
  giveBack(p: number, i: number): void {
    if (p === this.self) {
      // Home after a trip through other workers (A -> B -> A): cold, like a completion.
      this.own.releaseCold(i);
      return;
    }
    if (this.completions[p] === null) {
      // No ring to that owner: it died (or never took part), and its pool with it.
      this.c[COMPLETIONS_DISCARDED]!++;
      return;
    }
    const n = this.returnCount[p]!;
    this.returns[p]![n << 1] = i;
    if (n + 1 === RETURN_STAGE) this.pushReturnsN(p, RETURN_STAGE);
    else this.returnCount[p] = n + 1;
  }

  /** Pushes the `n` returns staged for owner `p` (visible once published). */
  private pushReturnsN(p: number, n: number): void {
    this.returnCount[p] = 0;
    if (n === 0) return;
    const cp = this.completions[p]!;
    const ok = cp.pushBatch(this.returns[p]!, n);
    this.c[COMPLETIONS_SENT]! += ok;
    // A closed ring: the owner died, its pool with it.
    if (ok < n) this.c[COMPLETIONS_DISCARDED]! += n - ok;
  }

  // -------------------------------------------------------------------------------------------
  // Rings

  /** Adds the completion ring through which this worker returns frames of `owner`'s pool. */
  addCompletionOut(owner: number, ring: IndexRingDescriptor): void {
    if (owner === this.self || owner < 0 || owner >= this.completions.length) return;
    const old = this.completions[owner];
    if (old !== null && old !== undefined) this.pushReturnsN(owner, this.returnCount[owner]!);
    const p = new IndexProducer(ring, null);
    this.completions[owner] = p;
    this.completionList = [...this.completionList.filter((x) => x !== old), p];
    if (!this.returnOwners.includes(owner)) this.returnOwners = [...this.returnOwners, owner];
  }

  /** Adds a completion ring through which another worker returns frames of this worker's pool. */
  addCompletionIn(ring: IndexRingDescriptor): void {
    this.own.addCompletionRing(new IndexConsumer(ring));
    this.hasCompletionRings = true;
  }

  /** Registers an outbound zero-copy port, flushed with the others. */
  addPort(p: OutboundPort): void {
    this.ports = [...this.ports, p];
  }

  removePort(p: OutboundPort): void {
    this.ports = this.ports.filter((x) => x !== p);
  }

  /** Takes back the frames other workers returned (each round). */
  reclaim(): void {
    if (this.hasCompletionRings) this.own.reclaim();
  }

  /**
   * Pushes and publishes everything staged: every zero-copy port and every completion ring. Only
   * between callbacks (a forwarded frame stays readable until its callback returns).
   */
  publish(): void {
    this.publishDue = false;
    const ps = this.ports;
    for (let k = 0; k < ps.length; k++) ps[k]!.flush();
    const owners = this.returnOwners;
    const counts = this.returnCount;
    for (let k = 0; k < owners.length; k++) {
      const p = owners[k]!;
      if (counts[p] !== 0) this.pushReturnsN(p, counts[p]!);
    }
    const cs = this.completionList;
    for (let k = 0; k < cs.length; k++) cs[k]!.publish();
  }

  stats(): BrokerPoolStats {
    this.reclaim();
    const own = this.own;
    const c = this.c;
    return {
      free: own.available,
      inUse: own.inUse,
      highWater: own.highWater,
      exhausted: own.exhausted,
      tooBig: c[TOO_BIG]!,
      doubleFrees: own.doubleFrees + own.badReturns,
      completionsSent: c[COMPLETIONS_SENT]!,
      completionsDiscarded: c[COMPLETIONS_DISCARDED]!,
      badDescriptors: c[BAD_DESCRIPTORS]!,
    };
  }
}
