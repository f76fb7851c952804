/**
 * SpscRing: a lock-free single-producer single-consumer ring of frames in a SharedArrayBuffer,
 * the link between two worker threads. The producer copies each frame into a slot once; the
 * consumer works on it in place and releases the slot when its handler returns.
 *
 *   SharedArrayBuffer, one per ring:
 *
 *   0     +---------------------------------------------------------------+
 *         | control   Int32 x 64: each hot field on its own 64-byte line   |
 *         |   [0]  HEAD          frames published (uint32 counter, wraps) |  written by producer
 *         |   [16] TAIL          frames released  (uint32 counter, wraps) |  written by consumer
 *         |   [32] PROD_WAITING  1 while the producer waits for room      |
 *         |   [48] CLOSED        1 once either side or the owner closed it |
 *   256   +---------------------------------------------------------------+
 *         | stats     Float64 x 16: producer counters (frames, bytes,     |
 *         |           drops by reason, waits), consumer counters           |
 *   384   +---------------------------------------------------------------+
 *         | meta      Int32 x 2 per slot: frame offset in the slot, length |
 *         +---------------------------------------------------------------+
 *         | data      slots x slotSize bytes                               |
 *         |   slot i:  [ headroom | frame … | unused ]                     |
 *         +---------------------------------------------------------------+
 *
 *   HEAD - TAIL (mod 2^32) frames are in flight: 0 = empty, `slots` = full. Slot of counter n:
 *   n & (slots - 1). Counters are compared with wrapping subtraction, so they may start anywhere
 *   (tests start them just below 2^32 to cross the wrap).
 *
 * Ordering: the producer writes a slot's bytes and meta, then publishes with Atomics.store(HEAD)
 * (sequentially consistent, so the writes before it are visible to a consumer that loads HEAD);
 * the consumer reads the slots up to HEAD, runs its handler on each, and only then releases them
 * with Atomics.store(TAIL). So a slot is never overwritten while it is read.
 *
 * Waking (doorbell.ts): after publishing, the producer rings the consumer thread's doorbell, which
 * costs one atomic load unless the consumer is parked. Back-pressure when full is the link's
 * policy: 'drop' counts the frame and returns false (a packet network may drop); 'wait' lets a
 * worker-thread producer wait for room (bounded by `maxWaitMs`, then it drops): a thread that
 * must not block (the control thread) may only use 'drop'.
 *
 * Allocation: pushing copies bytes and allocates nothing; the consumer hands its handler a view
 * of the slot, and the last view per slot is cached and reused when the next frame in that slot
 * has the same offset and length (the common case under bulk traffic), so steady streams make
 * no views at all.
 */

import { Doorbell } from './doorbell.js';

// Control Int32 indices: hot fields 64 bytes apart (no false sharing between the two threads).
const HEAD = 0;
const TAIL = 16;
const PROD_WAITING = 32;
const CLOSED = 48;
const CONTROL_BYTES = 256;

// Stats Float64 indices (each written by one side only; others read them, slightly stale).
export const RingStat = {
  /** Frames the producer published. */
  Pushed: 0,
  PushedBytes: 1,
  /** Frames dropped because the ring was full. */
  DropFull: 2,
  /** Frames dropped because they did not fit in a slot. */
  DropTooBig: 3,
  /** Frames dropped because the ring was closed. */
  DropClosed: 4,
  /** Times the producer waited for room ('wait' policy). */
  Waits: 5,
  /** Frames the consumer handed to its handler. */
  Consumed: 8,
  ConsumedBytes: 9,
  /** Times the consumer woke a waiting producer. */
  ProducerWakeups: 10,
} as const;
const STATS_BYTES = 128;
const META_INTS = 2;

/** What to do when the ring is full. */
export type RingPolicy = 'drop' | 'wait';

/** Everything that defines a ring; structured-clonable (send it in a postMessage to another thread). */
export interface RingDescriptor {
  sab: SharedArrayBuffer;
  /** Slots: a power of two. */
  slots: number;
  /** Bytes per slot, headroom included. */
  slotSize: number;
  /** Bytes kept free before each frame for headers to be prepended in place. */
  headroom: number;
}

export interface RingOptions {
  /** Number of slots, a power of two from 2 to 2^20 (default 1024). */
  slots?: number;
  /** Bytes per slot including headroom (default 2048: a 1500-byte frame plus encapsulation). */
  slotSize?: number;
  /** Headroom before each frame (default 64). */
  headroom?: number;
  /** Start the counters here (tests: just below 2^32 to exercise wrap-around). */
  initialCounter?: number;
}

function check(cond: boolean, msg: string): void {
  if (!cond) throw new RangeError(`SpscRing: ${msg}`);
}

/**
 * Allocates a ring's SharedArrayBuffer and returns its descriptor.
 * @throws {RangeError} when the sizes are out of range.
 */
export function createRing(opts: RingOptions = {}): RingDescriptor {
  const slots = opts.slots ?? 1024;
  const slotSize = opts.slotSize ?? 2048;
  const headroom = opts.headroom ?? 64;
  check(Number.isInteger(slots) && slots >= 2 && slots <= 1 << 20 && (slots & (slots - 1)) === 0, `slots must be a power of two in [2, 2^20], got ${slots}`);
  check(Number.isInteger(slotSize) && slotSize >= 64 && slotSize <= 65536 && slotSize % 8 === 0, `slotSize must be a multiple of 8 in [64, 65536], got ${slotSize}`);
  check(Number.isInteger(headroom) && headroom >= 0 && headroom < slotSize, `headroom must be in [0, slotSize), got ${headroom}`);
  const sab = new SharedArrayBuffer(CONTROL_BYTES + STATS_BYTES + slots * META_INTS * 4 + slots * slotSize);
  const start = (opts.initialCounter ?? 0) | 0;
  const ctl = new Int32Array(sab, 0, CONTROL_BYTES / 4);
  ctl[HEAD] = start;
  ctl[TAIL] = start;
  return { sab, slots, slotSize, headroom };
}

/** The typed arrays over a ring's buffer, shared by the producer and consumer classes. */
class RingViews {
  readonly ctl: Int32Array;
  readonly stats: Float64Array;
  readonly meta: Int32Array;
  readonly data: Uint8Array;
  readonly mask: number;
  readonly slots: number;
  readonly slotSize: number;
  readonly headroom: number;

  constructor(d: RingDescriptor) {
    this.slots = d.slots;
    this.slotSize = d.slotSize;
    this.headroom = d.headroom;
    this.mask = d.slots - 1;
    this.ctl = new Int32Array(d.sab, 0, CONTROL_BYTES / 4);
    this.stats = new Float64Array(d.sab, CONTROL_BYTES, STATS_BYTES / 8);
    this.meta = new Int32Array(d.sab, CONTROL_BYTES + STATS_BYTES, d.slots * META_INTS);
    this.data = new Uint8Array(d.sab, CONTROL_BYTES + STATS_BYTES + d.slots * META_INTS * 4, d.slots * d.slotSize);
  }
}

/** Reads a ring's counters from any thread (the control thread's `stats()`). */
export function ringStats(d: RingDescriptor): { inFlight: number; closed: boolean } & Record<keyof typeof RingStat, number> {
  const v = new RingViews(d);
  const out = {
    inFlight: (Atomics.load(v.ctl, HEAD) - Atomics.load(v.ctl, TAIL)) | 0,
    closed: Atomics.load(v.ctl, CLOSED) === 1,
  } as { inFlight: number; closed: boolean } & Record<keyof typeof RingStat, number>;
  for (const [k, i] of Object.entries(RingStat)) (out as Record<string, number>)[k] = v.stats[i]!;
  return out;
}

/** Marks a ring closed from any thread: producers drop from now on, consumers stop. */
export function closeRing(d: RingDescriptor): void {
  const ctl = new Int32Array(d.sab, 0, CONTROL_BYTES / 4);
  Atomics.store(ctl, CLOSED, 1);
  Atomics.notify(ctl, TAIL); // release a producer waiting for room
}

export interface ProducerOptions {
  /** Back-pressure when full (default 'drop'). */
  policy?: RingPolicy;
  /** With 'wait': the longest a push waits for room before it drops (default 10 ms). */
  maxWaitMs?: number;
  /** The consumer thread's doorbell, rung after each publish (default: none, the consumer polls). */
  doorbell?: Doorbell | null;
}

/**
 * The producing end. Owned by one thread. `push` copies a frame into the next slot (not yet
 * visible); `publish` makes everything pushed visible at once and rings the doorbell; `send`
 * does both. For building frames in place, `reserve` a slot, write into `data` at
 * `slotOffset(i) + headroom` (or earlier, into the headroom), then `commit`.
 */
export class RingProducer {
  private readonly v: RingViews;
  private readonly policy: RingPolicy;
  private readonly maxWaitMs: number;
  private readonly doorbell: Doorbell | null;
  /** Next counter to fill (local; published by `publish`). */
  private head: number;
  /** Last TAIL seen (local cache; refreshed only when the ring looks full). */
  private tailCache: number;
  private published: number;
  /** Bytes pushed since the last publish; added to the shared counter when publishing. */
  private pendingBytes = 0;

  constructor(d: RingDescriptor, opts: ProducerOptions = {}) {
    this.v = new RingViews(d);
    this.policy = opts.policy ?? 'drop';
    this.maxWaitMs = opts.maxWaitMs ?? 10;
    this.doorbell = opts.doorbell ?? null;
    this.head = Atomics.load(this.v.ctl, HEAD);
    this.tailCache = Atomics.load(this.v.ctl, TAIL);
    this.published = this.head;
  }

  /** The largest frame a slot holds after the headroom. */
  get maxFrame(): number {
    return this.v.slotSize - this.v.headroom;
  }

  /** The ring's data area, for building frames in place (see `reserve`). */
  get data(): Uint8Array {
    return this.v.data;
  }

  /** Byte offset in `data` of slot `slot`. */
  slotOffset(slot: number): number {
    return slot * this.v.slotSize;
  }

  /** Frames pushed but not yet published. */
  get pending(): number {
    return (this.head - this.published) | 0;
  }

  get closed(): boolean {
    return Atomics.load(this.v.ctl, CLOSED) === 1;
  }

  /** True when there is room for one more frame (refreshing the cached TAIL if needed). */
  private hasRoom(): boolean {
    const slots = this.v.slots;
    if (((this.head - this.tailCache) | 0) < slots) return true;
    this.tailCache = Atomics.load(this.v.ctl, TAIL);
    return ((this.head - this.tailCache) | 0) < slots;
  }

  /** Waits for room under the 'wait' policy; false when it timed out or the ring closed. */
  private waitForRoom(): boolean {
    const ctl = this.v.ctl;
    this.publish(); // the consumer must see what is pending, or it will never make room
    this.v.stats[RingStat.Waits]!++;
    const deadline = performance.now() + this.maxWaitMs;
    for (;;) {
      Atomics.store(ctl, PROD_WAITING, 1);
      const tail = Atomics.load(ctl, TAIL);
      this.tailCache = tail;
      if (((this.head - tail) | 0) < this.v.slots || Atomics.load(ctl, CLOSED) === 1) break;
      const left = deadline - performance.now();
      if (left <= 0) break;
      Atomics.wait(ctl, TAIL, tail, left);
    }
    Atomics.store(ctl, PROD_WAITING, 0);
    return Atomics.load(ctl, CLOSED) === 0 && ((this.head - this.tailCache) | 0) < this.v.slots;
  }

  /**
   * Claims the next slot for building a frame in place and returns its slot number, or -1 when
   * the ring is full (after the policy's wait) or closed (counted as drops by `commit`'s caller:
   * use `push` unless you need in-place building).
   */
  reserve(): number {
    if (Atomics.load(this.v.ctl, CLOSED) === 1) {
      this.v.stats[RingStat.DropClosed]!++;
      return -1;
    }
    if (!this.hasRoom() && (this.policy === 'drop' || !this.waitForRoom())) {
      // A 'wait' that ended because the ring was closed meanwhile is a drop for being closed.
      if (Atomics.load(this.v.ctl, CLOSED) === 1) this.v.stats[RingStat.DropClosed]!++;
      else this.v.stats[RingStat.DropFull]!++;
      return -1;
    }
    return this.head & this.v.mask;
  }

  /**
   * Completes the slot from `reserve`: the frame is `len` bytes at `off` bytes into the slot
   * (`headroom` when written where `push` would have put it).
   */
  commit(off: number, len: number): void {
    const v = this.v;
    const slot = this.head & v.mask;
    v.meta[slot * META_INTS] = off;
    v.meta[slot * META_INTS + 1] = len;
    this.pendingBytes += len;
    this.head = (this.head + 1) | 0;
  }

  /**
   * Copies `frame` into the next slot, after the headroom. Returns false when it was dropped
   * (ring full, frame larger than a slot, ring closed), each counted by reason. The frame is not
   * visible to the consumer until `publish`.
   */
  push(frame: Uint8Array): boolean {
    const len = frame.length;
    const v = this.v;
    if (len > v.slotSize - v.headroom) {
      v.stats[RingStat.DropTooBig]!++;
      return false;
    }
    const slot = this.reserve();
    if (slot < 0) return false;
    v.data.set(frame, slot * v.slotSize + v.headroom);
    this.commit(v.headroom, len);
    return true;
  }

  /**
   * Makes every pushed frame visible to the consumer and rings its doorbell. The shared Pushed
   * counters are updated here, once per batch, not per frame.
   */
  publish(): void {
    const n = (this.head - this.published) | 0;
    if (n === 0) return;
    const stats = this.v.stats;
    stats[RingStat.Pushed]! += n;
    stats[RingStat.PushedBytes]! += this.pendingBytes;
    this.pendingBytes = 0;
    this.published = this.head;
    Atomics.store(this.v.ctl, HEAD, this.head);
    if (this.doorbell !== null) this.doorbell.ring();
  }

  /** `push` then `publish`. */
  send(frame: Uint8Array): boolean {
    const ok = this.push(frame);
    this.publish();
    return ok;
  }

  /** Closes the ring (from the producing side). */
  close(): void {
    this.publish();
    Atomics.store(this.v.ctl, CLOSED, 1);
    if (this.doorbell !== null) this.doorbell.ring();
  }
}

/** Receives one frame, borrowed from its slot: valid only until the handler returns. */
export type RingHandler = (frame: Uint8Array) => void;

/**
 * The consuming end. Owned by one thread. `poll(handler)` hands the handler every frame
 * published so far (or up to `max`), in order, each as a view into its slot, and then releases
 * the slots together.
 */
export class RingConsumer {
  private readonly v: RingViews;
  private tail: number;
  // The last view made for each slot, and the range it covers. The range is kept in plain
  // arrays rather than read back from the view: `byteOffset` costs about 5 ns a read on Node 20.
  private readonly views: Uint8Array[];
  private readonly viewStart: Int32Array;
  private readonly viewLen: Int32Array;

  // Slots are released lazily: once `releaseBatch` frames are done, or as soon as the consumer
  // finds the ring empty (`poll` or `available` seeing nothing), which every path to parking
  // goes through. Releasing after every single-frame poll would bounce TAIL's cache line
  // between the cores once per frame.
  private released: number;
  private releasedBytes = 0;
  private readonly releaseBatch: number;

  constructor(d: RingDescriptor) {
    this.v = new RingViews(d);
    this.tail = Atomics.load(this.v.ctl, TAIL);
    this.released = this.tail;
    this.releaseBatch = Math.max(1, Math.min(64, d.slots >> 3));
    this.views = new Array<Uint8Array>(d.slots).fill(this.v.data.subarray(0, 0));
    this.viewStart = new Int32Array(d.slots).fill(-1);
    this.viewLen = new Int32Array(d.slots).fill(-1);
  }

  /** Frames published and not yet consumed. Finding none releases the slots already consumed. */
  available(): number {
    const n = (Atomics.load(this.v.ctl, HEAD) - this.tail) | 0;
    if (n === 0 && this.released !== this.tail) this.flush();
    return n;
  }

  get closed(): boolean {
    return Atomics.load(this.v.ctl, CLOSED) === 1;
  }

  /**
   * Runs `handler` on up to `max` published frames in order, in place, then releases their slots.
   * Returns how many it handled. A handler that throws is the caller's bug: the frames before it
   * are released and the exception propagates.
   */
  poll(handler: RingHandler, max = this.v.slots): number {
    const v = this.v;
    const head = Atomics.load(v.ctl, HEAD);
    let n = (head - this.tail) | 0;
    if (n <= 0) {
      if (this.released !== this.tail) this.flush();
      return 0;
    }
    if (n > max) n = max;
    let bytes = 0;
    let done = 0;
    try {
      while (done < n) {
        const slot = (this.tail + done) & v.mask;
        const off = v.meta[slot * META_INTS]!;
        const len = v.meta[slot * META_INTS + 1]!;
        const start = slot * v.slotSize + off;
        let view = this.views[slot]!;
        if (this.viewStart[slot] !== start || this.viewLen[slot] !== len) {
          view = v.data.subarray(start, start + len);
          this.views[slot] = view;
          this.viewStart[slot] = start;
          this.viewLen[slot] = len;
        }
        bytes += len;
        done++; // counted (and released) even if the handler throws: a bad frame is not re-delivered
        handler(view);
      }
    } finally {
      this.tail = (this.tail + done) | 0;
      this.releasedBytes += bytes;
      // A throwing handler or a full release batch: release now. Otherwise the next look that
      // finds the ring empty releases (see the constructor).
      if (done < n || ((this.tail - this.released) | 0) >= this.releaseBatch) this.flush();
    }
    return done;
  }

  /** Releases the slots of every frame consumed so far (the producer may reuse them). */
  flush(): void {
    const frames = (this.tail - this.released) | 0;
    if (frames === 0) return;
    const v = this.v;
    v.stats[RingStat.Consumed]! += frames;
    v.stats[RingStat.ConsumedBytes]! += this.releasedBytes;
    this.releasedBytes = 0;
    this.released = this.tail;
    Atomics.store(v.ctl, TAIL, this.tail);
    if (Atomics.load(v.ctl, PROD_WAITING) === 1) {
      v.stats[RingStat.ProducerWakeups]!++;
      Atomics.notify(v.ctl, TAIL, 1);
    }
  }

  /** Closes the ring (from the consuming side): the producer drops from now on. */
  close(): void {
    this.flush();
    Atomics.store(this.v.ctl, CLOSED, 1);
    Atomics.notify(this.v.ctl, TAIL);
  }
}
