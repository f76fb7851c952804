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
  private readonly views: (Uint8Array | undefined)[];

  constructor(d: FramePoolDescriptor) {
    this.count = d.count;
    this.frameSize = d.frameSize;
    this.bytes = new Uint8Array(d.sab);
    this.views = new Array<Uint8Array | undefined>(d.count).fill(undefined);
  }

  /** A view of `len` bytes of frame `i` from `off` (cached per frame while the range repeats). */
  frame(i: number, off: number, len: number): Uint8Array {
    const start = i * this.frameSize + off;
    const v = this.views[i];
    if (v !== undefined && v.byteOffset === start && v.length === len) return v;
    const nv = this.bytes.subarray(start, start + len);
    this.views[i] = nv;
    return nv;
  }

  /** Byte offset of frame `i` in `bytes`. */
  offsetOf(i: number): number {
    return i * this.frameSize;
  }
}

/**
 * The owning thread's allocator: a free stack of frame indices. Frames leave with `alloc` and
 * come back through `release` or the completion rings passed to `reclaim`.
 */
export class FramePoolOwner extends FramePoolView {
  private readonly free: Int32Array;
  private top: number;
  /** `alloc` calls that found no free frame (after reclaiming). */
  exhausted = 0;
  private readonly completions: IndexConsumer[] = [];
  private readonly onReturn = (i: number): void => {
    this.free[this.top++] = i;
  };

  constructor(d: FramePoolDescriptor) {
    super(d);
    this.free = new Int32Array(d.count);
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
    if (this.top === 0 && this.reclaim() === 0) {
      this.exhausted++;
      return -1;
    }
    return this.free[--this.top]!;
  }

  /** Returns a frame the owner itself is done with. */
  release(i: number): void {
    this.free[this.top++] = i;
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
}
