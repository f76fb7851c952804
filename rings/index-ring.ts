/**
 * IndexRing: a lock-free SPSC ring of descriptors (two int32s each), for moving frames between
 * threads without copying them: the frames stay in a SharedFramePool (frame-pool.ts) and only
 * their descriptors travel, as in AF_XDP's fill, rx, tx and completion rings.
 *
 *   SharedArrayBuffer, one per ring:
 *
 *   0     +---------------------------------------------------------+
 *         | control  Int32 x 64                                      |
 *         |   [0]  HEAD    descriptors published (uint32, wraps)     |  producer
 *         |   [16] TAIL    descriptors released                      |  consumer
 *         |   [32] CLOSED                                            |
 *   256   +---------------------------------------------------------+
 *         | stats    Float64 x 16: producer line (pushed, dropped    |
 *         |          full, dropped closed), consumer line (consumed) |
 *   384   +---------------------------------------------------------+
 *         | entries  Int32 x 2 per slot: a, b                        |
 *         +---------------------------------------------------------+
 *
 * What a and b mean is the user's: the frame channels use a = frame index in the pool and
 * b = (offset << 16) | length (`packDesc`/`descOff`/`descLen`). Publishing and releasing follow
 * the same rules as SpscRing (a seq-cst store of HEAD or TAIL after the entries), and a producer
 * rings the consumer thread's doorbell after publishing. A full ring drops (counted): descriptor
 * rings are sized to the pool, so in a correct program they never fill.
 */

import type { Doorbell } from './doorbell.js';

const HEAD = 0;
const TAIL = 16;
const CLOSED = 32;
const CONTROL_BYTES = 256;
// Producer counters on one cache line, the consumer's on the next: a counter each side writes per
// batch must not bounce the other side's line.
const STATS_BYTES = 128;

export const IndexRingStat = { Pushed: 0, DropFull: 1, DropClosed: 2, Consumed: 8 } as const;

export interface IndexRingDescriptor {
  sab: SharedArrayBuffer;
  slots: number;
}

/** Packs a frame's offset (in its pool frame) and length into one int32 (each below 65536). */
export function packDesc(off: number, len: number): number {
  return (off << 16) | len;
}
/** The offset packed by `packDesc`. */
export function descOff(b: number): number {
  return b >>> 16;
}
/** The length packed by `packDesc`. */
export function descLen(b: number): number {
  return b & 0xffff;
}

/**
 * Allocates an index ring of `slots` entries (a power of two from 2 to 2^22).
 * @throws {RangeError} when `slots` is out of range.
 */
export function createIndexRing(slots: number, initialCounter = 0): IndexRingDescriptor {
  if (!(Number.isInteger(slots) && slots >= 2 && slots <= 1 << 22 && (slots & (slots - 1)) === 0)) {
    throw new RangeError(`IndexRing: slots must be a power of two in [2, 2^22], got ${slots}`);
  }
  const sab = new SharedArrayBuffer(CONTROL_BYTES + STATS_BYTES + slots * 8);
  const ctl = new Int32Array(sab, 0, CONTROL_BYTES / 4);
  ctl[HEAD] = initialCounter | 0;
  ctl[TAIL] = initialCounter | 0;
  return { sab, slots };
}

class Views {
  readonly ctl: Int32Array;
  readonly stats: Float64Array;
  readonly entries: Int32Array;
  readonly mask: number;
  readonly slots: number;
  constructor(d: IndexRingDescriptor) {
    this.ctl = new Int32Array(d.sab, 0, CONTROL_BYTES / 4);
    this.stats = new Float64Array(d.sab, CONTROL_BYTES, STATS_BYTES / 8);
    this.entries = new Int32Array(d.sab, CONTROL_BYTES + STATS_BYTES, d.slots * 2);
    this.mask = d.slots - 1;
    this.slots = d.slots;
  }
}

/** Reads an index ring's counters from any thread. */
export function indexRingStats(d: IndexRingDescriptor): { inFlight: number; closed: boolean; pushed: number; dropFull: number; dropClosed: number; consumed: number } {
  const v = new Views(d);
  return {
    inFlight: (Atomics.load(v.ctl, HEAD) - Atomics.load(v.ctl, TAIL)) | 0,
    closed: Atomics.load(v.ctl, CLOSED) === 1,
    pushed: v.stats[IndexRingStat.Pushed]!,
    dropFull: v.stats[IndexRingStat.DropFull]!,
    dropClosed: v.stats[IndexRingStat.DropClosed]!,
    consumed: v.stats[IndexRingStat.Consumed]!,
  };
}

/**
 * The descriptors published and not yet consumed, as [a0, b0, a1, b1, ...] (cold path: the
 * control thread reads what a dead consumer left in its ring). A snapshot: only exact when no
 * thread is still producing into or consuming from the ring.
 */
export function pendingDescriptors(d: IndexRingDescriptor): Int32Array {
  const v = new Views(d);
  const tail = Atomics.load(v.ctl, TAIL);
  let n = (Atomics.load(v.ctl, HEAD) - tail) | 0;
  if (n < 0 || n > v.slots) n = 0;
  const out = new Int32Array(n * 2);
  for (let k = 0; k < n; k++) {
    const i = ((tail + k) & v.mask) << 1;
    out[k * 2] = v.entries[i]!;
    out[k * 2 + 1] = v.entries[i + 1]!;
  }
  return out;
}

/** Marks an index ring closed from any thread. */
export function closeIndexRing(d: IndexRingDescriptor): void {
  Atomics.store(new Int32Array(d.sab, 0, CONTROL_BYTES / 4), CLOSED, 1);
}

/** The producing end of an index ring. Owned by one thread. */
export class IndexProducer {
  private readonly v: Views;
  private readonly doorbell: Doorbell | null;
  private head: number;
  private tailCache: number;
  private published: number;

  constructor(d: IndexRingDescriptor, doorbell: Doorbell | null = null) {
    this.v = new Views(d);
    this.doorbell = doorbell;
    this.head = Atomics.load(this.v.ctl, HEAD);
    this.tailCache = Atomics.load(this.v.ctl, TAIL);
    this.published = this.head;
  }

  /** Queues descriptor (a, b); false when the ring is full or closed (counted). Visible after `publish`. */
  push(a: number, b: number): boolean {
    const v = this.v;
    if (Atomics.load(v.ctl, CLOSED) === 1) {
      v.stats[IndexRingStat.DropClosed]!++;
      return false;
    }
    if (((this.head - this.tailCache) | 0) >= v.slots) {
      this.tailCache = Atomics.load(v.ctl, TAIL);
      if (((this.head - this.tailCache) | 0) >= v.slots) {
        v.stats[IndexRingStat.DropFull]!++;
        return false;
      }
    }
    const i = (this.head & v.mask) << 1;
    v.entries[i] = a;
    v.entries[i + 1] = b;
    v.stats[IndexRingStat.Pushed]!++;
    this.head = (this.head + 1) | 0;
    return true;
  }

  /**
   * Queues the first `n` descriptors of `src` (interleaved: a0, b0, a1, b1, ...) in order, as
   * `push` would one by one, but with one look at CLOSED and at the room left and one update of
   * the Pushed counter: what a producer that stages descriptors per batch uses (an atomic load
   * costs about 8 ns here). Returns how many were queued; the rest are dropped and counted (full
   * or closed), and stay in `src` for the caller to deal with.
   */
  pushBatch(src: Int32Array, n: number): number {
    const v = this.v;
    if (n <= 0) return 0;
    if (Atomics.load(v.ctl, CLOSED) === 1) {
      v.stats[IndexRingStat.DropClosed]! += n;
      return 0;
    }
    let room = v.slots - ((this.head - this.tailCache) | 0);
    if (room < n) {
      this.tailCache = Atomics.load(v.ctl, TAIL);
      room = v.slots - ((this.head - this.tailCache) | 0);
    }
    const k = n < room ? n : room;
    const mask = v.mask;
    const e = v.entries;
    let h = this.head;
    for (let j = 0; j < k; j++) {
      const i = (h & mask) << 1;
      e[i] = src[j << 1]!;
      e[i + 1] = src[(j << 1) + 1]!;
      h = (h + 1) | 0;
    }
    this.head = h;
    v.stats[IndexRingStat.Pushed]! += k;
    if (k < n) v.stats[IndexRingStat.DropFull]! += n - k;
    return k;
  }

  /** Makes the queued descriptors visible and rings the consumer's doorbell. */
  publish(): void {
    if (this.head === this.published) return;
    this.published = this.head;
    Atomics.store(this.v.ctl, HEAD, this.head);
    if (this.doorbell !== null) this.doorbell.ring();
  }

  /** Descriptors queued but not published. */
  get pending(): number {
    return (this.head - this.published) | 0;
  }

  get closed(): boolean {
    return Atomics.load(this.v.ctl, CLOSED) === 1;
  }
}

/** Receives one descriptor. */
export type IndexHandler = (a: number, b: number) => void;

/** The consuming end of an index ring. Owned by one thread. */
export class IndexConsumer {
  private readonly v: Views;
  private tail: number;

  constructor(d: IndexRingDescriptor) {
    this.v = new Views(d);
    this.tail = Atomics.load(this.v.ctl, TAIL);
  }

  available(): number {
    return (Atomics.load(this.v.ctl, HEAD) - this.tail) | 0;
  }

  get closed(): boolean {
    return Atomics.load(this.v.ctl, CLOSED) === 1;
  }

  /** Hands up to `max` published descriptors to `handler` in order, then releases them. */
  poll(handler: IndexHandler, max = this.v.slots): number {
    const v = this.v;
    let n = (Atomics.load(v.ctl, HEAD) - this.tail) | 0;
    if (n <= 0) return 0;
    if (n > max) n = max;
    let done = 0;
    try {
      while (done < n) {
        const i = ((this.tail + done) & v.mask) << 1;
        done++;
        handler(v.entries[i]!, v.entries[i + 1]!);
      }
    } finally {
      this.tail = (this.tail + done) | 0;
      v.stats[IndexRingStat.Consumed]! += done;
      Atomics.store(v.ctl, TAIL, this.tail);
    }
    return done;
  }
}
