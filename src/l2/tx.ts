/**
 * Buffers for the frames an adapter builds, and a cache of the views it hands out, so that the
 * per-frame path allocates nothing (DESIGN.md, "Allocation budget").
 *
 * Frames out: the L3 packet must be copied behind a 14-byte Ethernet header. Each nesting level
 * of `send` calls gets its own buffer, because forwarding is synchronous: a frame we hand to the
 * hub can come back to us, through another adapter and its L3 device, while the hub still holds
 * the first frame (it floods it to its other ports after the call returns). Writing the second
 * frame into the first one's buffer would corrupt it; so a depth counter picks the buffer:
 *
 *   depth 0: [ frame being delivered ............ ]
 *   depth 1: [ reply built while depth 0 is out ]
 *   ...      (MAX_DEPTH levels; deeper is a loop, dropped and counted)
 *
 * Views: a handler must receive a Uint8Array of exactly the frame's length, and `subarray`
 * allocates. Each level keeps the view of each length it has used (frame lengths repeat under
 * bulk traffic: 1514, 60, 42...), so steady traffic reuses them.
 */

/** Nesting levels before a frame is treated as a forwarding loop. */
export const MAX_TX_DEPTH = 8;
const INITIAL_LEN = 1536;

/** One level's buffer and its views by length. */
class TxLevel {
  buf = new Uint8Array(INITIAL_LEN);
  views = new Map<number, Uint8Array>();

  /** A view of the first `len` bytes (grows the buffer when needed: only on a larger frame). */
  view(len: number): Uint8Array {
    if (len > this.buf.length) {
      this.buf = new Uint8Array(Math.max(len, this.buf.length * 2));
      this.views.clear();
    }
    let v = this.views.get(len);
    if (v === undefined) {
      v = this.buf.subarray(0, len);
      this.views.set(len, v);
    }
    return v;
  }
}

/** The stack of frame buffers of one adapter. Not safe for use from more than one thread. */
export class TxBuffers {
  private readonly levels: TxLevel[] = [];
  depth = 0;

  constructor() {
    for (let i = 0; i < MAX_TX_DEPTH; i++) this.levels.push(new TxLevel());
  }

  /**
   * A view of `len` bytes to build a frame in, at the current depth, or null when the nesting
   * is deeper than MAX_TX_DEPTH. Call `enter()` before handing the frame out and `leave()` after.
   */
  acquire(len: number): Uint8Array | null {
    const level = this.levels[this.depth];
    return level === undefined ? null : level.view(len);
  }

  enter(): void {
    this.depth++;
  }

  leave(): void {
    this.depth--;
  }
}

/**
 * Views of received frames' payloads: the L3 device takes the IP packet as its own Uint8Array.
 * A small direct-mapped cache keyed by (ArrayBuffer, offset, length) returns the same view for
 * the same bytes, which is the common case (ring slots, pool frames and test buffers repeat).
 * It keeps a reference to at most SLOTS buffers.
 */
const SLOTS = 16;

export class ViewCache {
  private readonly bufs: (ArrayBufferLike | null)[] = new Array<ArrayBufferLike | null>(SLOTS).fill(null);
  private readonly offs = new Int32Array(SLOTS);
  private readonly lens = new Int32Array(SLOTS);
  private readonly views: (Uint8Array | null)[] = new Array<Uint8Array | null>(SLOTS).fill(null);

  /** The bytes [off, off + len) of `frame` as a Uint8Array (from the cache when it can). */
  slice(frame: Uint8Array, off: number, len: number): Uint8Array {
    const abs = frame.byteOffset + off;
    const s = (abs ^ len) & (SLOTS - 1);
    const buffer = frame.buffer;
    if (this.bufs[s] === buffer && this.offs[s] === abs && this.lens[s] === len) return this.views[s]!;
    const v = frame.subarray(off, off + len);
    this.bufs[s] = buffer;
    this.offs[s] = abs;
    this.lens[s] = len;
    this.views[s] = v;
    return v;
  }

  clear(): void {
    this.bufs.fill(null);
    this.views.fill(null);
  }
}
