/**
 * The send side's byte store: bytes written by the application and not yet acknowledged,
 * sent or not (RFC 9293 §3.3.1's SND.UNA .. SND.NXT .. end of the queue).
 *
 *        head (ring index of SND.UNA's byte)
 *         |<-- sent, unacknowledged -->|<-- not yet sent -->|<-------- free -------->|
 *         ^ una (SND.UNA)              ^ SND.NXT (the Tcb's) ^ una + length
 *
 * A ring of `capacity` bytes, allocated once. The buffer does not know SND.NXT: the Tcb keeps it
 * and reads any byte in [una, una + length) with `peek` (a zero-copy view of the contiguous
 * part, for emitting a segment straight from the ring) or `copyOut`. `ack` frees bytes from the
 * front. SYN and FIN occupy sequence numbers but no byte: `init(iss + 1)` starts after the SYN,
 * and an ACK that covers a FIN (one past the last byte) empties the buffer and moves `una` to it.
 *
 * Back-pressure: `write` accepts at most `free` bytes and says how many it took.
 * No method allocates. Not safe for reentrant use; one per connection.
 * Sequence comparisons are written out (`((a - b) | 0) < 0` is seq.ts's `seqLt(a, b)`) rather
 * than called: where V8 leaves such a call un-inlined (inlining budget, or a function that
 * deoptimised once), every uint32 above 2^31 passed to it is boxed in a new heap number.
 */

import { PktRangeError } from '../errors.js';
import { ByteCopier } from './recv-buffer.js';

export class SendBuffer {
  readonly capacity: number = 0;
  private readonly ring: Uint8Array;
  private readonly copier: ByteCopier;
  /** SND.UNA as an int32 (see RecvBuffer._nxt for why). */
  private _una: number = 0;
  /** Ring index of the byte at `una`. */
  private head: number = 0;
  private _length: number = 0;
  private _viewOff: number = 0;

  /** @throws PktRangeError when capacity is not an integer in [1, 2^30]. */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 2 ** 30) {
      throw new PktRangeError(`send-buffer: capacity must be an integer in [1, 2^30], got ${capacity}`);
    }
    this.capacity = capacity;
    this.ring = new Uint8Array(capacity);
    this.copier = new ByteCopier(this.ring);
    this._una = 0;
    this.head = 0;
    this._length = 0;
    this._viewOff = 0;
  }

  /**
   * SND.UNA, the sequence number of the buffer's first byte. Setting it forward is `ack(v)`;
   * setting it on an empty buffer moves the start; otherwise it is ignored (the bytes keep their
   * sequence numbers).
   */
  get una(): number {
    return this._una >>> 0;
  }
  /** SND.UNA as an int32 (same sequence number; no heap number above 2^31). */
  get una32(): number {
    return this._una;
  }
  set una(v: number) {
    v |= 0;
    if (((v - this._una) | 0) > 0) this.ack(v);
    else if (this._length === 0) this._una = v;
  }

  /** Starts the stream empty with its first byte at `iss1` (our ISS + 1, after the SYN). */
  init(iss1: number): void {
    this.head = 0;
    this._length = 0;
    this._una = iss1 | 0;
  }

  /** Bytes held (written and not acknowledged). */
  get length(): number {
    return this._length;
  }

  /** Room for `write`. */
  get free(): number {
    return this.capacity - this._length;
  }

  /** One past the last byte's sequence number: una + length. */
  get end(): number {
    return (this._una + this._length) >>> 0;
  }

  /** The buffer `peek` views into (the ring itself: borrowed, valid until the next `write`). */
  get viewBuf(): Uint8Array {
    return this.ring;
  }

  /** Where the last `peek`'s bytes start in `viewBuf`. */
  get viewOff(): number {
    return this._viewOff;
  }

  /** Appends up to `len` bytes of src[off, ...); returns how many fit (0 when full). */
  write(src: Uint8Array, off: number, len: number): number {
    const room = this.capacity - this._length;
    const n = len < room ? len : room;
    if (n <= 0) return 0;
    const cap = this.capacity;
    let pos = this.head + this._length;
    if (pos >= cap) pos -= cap;
    const first = cap - pos;
    if (n <= first) {
      this.copier.toRing(this.ring, pos, src, off, n);
    } else {
      this.copier.toRing(this.ring, pos, src, off, first);
      this.copier.toRing(this.ring, 0, src, off + first, n - first);
    }
    this._length += n;
    return n;
  }

  /**
   * Points `viewBuf`/`viewOff` at the bytes from `seq` on and returns how many of the next `len`
   * are contiguous there: fewer than asked when the ring wraps (call again at seq + the count)
   * or the data ends; 0 when `seq` is outside [una, una + length).
   */
  peek(seq: number, len: number): number {
    const offset = (seq - this._una) >>> 0;
    const avail = this._length - offset;
    if (avail <= 0 || len <= 0) return 0;
    const cap = this.capacity;
    let pos = this.head + offset;
    if (pos >= cap) pos -= cap;
    this._viewOff = pos;
    let n = len < avail ? len : avail;
    const first = cap - pos;
    if (n > first) n = first;
    return n;
  }

  /**
   * Copies the bytes of sequence numbers [seq, seq + len) into dst[dstOff, ...), across the wrap.
   * @throws PktRangeError when the range is not inside [una, una + length) (a caller bug).
   */
  copyOut(seq: number, dst: Uint8Array, dstOff: number, len: number): void {
    if (len <= 0) return;
    const offset = (seq - this._una) >>> 0;
    if (offset + len > this._length) {
      throw new PktRangeError(`send-buffer: copyOut of ${len} bytes at offset ${offset} exceeds the ${this._length} held`);
    }
    const cap = this.capacity;
    let pos = this.head + offset;
    if (pos >= cap) pos -= cap;
    const first = cap - pos;
    if (len <= first) {
      this.copier.fromRing(dst, dstOff, this.ring, pos, len);
    } else {
      this.copier.fromRing(dst, dstOff, this.ring, pos, first);
      this.copier.fromRing(dst, dstOff + first, this.ring, 0, len - first);
    }
  }

  /**
   * Acknowledges everything before `ack`: frees the bytes below it and moves `una` to it.
   * Returns the bytes freed (0 unless ((ack - una) | 0) > 0). An `ack` past the last byte (covering a
   * FIN) frees everything and leaves `una` at `ack`; the caller has checked ack <= SND.NXT.
   */
  ack(ack: number): number {
    ack |= 0;
    if (((ack - this._una) | 0) <= 0) return 0;
    const diff = (ack - this._una) >>> 0;
    const n = diff < this._length ? diff : this._length;
    const cap = this.capacity;
    const h = this.head + n;
    this.head = h >= cap ? h - cap : h;
    this._length -= n;
    this._una = ack;
    if (this._length === 0) this.head = 0;
    return n;
  }

  /** Drops every byte; `una` stays. */
  clear(): void {
    this.head = 0;
    this._length = 0;
  }
}
