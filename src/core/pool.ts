/**
 * BufferPool: fixed-size frames carved from one ArrayBuffer or SharedArrayBuffer, addressed by
 * index (a number), bounded, with counters (wireguard-go `pools.go`, smoltcp's fixed storage).
 *
 *   slab:  | frame 0 (frameSize) | frame 1 | frame 2 | … | frame count-1 |
 *   free:  Int32Array stack of free indices; `top` is how many are free
 *
 * `alloc()` pops an index (or returns -1 when exhausted, counted); `release(i)` pushes it back.
 * Allocating and releasing allocate nothing. `view(i, off, len)` returns a Uint8Array over part of
 * a frame; the last view made for each frame is cached and returned again when the same range is
 * asked for, so bulk traffic of repeating sizes makes no views at all (DESIGN.md's per-slot cache).
 *
 * Not safe for concurrent use from two threads: each worker owns its pools (a SharedArrayBuffer
 * backing lets frames be *read* elsewhere; the index protocol between threads is the rings').
 */

import { PktError, PktRangeError, intInRange } from '../errors.js';

export interface BufferPoolOptions {
  /** Bytes per frame (default 2048: an Ethernet MTU plus headroom for encapsulation). */
  frameSize?: number;
  /** Number of frames (default 1024). */
  count?: number;
  /** Back the pool with a SharedArrayBuffer (default false). */
  shared?: boolean;
}

export interface BufferPoolStats {
  frameSize: number;
  count: number;
  inUse: number;
  highWater: number;
  allocs: number;
  releases: number;
  /** `alloc()` calls that found the pool empty. */
  exhausted: number;
}

const FREE = 0;
const IN_USE = 1;

export class BufferPool {
  readonly frameSize: number;
  readonly count: number;
  /** The whole slab; frame `i` is `bytes[i * frameSize, (i + 1) * frameSize)`. */
  readonly bytes: Uint8Array;
  private readonly freeList: Int32Array;
  private readonly state: Uint8Array;
  private readonly views: (Uint8Array | undefined)[];
  private top: number;
  private allocs = 0;
  private releases = 0;
  private exhausted = 0;
  private highWater = 0;

  /** @throws {PktRangeError} when frameSize or count is not a positive integer in range. */
  constructor(opts: BufferPoolOptions = {}) {
    this.frameSize = intInRange('BufferPool frameSize', opts.frameSize ?? 2048, 1, 1 << 20);
    this.count = intInRange('BufferPool count', opts.count ?? 1024, 1, 1 << 22);
    const total = this.frameSize * this.count;
    if (total > 2 ** 31) throw new PktRangeError(`BufferPool: frameSize * count must be at most 2 GiB, got ${total} bytes`);
    this.bytes = new Uint8Array(opts.shared ? new SharedArrayBuffer(total) : new ArrayBuffer(total));
    this.freeList = new Int32Array(this.count);
    this.state = new Uint8Array(this.count);
    this.views = new Array<Uint8Array | undefined>(this.count).fill(undefined);
    // Lowest indices are handed out first.
    for (let i = 0; i < this.count; i++) this.freeList[i] = this.count - 1 - i;
    this.top = this.count;
  }

  /** Takes a free frame and returns its index, or -1 when none is free (counted). */
  alloc(): number {
    if (this.top === 0) {
      this.exhausted++;
      return -1;
    }
    const i = this.freeList[--this.top]!;
    this.state[i] = IN_USE;
    this.allocs++;
    const used = this.count - this.top;
    if (used > this.highWater) this.highWater = used;
    return i;
  }

  /**
   * Returns frame `i` to the pool.
   * @throws {PktRangeError} when `i` is not a frame index.
   * @throws {PktError} code ERR_PKT_DOUBLE_FREE when the frame is not allocated.
   */
  release(i: number): void {
    if (!(i >= 0 && i < this.count && Number.isInteger(i))) {
      throw new PktRangeError(`BufferPool.release: expected a frame index in [0, ${this.count - 1}], got ${String(i)}`);
    }
    if (this.state[i] !== IN_USE) throw new PktError('ERR_PKT_DOUBLE_FREE', `BufferPool.release: frame ${i} is not allocated`);
    this.state[i] = FREE;
    this.freeList[this.top++] = i;
    this.releases++;
  }

  /** Byte offset of frame `i` in `bytes`. */
  offsetOf(i: number): number {
    return i * this.frameSize;
  }

  /**
   * A view of `len` bytes of frame `i` starting `off` bytes in (headroom before it stays free for
   * prepending headers). The last view per frame is cached: asking again for the same range
   * returns the same object and allocates nothing. Ranges past the frame are clamped.
   */
  view(i: number, off = 0, len = this.frameSize - off): Uint8Array {
    const start = i * this.frameSize + off;
    const end = Math.min(start + len, (i + 1) * this.frameSize);
    const cached = this.views[i];
    if (cached !== undefined && cached.byteOffset === this.bytes.byteOffset + start && cached.length === end - start) return cached;
    const v = this.bytes.subarray(start, end);
    this.views[i] = v;
    return v;
  }

  /** Frames currently allocated. */
  get inUse(): number {
    return this.count - this.top;
  }

  /** Frames free to allocate. */
  get available(): number {
    return this.top;
  }

  stats(): BufferPoolStats {
    return {
      frameSize: this.frameSize,
      count: this.count,
      inUse: this.inUse,
      highWater: this.highWater,
      allocs: this.allocs,
      releases: this.releases,
      exhausted: this.exhausted,
    };
  }
}
