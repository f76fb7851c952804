/**
 * SharedFramePool: fixed-size frames in one SharedArrayBuffer, so that a frame can cross threads
 * without being copied: threads pass descriptors (index-ring.ts) and read or rewrite the frame in
 * place. The layout AF_XDP gives its UMEM:
 *
 *   SharedArrayBuffer:  | frame 0 (frameSize) | frame 1 | … | frame count-1 |
 *
 * One thread owns the pool (`FramePoolOwner`): it alone hands out free frames and takes them
 * back, from a free stack only it touches. Frames come home through completion rings (any thread
 * that is done with a frame pushes its index there) and can be lent to another thread in advance
 * through a fill ring (that thread fills them, as a NIC or TUN reader does, and passes them on):
 *
 *   owner --fill--> device thread --rx--> consumers ... --completion--> owner
 *   owner --tx--> consumer thread --completion--> owner
 *
 * Every thread, owner or not, reads frames through `FramePoolView.frame(i, off, len)`, which caches
 * the last view per frame and range (no allocation under steady traffic).
 */

import { IndexConsumer, IndexProducer } from './index-ring.js';

/**
 * The largest frame size: descriptors carry a frame's offset and length in 16 bits each
 * (`packDesc`), so a frame must be shorter than 65536 bytes; 65528 is the largest multiple of 8.
 */
export const MAX_FRAME_SIZE = 65528;

export interface FramePoolDescriptor {
  sab: SharedArrayBuffer;
  count: number;
  frameSize: number;
}

/**
 * Allocates a pool of `count` frames of `frameSize` bytes.
 * @throws {RangeError} when the sizes are out of range.
 */
export function createFramePool(count: number, frameSize = 2048): FramePoolDescriptor {
  if (!(Number.isInteger(count) && count >= 1 && count <= 1 << 22)) throw new RangeError(`FramePool: count must be in [1, 2^22], got ${count}`);
  if (!(Number.isInteger(frameSize) && frameSize >= 64 && frameSize <= MAX_FRAME_SIZE && frameSize % 8 === 0)) {
    throw new RangeError(`FramePool: frameSize must be a multiple of 8 in [64, ${MAX_FRAME_SIZE}], got ${frameSize}`);
  }
  if (count * frameSize > 2 ** 31) throw new RangeError(`FramePool: count * frameSize must be at most 2 GiB`);
  return { sab: new SharedArrayBuffer(count * frameSize), count, frameSize };
}

/** Any thread's access to a pool's frames. */
export class FramePoolView {
  readonly count: number;
  readonly frameSize: number;
  /** The whole slab. Frame i starts at i * frameSize. */
  readonly bytes: Uint8Array;
  // The last view made for each frame, and the range it covers. The range is kept in typed arrays
  // rather than read back from the view: `byteOffset` costs 5-12 ns a read on Node 20.
  private readonly views: Uint8Array[];
  private readonly viewStart: Int32Array;
  private readonly viewLen: Int32Array;

  constructor(d: FramePoolDescriptor) {
    this.count = d.count;
    this.frameSize = d.frameSize;
    this.bytes = new Uint8Array(d.sab);
    this.views = new Array<Uint8Array>(d.count).fill(this.bytes.subarray(0, 0));
    this.viewStart = new Int32Array(d.count).fill(-1);
    this.viewLen = new Int32Array(d.count).fill(-1);
  }

  /** A view of `len` bytes of frame `i` from `off` (cached per frame while the range repeats). */
  frame(i: number, off: number, len: number): Uint8Array {
    const start = i * this.frameSize + off;
    if (this.viewStart[i] === start && this.viewLen[i] === len) return this.views[i]!;
    const nv = this.bytes.subarray(start, start + len);
    this.views[i] = nv;
    this.viewStart[i] = start;
    this.viewLen[i] = len;
    return nv;
  }

  /** Byte offset of frame `i` in `bytes`. */
  offsetOf(i: number): number {
    return i * this.frameSize;
  }
}

/**
 * The owning thread's allocator: free frame indices in a double-ended stack. Frames leave with
 * `alloc` (from the warm end) and come back through `release` (the warm end: the owner itself
 * touched them last, they are still in this core's cache, reuse them first) or `releaseCold`
 * and the completion rings passed to `reclaim` (the cold end: another core touched them last,
 * so their lines sit in that core's cache, some modified; reusing one at once makes this core
 * pull every line back across while the other may still hold them. Measured on the dataplane's
 * 2-worker chain: reusing returned frames first halved its throughput, against byte rings that
 * reuse a slot only after every other slot).
 *
 *   free: Int32Array(count), circular     [ cold end ... warm end ]
 *                                           ^ bottom      ^ bottom + top - 1
 *
 * A frame that comes back while it is already free (a double free: a bug somewhere in the chain
 * of holders) or with an index outside the pool is not pushed again, only counted
 * (`doubleFrees`, `badReturns`): the free stack can never hold a frame twice, so one bug cannot
 * turn into two threads writing the same frame.
 */
export class FramePoolOwner extends FramePoolView {
  private readonly free: Int32Array;
  /** 1 while frame i is in the free stack. */
  private readonly isFree: Uint8Array;
  /** Where the cold end is in `free`, and how many frames are free. */
  private bottom = 0;
  private top: number;
  /** `alloc` calls that found no free frame (after reclaiming). */
  exhausted = 0;
  /** Frames returned while already free. */
  doubleFrees = 0;
  /** Returns with an index outside the pool. */
  badReturns = 0;
  /** The most frames ever out of the free stack at once. */
  highWater = 0;
  private readonly completions: IndexConsumer[] = [];
  private readonly onReturn = (i: number): void => {
    this.releaseCold(i);
  };

  constructor(d: FramePoolDescriptor) {
    super(d);
    this.free = new Int32Array(d.count);
    this.isFree = new Uint8Array(d.count).fill(1);
    for (let i = 0; i < d.count; i++) this.free[i] = d.count - 1 - i;
    this.top = d.count;
  }

  /** Adds a completion ring through which other threads return frames. */
  addCompletionRing(c: IndexConsumer): void {
    this.completions.push(c);
  }

  /** Takes back every frame waiting in the completion rings. Returns how many. */
  reclaim(): number {
    let n = 0;
    for (let k = 0; k < this.completions.length; k++) n += this.completions[k]!.poll(this.onReturn);
    return n;
  }

  /** A free frame's index, or -1 (counted) when none is free even after reclaiming. */
  alloc(): number {
    if (this.top === 0 && !this.refill()) return -1;
    let at = this.bottom + --this.top;
    if (at >= this.count) at -= this.count;
    const i = this.free[at]!;
    this.isFree[i] = 0;
    const used = this.count - this.top;
    if (used > this.highWater) this.highWater = used;
    return i;
  }

  /** The stack is empty: reclaims; false (counted) when that found nothing. Out of line: rare. */
  private refill(): boolean {
    this.reclaim();
    if (this.top !== 0) return true;
    this.exhausted++;
    return false;
  }

  /** Returns a frame the owner itself touched last (the warm end: reused first). */
  release(i: number): void {
    if (!this.freeable(i)) return;
    let at = this.bottom + this.top++;
    if (at >= this.count) at -= this.count;
    this.free[at] = i;
  }

  /** Returns a frame another thread touched last (the cold end: reused last). */
  releaseCold(i: number): void {
    if (!this.freeable(i)) return;
    this.bottom = this.bottom === 0 ? this.count - 1 : this.bottom - 1;
    this.top++;
    this.free[this.bottom] = i;
  }

  /** Checks and marks a returning frame; false (counted) for a bad index or a double free. */
  private freeable(i: number): boolean {
    if (!(i >= 0 && i < this.count)) {
      this.badReturns++;
      return false;
    }
    if (this.isFree[i] === 1) {
      this.doubleFrees++;
      return false;
    }
    this.isFree[i] = 1;
    return true;
  }

  /**
   * Lends up to `n` free frames to another thread through its fill ring (descriptor: index, and
   * the whole frame as the space to fill). Returns how many were lent.
   */
  lend(fill: IndexProducer, n: number): number {
    let k = 0;
    while (k < n) {
      const i = this.alloc();
      if (i < 0) break;
      if (!fill.push(i, this.frameSize)) {
        this.release(i);
        break;
      }
      k++;
    }
    fill.publish();
    return k;
  }

  /** Frames free in the owner's stack now (not counting those waiting in completion rings). */
  get available(): number {
    return this.top;
  }

  /** Frames out of the free stack: lent, in flight, held elsewhere, or waiting in a completion ring. */
  get inUse(): number {
    return this.count - this.top;
  }
}
