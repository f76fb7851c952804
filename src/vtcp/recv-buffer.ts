/**
 * The receive side's byte store: in-order bytes waiting for the application and out-of-order
 * bytes waiting for the gap before them to fill (RFC 9293 §3.10.7.4 "seventh, process the
 * segment text"), and the SACK blocks that describe the latter (RFC 2018 §4).
 *
 * One ring of `capacity` bytes holds both, each byte at a fixed place for its sequence number:
 *
 *       head (ring index of the first unread byte)
 *        |<-------- readable -------->|<- gap ->|<- ooo range ->|  ...  |<- free ->|
 *        ^ seq nxt - readable         ^ seq nxt (RCV.NXT)                          ^ nxt + capacity - readable
 *
 * Bytes are accepted only inside [RCV.NXT, RCV.NXT + capacity - readable): the whole free part of
 * the ring, which is never less than the window we offered (the offer is smaller, see `window`).
 * Out-of-order data is copied to its final place in the ring at once; the in-order segment that
 * fills the gap advances RCV.NXT over it, so no byte is copied twice on the way in.
 * The out-of-order ranges are a small sorted array of [start, end) sequence numbers in
 * preallocated typed arrays, merged on insert (overlapping and adjacent ranges become one), with a
 * stamp of the last segment that touched each, for RFC 2018's block order. At most
 * `maxOutOfOrder` ranges are held: a segment that would need one more is dropped (RFC 9293 lets
 * a receiver drop out-of-order segments; the sender retransmits it).
 *
 * Memory: the ring and the range arrays, allocated at construction; nothing per call (see
 * `ByteCopier` for how bytes are copied without a view per call).
 * Overlaps: a byte received twice is written twice, in place. A peer that sends different bytes
 * for the same sequence numbers gets the later ones if the first copy was still out of order
 * (RFC 9293 leaves this to the implementation; data already readable is never rewritten).
 * Not safe for reentrant use; one per connection.
 */

import { BulkCopy } from '../core/bulk-copy.js';
import { PktRangeError } from '../errors.js';

const bufferCopy = Buffer.prototype.copy;
/** Up to this length a byte loop beats both other ways of copying. */
const COPY_LOOP_MAX = 32;
/** Bytes per step of the word loop (four 32-bit words). */
const COPY_UNROLL = 16;
const WORD = 4;

/**
 * Copies src[srcOff, srcOff + len) to dst[dstOff, ...) through the addon's memcpy (core/bulk-copy.ts)
 * from 1 KiB up when it is loaded, else through Node's native copy. Both ranges
 * must be in bounds. The latter allocates one view object when the source range is not the whole of `src`
 * (Node 20's Buffer.prototype.copy wraps it in a new Uint8Array, as `subarray` + `set` would);
 * `ByteCopier` avoids that on hot paths.
 */
export function copyBytes(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, len: number): void {
  if (len <= COPY_LOOP_MAX) {
    for (let i = 0; i < len; i++) dst[dstOff + i] = src[srcOff + i]!;
    return;
  }
  const bulk = BulkCopy.fn;
  if (bulk !== null && len >= BulkCopy.min) return bulk(dst, dstOff, src, srcOff, len);
  bufferCopy.call(src, dst, dstOff, srcOff, srcOff + len);
}

/**
 * Copies bytes between a buffer's own ring and outside buffers without allocating, in steady
 * state. JavaScript has no allocation-free memcpy between two typed arrays at arbitrary offsets:
 * `dst.set(src.subarray(..))` and Node 20's `Buffer.prototype.copy` both make a view of the
 * source range per call (measured here: 84 ns for 1460 bytes with the view, 93 scavenges per
 * million copies). A loop of 32-bit DataView loads and stores is allocation-free at any alignment
 * but slower: 300 to 700 ns per 1460 bytes here (2-5 GB/s; the DataViews come from fields, so V8
 * keeps a bounds and detach check per access), against about 80 ns for the native copy, view
 * and its garbage collection included. The project's rule (no allocation per packet) picks the
 * loop; bench/vtcp-blocks.bench.ts measures both. It is used once a DataView over the outside
 * buffer's ArrayBuffer is at hand: views are cached for the outside ArrayBuffers that recur (a
 * packet slab, a ring of slots: the steady state of a connection), one cache for each direction,
 * and a buffer seen once goes through the native copy instead of getting a DataView of its own
 * (so a stream of fresh buffers allocates one view per copy, not two).
 * With the addon loaded, copies from 1 KiB up go through its memcpy instead (core/bulk-copy.ts):
 * allocation-free too, and 5-10x faster for full-size segments.
 * Not reentrant; one per buffer.
 */
export class ByteCopier {
  private readonly ringDv: DataView;
  /** One cache per direction: what is copied in (packets) and out to (the reader's buffers). */
  private readonly inCache: DataViewCache;
  private readonly outCache: DataViewCache;

  constructor(ring: Uint8Array) {
    this.ringDv = new DataView(ring.buffer, ring.byteOffset, ring.byteLength);
    this.inCache = new DataViewCache();
    this.outCache = new DataViewCache();
  }

  /** ring[pos, pos + len) <- src[srcOff, srcOff + len). */
  toRing(ring: Uint8Array, pos: number, src: Uint8Array, srcOff: number, len: number): void {
    if (len <= COPY_LOOP_MAX) {
      for (let i = 0; i < len; i++) ring[pos + i] = src[srcOff + i]!;
      return;
    }
    const bulk = BulkCopy.fn;
    if (bulk !== null && len >= BulkCopy.min) return bulk(ring, pos, src, srcOff, len);
    const sdv = this.inCache.viewOf(src);
    if (sdv === null) bufferCopy.call(src, ring, pos, srcOff, srcOff + len);
    else dvCopy(this.ringDv, pos, sdv, src.byteOffset + srcOff, len);
  }

  /** dst[dstOff, dstOff + len) <- ring[pos, pos + len). */
  fromRing(dst: Uint8Array, dstOff: number, ring: Uint8Array, pos: number, len: number): void {
    if (len <= COPY_LOOP_MAX) {
      for (let i = 0; i < len; i++) dst[dstOff + i] = ring[pos + i]!;
      return;
    }
    const bulk = BulkCopy.fn;
    if (bulk !== null && len >= BulkCopy.min) return bulk(dst, dstOff, ring, pos, len);
    const ddv = this.outCache.viewOf(dst);
    if (ddv === null) bufferCopy.call(ring, dst, dstOff, pos, pos + len);
    else dvCopy(ddv, dst.byteOffset + dstOff, this.ringDv, pos, len);
  }
}

/**
 * DataViews for the two ArrayBuffers most recently seen twice (a connection's packets may come
 * from two slabs, or alternate between a reused scratch buffer and a ring). A buffer seen for the
 * first time gets no DataView (the caller copies natively): it may never come back. The array
 * itself is compared first: `TypedArray.prototype.buffer` is not inlined on Node 20 (about 17 ns,
 * docs/ARCHITECTURE.md).
 */
class DataViewCache {
  private arr: Uint8Array | null = null;
  private arrDv: DataView | null = null;
  private buf0: ArrayBufferLike | null = null;
  private dv0: DataView | null = null;
  private buf1: ArrayBufferLike | null = null;
  private dv1: DataView | null = null;
  /** Which entry the next admission replaces (the older one). */
  private victim: number = 0;
  private miss0: ArrayBufferLike | null = null;
  private miss1: ArrayBufferLike | null = null;

  /** A DataView over `a.buffer` (offsets are then a.byteOffset + off), or null: copy natively. */
  viewOf(a: Uint8Array): DataView | null {
    if (a === this.arr) return this.arrDv;
    const buf = a.buffer;
    let dv: DataView | null = null;
    if (buf === this.buf0) {
      dv = this.dv0;
      this.victim = 1;
    } else if (buf === this.buf1) {
      dv = this.dv1;
      this.victim = 0;
    } else if (buf === this.miss0 || buf === this.miss1) {
      dv = new DataView(buf);
      if (this.victim === 0) {
        this.buf0 = buf;
        this.dv0 = dv;
        this.victim = 1;
      } else {
        this.buf1 = buf;
        this.dv1 = dv;
        this.victim = 0;
      }
      if (buf === this.miss0) this.miss0 = null;
      else this.miss1 = null;
    } else {
      this.miss1 = this.miss0;
      this.miss0 = buf;
      return null;
    }
    this.arr = a;
    this.arrDv = dv;
    return dv;
  }
}

/** 32-bit loads and stores (big-endian both ways, so bytes keep their order), then bytes. */
function dvCopy(d: DataView, dOff: number, s: DataView, sOff: number, len: number): void {
  let i = 0;
  for (; i + COPY_UNROLL <= len; i += COPY_UNROLL) {
    d.setInt32(dOff + i, s.getInt32(sOff + i));
    d.setInt32(dOff + i + 4, s.getInt32(sOff + i + 4));
    d.setInt32(dOff + i + 8, s.getInt32(sOff + i + 8));
    d.setInt32(dOff + i + 12, s.getInt32(sOff + i + 12));
  }
  for (; i + WORD <= len; i += WORD) d.setInt32(dOff + i, s.getInt32(sOff + i));
  for (; i < len; i++) d.setUint8(dOff + i, s.getUint8(sOff + i));
}

/** The out-of-order range limit by default (TcbOptions.maxOutOfOrder). */
export const RECV_DEFAULT_MAX_OUT_OF_ORDER = 64;

/** A reassembling receive buffer. See the file header for the layout. */
export class RecvBuffer {
  readonly capacity: number = 0;
  readonly maxOutOfOrder: number = 0;
  private readonly ring: Uint8Array;
  private readonly copier: ByteCopier;
  /**
   * RCV.NXT as an int32 (`| 0`), like every sequence number a block keeps in a field: a field
   * whose numbers stay small integers never changes representation (Smi to double), which would
   * deprecate the object's map and can abort V8's concurrent optimisation of the methods that
   * use it, leaving them in the interpreter, where uint32 arithmetic allocates.
   */
  private _nxt: number = 0;
  /** Ring index of the first unread byte. */
  private head: number = 0;
  private _readable: number = 0;
  /**
   * Out-of-order ranges, sorted by start, disjoint and not adjacent: [oooStart[i], oooEnd[i]),
   * sequence numbers as int32s (see _nxt).
   */
  private readonly oooStart: Int32Array;
  private readonly oooEnd: Int32Array;
  /** When each range last grew (a counter): RFC 2018 §4 orders SACK blocks by recency. */
  private readonly oooStamp: Float64Array;
  private oooCount: number = 0;
  private _oooBytes: number = 0;
  private stamp: number = 0;

  /** @throws PktRangeError when capacity is not in [1, 2^30] or maxOutOfOrder < 1. */
  constructor(capacity: number, maxOutOfOrder = RECV_DEFAULT_MAX_OUT_OF_ORDER) {
    // RFC 7323 §2.3: windows up to 2^30 bytes; sequence comparisons need far less than 2^31.
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 2 ** 30) {
      throw new PktRangeError(`recv-buffer: capacity must be an integer in [1, 2^30], got ${capacity}`);
    }
    if (!Number.isInteger(maxOutOfOrder) || maxOutOfOrder < 1) {
      throw new PktRangeError(`recv-buffer: maxOutOfOrder must be a positive integer, got ${maxOutOfOrder}`);
    }
    this.capacity = capacity;
    this.maxOutOfOrder = maxOutOfOrder;
    this.ring = new Uint8Array(capacity);
    this.copier = new ByteCopier(this.ring);
    this._nxt = 0;
    this.head = 0;
    this._readable = 0;
    this.oooStart = new Int32Array(maxOutOfOrder);
    this.oooEnd = new Int32Array(maxOutOfOrder);
    this.oooStamp = new Float64Array(maxOutOfOrder);
    this.oooCount = 0;
    this._oooBytes = 0;
    this.stamp = 0;
  }

  /**
   * RCV.NXT: the next sequence number expected. `insert` advances it over data; the caller may
   * also set it (past a SYN or a FIN, which occupy a sequence number but no byte): setting it to
   * a new value keeps the unread bytes and discards the out-of-order ranges, whose places were
   * relative to the old value.
   */
  get nxt(): number {
    return this._nxt >>> 0;
  }
  /** RCV.NXT as an int32 (same sequence number; no heap number above 2^31). */
  get nxt32(): number {
    return this._nxt;
  }
  set nxt(v: number) {
    v |= 0;
    if (v === this._nxt) return;
    this._nxt = v;
    this.oooCount = 0;
    this._oooBytes = 0;
  }

  /** Starts a connection's stream at RCV.NXT = `nxt` (the peer's ISN + 1), empty. */
  init(nxt: number): void {
    this.clear();
    this._nxt = nxt | 0;
  }

  /** Bytes readable in order. */
  get readable(): number {
    return this._readable;
  }

  /** Bytes held out of order. */
  get oooBytes(): number {
    return this._oooBytes;
  }

  /** Out-of-order ranges held. */
  get outOfOrderRanges(): number {
    return this.oooCount;
  }

  get hasOutOfOrder(): boolean {
    return this.oooCount > 0;
  }

  /**
   * The window to offer (RCV.WND): free space, less the bytes held out of order (conservative:
   * they already occupy part of the space the offer describes, and the right edge it implies,
   * RCV.NXT + window, stays within the ring). `insert` accepts up to `capacity - readable`, so
   * data sent against an earlier, larger offer is never refused for lack of room.
   */
  get window(): number {
    const w = this.capacity - this._readable - this._oooBytes;
    return w > 0 ? w : 0;
  }

  /**
   * Stores what of [seq, seq + len) (bytes data[off, off + len)) falls inside
   * [RCV.NXT, RCV.NXT + capacity - readable), trimming what was received before.
   * Returns the number of bytes by which RCV.NXT advanced: > 0 when the segment was in order
   * (including out-of-order bytes it joined up with), 0 for an out-of-order segment that was
   * kept, a duplicate or one wholly outside the window, and -1 for an out-of-order segment
   * dropped because `maxOutOfOrder` ranges are already held (the caller counts it).
   */
  insert(seq: number, data: Uint8Array, off: number, len: number): number {
    return this.insertRel((seq - this._nxt) | 0, data, off, len);
  }

  /**
   * `insert` with the segment's place given as its signed distance from RCV.NXT
   * (`seqDiff(seq, nxt)`). Why both: V8 boxes a number outside the small-integer range (on Node,
   * a uint32 at or above 2^31) in a new heap number when it is passed to a function it did not
   * inline. `insert` is small so that it inlines into its caller where it can (pass `seq | 0`
   * where it may not, see seq.ts); a caller that computes the offset itself passes no sequence
   * number at all.
   */
  insertRel(rel: number, data: Uint8Array, off: number, len: number): number {
    if (len <= 0) return 0;
    const room = this.capacity - this._readable;
    let relEnd = rel + len;
    if (relEnd <= 0 || rel >= room) return 0; // old duplicate, or beyond the window
    if (rel < 0) {
      off -= rel;
      rel = 0;
    }
    if (relEnd > room) relEnd = room;
    if (rel === 0) return this.insertInOrder(data, off, relEnd);
    return this.insertOutOfOrder(data, off, rel, relEnd);
  }

  /** [nxt, nxt + relEnd): copy, advance over it and over every out-of-order range it reaches. */
  private insertInOrder(data: Uint8Array, off: number, relEnd: number): number {
    this.store(0, data, off, relEnd);
    const nxt = this._nxt;
    let advanced = relEnd;
    while (this.oooCount > 0) {
      const rs = (this.oooStart[0]! - nxt) >>> 0;
      if (rs > advanced) break;
      const re = (this.oooEnd[0]! - nxt) >>> 0;
      this._oooBytes -= re - rs;
      if (re > advanced) advanced = re;
      this.removeRanges(0, 1);
    }
    this._nxt = (nxt + advanced) | 0;
    this._readable += advanced;
    return advanced;
  }

  /**
   * [nxt + rel, nxt + relEnd), 0 < rel: merge into the ranges (or drop), then copy. The ranges
   * are compared as offsets from RCV.NXT: all lie in [1, capacity).
   */
  private insertOutOfOrder(data: Uint8Array, off: number, rel: number, relEnd: number): number {
    const nxt = this._nxt;
    const count = this.oooCount;
    const os = this.oooStart;
    const oe = this.oooEnd;
    // i: the first range ending at or after rel (it may touch or overlap ours).
    let i = 0;
    while (i < count && ((oe[i]! - nxt) >>> 0) < rel) i++;
    // j: one past the last range starting at or before relEnd.
    let j = i;
    let s = rel;
    let e = relEnd;
    let merged = 0;
    while (j < count) {
      const rs = (os[j]! - nxt) >>> 0;
      if (rs > relEnd) break;
      const re = (oe[j]! - nxt) >>> 0;
      if (rs < s) s = rs;
      if (re > e) e = re;
      merged += re - rs;
      j++;
    }
    if (j === i) {
      if (count === this.maxOutOfOrder) return -1;
      // Open a slot at i.
      if (i < count) {
        os.copyWithin(i + 1, i, count);
        oe.copyWithin(i + 1, i, count);
        this.oooStamp.copyWithin(i + 1, i, count);
      }
      this.oooCount = count + 1;
    } else if (j > i + 1) {
      this.removeRanges(i + 1, j - i - 1);
    }
    os[i] = nxt + s; // Int32Array stores wrap modulo 2^32
    oe[i] = nxt + e;
    this.oooStamp[i] = ++this.stamp;
    this._oooBytes += e - s - merged;
    this.store(rel, data, off, relEnd - rel);
    return 0;
  }

  private removeRanges(at: number, n: number): void {
    const count = this.oooCount;
    if (at + n < count) {
      this.oooStart.copyWithin(at, at + n, count);
      this.oooEnd.copyWithin(at, at + n, count);
      this.oooStamp.copyWithin(at, at + n, count);
    }
    this.oooCount = count - n;
  }

  /** Copies len bytes for RCV.NXT + rel onwards (inside the window) to their place in the ring. */
  private store(rel: number, data: Uint8Array, off: number, len: number): void {
    const cap = this.capacity;
    let pos = this.head + this._readable + rel;
    if (pos >= cap) pos -= cap;
    if (pos >= cap) pos -= cap;
    const first = cap - pos;
    if (len <= first) {
      this.copier.toRing(this.ring, pos, data, off, len);
    } else {
      this.copier.toRing(this.ring, pos, data, off, first);
      this.copier.toRing(this.ring, 0, data, off + first, len - first);
    }
  }

  /** Copies up to `len` readable bytes into dst[dstOff, ...) and frees them; returns the count. */
  read(dst: Uint8Array, dstOff: number, len: number): number {
    let n = this._readable;
    if (len < n) n = len;
    if (n <= 0) return 0;
    const cap = this.capacity;
    const head = this.head;
    const first = cap - head;
    if (n <= first) {
      this.copier.fromRing(dst, dstOff, this.ring, head, n);
    } else {
      this.copier.fromRing(dst, dstOff, this.ring, head, first);
      this.copier.fromRing(dst, dstOff + first, this.ring, 0, n - first);
    }
    const h = head + n;
    this.head = h >= cap ? h - cap : h;
    this._readable -= n;
    return n;
  }

  /**
   * Writes up to `maxBlocks` SACK blocks as [left, right) pairs into `out` (left edges at even
   * indices) and returns how many. RFC 2018 §4: "The first SACK block (i.e., the one immediately
   * following the kind and length fields in the option) MUST specify the contiguous block of data
   * containing the segment which triggered this ACK", and the others SHOULD repeat the most
   * recent ones: blocks come in order of the last segment that touched them, newest first.
   */
  sackBlocks(out: Uint32Array, maxBlocks: number): number {
    const count = this.oooCount;
    let m = out.length >> 1;
    if (maxBlocks < m) m = maxBlocks;
    if (count < m) m = count;
    const stamps = this.oooStamp;
    let limit = Infinity;
    for (let k = 0; k < m; k++) {
      let best = 0;
      let bestStamp = -1;
      for (let i = 0; i < count; i++) {
        const st = stamps[i]!;
        if (st < limit && st > bestStamp) {
          bestStamp = st;
          best = i;
        }
      }
      out[2 * k] = this.oooStart[best]!;
      out[2 * k + 1] = this.oooEnd[best]!;
      limit = bestStamp;
    }
    return m;
  }

  /** Drops every byte, in order or not; RCV.NXT stays. */
  clear(): void {
    this.head = 0;
    this._readable = 0;
    this.oooCount = 0;
    this._oooBytes = 0;
  }
}
