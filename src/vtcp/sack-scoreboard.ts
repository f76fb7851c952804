/**
 * The sender's SACK scoreboard (RFC 6675 §3, §4) fed by the SACK option's blocks (RFC 2018 §3):
 * which bytes above SND.UNA the receiver holds, and from that, which are lost (IsLost), how many
 * are still in flight (SetPipe) and what to retransmit next (NextSeg rule 1).
 *
 * The SACKed ranges are a sorted array of disjoint, non-adjacent [start, end) sequence numbers in
 * preallocated typed arrays, at most `maxBlocks` of them (a receiver reports at most 4 blocks
 * per ACK; 32 ranges cover a very lossy window). When a new range would exceed the bound, the
 * highest range is forgotten: that only makes the sender more conservative (it may retransmit
 * bytes the receiver has, and counts them in the pipe), never less.
 *
 * Between two SACKed ranges (and between SND.UNA and the first) lie unSACKed gaps. Every byte of
 * one gap has the same ranges and bytes above it, so RFC 6675's per-octet IsLost is constant over
 * a gap, and falls from gap to gap going up: SetPipe and NextSeg walk gaps, not octets, in
 * O(ranges) time.
 *
 * Conventions: `highRxt` is exclusive here (the sequence number after the highest byte
 * retransmitted in this recovery; SND.UNA when none), where RFC 6675 names the byte itself.
 * "Discontiguous SACKed sequences" of IsLost are counted as SACKed ranges above the sequence
 * number (a run of SACKed segments counts once; its bytes count in the other rule).
 * No method allocates. Not safe for reentrant use; one per connection.
 * Sequence comparisons are written out (`((a - b) | 0) < 0` is seq.ts's `seqLt(a, b)`) rather
 * than called: where V8 leaves such a call un-inlined (inlining budget, or a function that
 * deoptimised once), every uint32 above 2^31 passed to it is boxed in a new heap number.
 */

import { PktRangeError } from '../errors.js';

/** RFC 6675 §2: "DupThresh ... the default value is 3". */
export const DUP_THRESH = 3;

export const SACK_SCOREBOARD_DEFAULT_MAX_BLOCKS = 32;

export class SackScoreboard {
  readonly maxBlocks: number = 0;
  /** Range edges as int32s (see RecvBuffer._nxt): loads are small integers even unoptimised. */
  private readonly start: Int32Array;
  private readonly end: Int32Array;
  private count: number = 0;
  private _sackedBytes: number = 0;
  /** The last SND.UNA seen (by update or advance), as an int32 (see RecvBuffer._nxt). */
  private una: number = 0;
  private _segLen: number = 0;
  /** D-SACK blocks seen (RFC 2883 §4), ignored otherwise. */
  dsacks: number = 0;

  /** @throws PktRangeError when maxBlocks < 1. */
  constructor(maxBlocks = SACK_SCOREBOARD_DEFAULT_MAX_BLOCKS) {
    if (!Number.isInteger(maxBlocks) || maxBlocks < 1) {
      throw new PktRangeError(`sack-scoreboard: maxBlocks must be a positive integer, got ${maxBlocks}`);
    }
    this.maxBlocks = maxBlocks;
    this.start = new Int32Array(maxBlocks);
    this.end = new Int32Array(maxBlocks);
    this.count = 0;
    this._sackedBytes = 0;
    this.una = 0;
    this._segLen = 0;
    this.dsacks = 0;
  }

  /** True when nothing above SND.UNA is SACKed. */
  get empty(): boolean {
    return this.count === 0;
  }

  /** SACKed bytes above SND.UNA. */
  get sackedBytes(): number {
    return this._sackedBytes;
  }

  /** SACKed ranges held. */
  get ranges(): number {
    return this.count;
  }

  /**
   * One past the highest SACKed byte (the right edge of the highest range); the last SND.UNA
   * seen when nothing is SACKed.
   */
  get highestSacked(): number {
    return (this.count > 0 ? this.end[this.count - 1]! : this.una) >>> 0;
  }

  /** The length chosen by the last `nextLost` (0 when it found nothing). */
  get segLen(): number {
    return this._segLen;
  }

  /** The i-th range (ascending), for tests and diagnostics. */
  rangeStart(i: number): number {
    return this.start[i]! >>> 0;
  }
  rangeEnd(i: number): number {
    return this.end[i]! >>> 0;
  }

  /**
   * Records the `count` SACK blocks of an ACK ([left, right) pairs in `blocks`, as parseTcp
   * fills TcpFields.sackBlocks) whose cumulative ACK is `una`; `sndNxt` bounds what can have been
   * received. Drops what `una` covers first. Ignored: empty or inverted blocks, blocks beyond
   * SND.NXT (RFC 6675 §5.1 trusts only sane blocks), blocks at or below `una`, and D-SACKs
   * (RFC 2883 §4: a first block below the cumulative ACK or inside the second block), which are
   * counted in `dsacks`.
   */
  update(blocks: Uint32Array, count: number, una: number, sndNxt: number): void {
    this.advance(una);
    una = this.una;
    for (let b = 0; b < count; b++) {
      let l = blocks[2 * b]!;
      const r = blocks[2 * b + 1]!;
      if (b === 0) {
        if (((l - una) | 0) < 0) {
          this.dsacks++;
          continue;
        }
        if (count > 1) {
          const l2 = blocks[2]!;
          const r2 = blocks[3]!;
          if (((l - l2) | 0) >= 0 && ((r - r2) | 0) <= 0 && ((l2 - r2) | 0) < 0) {
            this.dsacks++;
            continue;
          }
        }
      }
      if (((l - r) | 0) >= 0 || ((r - sndNxt) | 0) > 0 || ((r - una) | 0) <= 0) continue;
      if (((l - una) | 0) < 0) l = una;
      // As int32s: a uint32 above 2^31 passed to a call V8 did not inline is boxed (seq.ts).
      this.add(l | 0, r | 0);
    }
  }

  /** Merges [l, r) (non-empty, above una) into the ranges. */
  private add(l: number, r: number): void {
    const st = this.start;
    const en = this.end;
    let count = this.count;
    let i = 0;
    while (i < count && ((en[i]! - l) | 0) < 0) i++;
    let j = i;
    let s = l;
    let e = r;
    let merged = 0;
    while (j < count && ((st[j]! - r) | 0) <= 0) {
      if (((st[j]! - s) | 0) < 0) s = st[j]!;
      if (((en[j]! - e) | 0) > 0) e = en[j]!;
      merged += (en[j]! - st[j]!) >>> 0;
      j++;
    }
    if (j === i) {
      if (count === this.maxBlocks) {
        if (i === count) return; // the new range is the highest: forget it
        count--; // forget the highest range to make room
        this._sackedBytes -= (en[count]! - st[count]!) >>> 0;
      }
      if (i < count) {
        st.copyWithin(i + 1, i, count);
        en.copyWithin(i + 1, i, count);
      }
      this.count = count + 1;
    } else if (j > i + 1) {
      st.copyWithin(i + 1, j, count);
      en.copyWithin(i + 1, j, count);
      this.count = count - (j - i - 1);
    }
    st[i] = s;
    en[i] = e;
    this._sackedBytes += ((e - s) >>> 0) - merged;
  }

  /** SND.UNA moved to `una`: forgets everything below it. */
  advance(una: number): void {
    una |= 0;
    // Invariant: every range lies at or above this.una, so an older una changes nothing.
    if (this.count !== 0 && ((una - this.una) | 0) <= 0) return;
    this.una = una;
    const st = this.start;
    const en = this.end;
    const count = this.count;
    let k = 0;
    while (k < count && ((en[k]! - una) | 0) <= 0) {
      this._sackedBytes -= (en[k]! - st[k]!) >>> 0;
      k++;
    }
    if (k > 0) {
      st.copyWithin(0, k, count);
      en.copyWithin(0, k, count);
      this.count = count - k;
    }
    if (this.count > 0 && ((st[0]! - una) | 0) < 0) {
      this._sackedBytes -= (una - st[0]!) >>> 0;
      st[0] = una;
    }
  }

  /** Whether the byte `seq` is SACKed. */
  isSacked(seq: number): boolean {
    const st = this.start;
    const en = this.end;
    for (let i = 0; i < this.count; i++) {
      if (((seq - st[i]!) | 0) < 0) return false;
      if (((seq - en[i]!) | 0) < 0) return true;
    }
    return false;
  }

  /**
   * RFC 6675 §4 IsLost(SeqNum): "returns true when either DupThresh discontiguous SACKed sequences
   * have arrived above 'SeqNum' or more than (DupThresh - 1) * SMSS bytes with sequence numbers
   * greater than 'SeqNum' have been SACKed."
   */
  isLost(seq: number, mss: number): boolean {
    const st = this.start;
    const en = this.end;
    const limit = (DUP_THRESH - 1) * mss;
    let ranges = 0;
    let bytes = 0;
    for (let i = this.count - 1; i >= 0; i--) {
      const s = st[i]!;
      const e = en[i]!;
      if (((s - seq) | 0) > 0) {
        ranges++;
        bytes += (e - s) >>> 0;
      } else {
        if (((e - seq) | 0) > 0) bytes += ((e - seq) >>> 0) - 1;
        break;
      }
      if (ranges >= DUP_THRESH || bytes > limit) return true;
    }
    return ranges >= DUP_THRESH || bytes > limit;
  }

  /**
   * The index of the first gap (gap k lies below range k; gap `count` above the last range)
   * whose bytes are not lost: gaps below it are lost, it and those above are not.
   */
  private lostGaps(mss: number): number {
    const st = this.start;
    const en = this.end;
    const limit = (DUP_THRESH - 1) * mss;
    let bytes = 0;
    // Gap k has ranges k..count-1 above it.
    for (let k = this.count - 1; k >= 0; k--) {
      bytes += (en[k]! - st[k]!) >>> 0;
      if (this.count - k >= DUP_THRESH || bytes > limit) return k + 1;
    }
    return 0;
  }

  /**
   * RFC 6675 §4 SetPipe: the octets in [una, sndNxt) not SACKed, counting 1 for each not lost and
   * 1 more for each retransmitted (below `highRxt`, exclusive; pass `una` when none was).
   */
  pipe(una: number, sndNxt: number, highRxt: number, mss: number): number {
    const st = this.start;
    const en = this.end;
    const count = this.count;
    const lostBelow = this.lostGaps(mss);
    let rxtEnd = ((highRxt - una) | 0) < 0 ? una : ((highRxt - sndNxt) | 0) > 0 ? sndNxt : highRxt;
    let pipe = 0;
    let a = una;
    for (let k = 0; k <= count; k++) {
      let b = k < count ? st[k]! : sndNxt;
      if (((b - sndNxt) | 0) > 0) b = sndNxt;
      if (((a - b) | 0) < 0) {
        if (k >= lostBelow) pipe += (b - a) >>> 0;
        if (((a - rxtEnd) | 0) < 0) pipe += ((((rxtEnd - b) | 0) < 0 ? rxtEnd : b) - a) >>> 0;
      }
      if (k < count) {
        const e = en[k]!;
        if (((e - a) | 0) > 0) a = e;
        if (((a - sndNxt) | 0) >= 0) break;
      }
    }
    return pipe;
  }

  /**
   * RFC 6675 §4 NextSeg rule (1): the first sequence number S2 in [from, sndNxt) that is not
   * SACKed and IsLost(S2) (rule 1.b, below the highest SACKed byte, follows from IsLost). The
   * caller passes from = max(SND.UNA, HighRxt) for rule (1.a). Sets `segLen` to the segment's
   * length: up to `mss`, stopping at the next SACKed byte. Returns -1 (segLen 0) when none is.
   */
  nextLost(from: number, sndNxt: number, mss: number): number {
    const st = this.start;
    const en = this.end;
    const lostBelow = this.lostGaps(mss);
    let a = this.una;
    for (let k = 0; k < lostBelow; k++) {
      let b = st[k]!;
      if (((b - sndNxt) | 0) > 0) b = sndNxt;
      const s = ((from - a) | 0) > 0 ? from : a;
      if (((s - b) | 0) < 0) {
        const len = (b - s) >>> 0;
        this._segLen = len < mss ? len : mss;
        return s >>> 0;
      }
      a = en[k]!;
    }
    this._segLen = 0;
    return -1;
  }

  /** Forgets every range (after an RTO, RFC 6675 §5.1, or a new connection). */
  clear(): void {
    this.count = 0;
    this._sackedBytes = 0;
    this._segLen = 0;
  }
}
