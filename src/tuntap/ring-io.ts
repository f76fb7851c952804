/**
 * The I/O thread's ends of an external port's two SPSC rings, with the addon moving the frames
 * between the rings' slots and a TUN/TAP descriptor, no copy in JavaScript and no view per frame.
 *
 *   descriptor --tuntapReadSlots--> free slots of toEngine  --publish (HEAD)--> engine's worker
 *   descriptor <--tuntapWriteSlots-- published slots of fromEngine  --release (TAIL)--> engine
 *
 * The rings are `rings/spsc-ring.ts` rings, and this module speaks their protocol itself rather
 * than through RingProducer/RingConsumer: those hand frames over one at a time (a `push` copy or
 * a handler call with a view per frame), while here one native call fills or drains many slots
 * in place. It reads the ring's memory at the offsets spsc-ring.ts's header documents (control
 * words, counters, the meta pairs, the slots) and keeps to its rules:
 *
 * - producing: write slots and their meta beyond HEAD only where TAIL says they are free, then
 *   publish them with one Atomics.store(HEAD), add to the Pushed counters, ring the consumer's
 *   doorbell; when the ring is full, wait on TAIL with PROD_WAITING set (the consumer notifies);
 * - consuming: read the slots between TAIL and HEAD, then release them with one
 *   Atomics.store(TAIL), add to the Consumed counters, and notify a producer waiting for room.
 *
 * With a virtio-net header on the descriptor (`vnetHdrLen`), reads segment super-packets into
 * the slots (the addon's rx 'segment' mode; a super-packet whose segments did not fit the free
 * slots waits in this end's scratch buffer: `pending`) and writes put a blank header first.
 *
 * test/tuntap/ring-io.test.ts checks this against RingProducer and RingConsumer on the other
 * side, across the counters' wrap-around. If spsc-ring.ts's layout changes, change it here too.
 */

import { Doorbell, RingStat, type RingDescriptor } from '../../rings/index.js';
import { IoStat, type TuntapNative, VnetState, vnetScratchLen, vnetState } from './native.js';

// rings/spsc-ring.ts: Int32 indices of the control words, and the areas' sizes.
const HEAD = 0;
const TAIL = 16;
const PROD_WAITING = 32;
const CLOSED = 48;
const CONTROL_BYTES = 256;
const STATS_BYTES = 128;
const META_INTS = 2;

/** What `fill` returns besides a frame count. */
export const FILL_FULL = -1;
export const FILL_CLOSED = -2;

/** The typed arrays over one ring's SharedArrayBuffer. */
class RingMemory {
  readonly ctl: Int32Array;
  readonly stats: Float64Array;
  readonly meta: Int32Array;
  readonly data: Uint8Array;
  readonly slots: number;
  readonly mask: number;
  readonly slotSize: number;
  readonly headroom: number;

  constructor(d: RingDescriptor) {
    this.slots = d.slots;
    this.mask = d.slots - 1;
    this.slotSize = d.slotSize;
    this.headroom = d.headroom;
    this.ctl = new Int32Array(d.sab, 0, CONTROL_BYTES / 4);
    this.stats = new Float64Array(d.sab, CONTROL_BYTES, STATS_BYTES / 8);
    this.meta = new Int32Array(d.sab, CONTROL_BYTES + STATS_BYTES, d.slots * META_INTS);
    this.data = new Uint8Array(d.sab, CONTROL_BYTES + STATS_BYTES + d.slots * META_INTS * 4, d.slots * d.slotSize);
  }
}

/** The producing end: frames read from a descriptor into the ring. Owned by one thread. */
export class NativeRingProducer {
  private readonly r: RingMemory;
  private readonly n: TuntapNative;
  private readonly doorbell: Doorbell;
  private readonly batch: number;
  private head: number;
  // One slot of scratch for frames dropped while the ring is full (read to make progress).
  private readonly scratch: Uint8Array;
  private readonly scratchMeta = new Int32Array(META_INTS);
  // With a vnet header: the segmenting reader's state and scratch (null / empty without).
  private readonly vnet: Int32Array | null;
  private readonly vnetScratch: Uint8Array;

  constructor(d: RingDescriptor, n: TuntapNative, doorbell: Doorbell, batch: number, vnetHdrLen = 0) {
    this.r = new RingMemory(d);
    this.n = n;
    this.doorbell = doorbell;
    this.batch = batch;
    this.head = Atomics.load(this.r.ctl, HEAD);
    this.scratch = new Uint8Array(65536 + 64);
    this.vnet = vnetHdrLen === 0 ? null : vnetState(vnetHdrLen, true);
    this.vnetScratch = new Uint8Array(vnetHdrLen === 0 ? 0 : vnetScratchLen(d.slotSize - d.headroom));
  }

  /** Segments of a super-packet are waiting for free slots (fill again, readable or not). */
  get pending(): boolean {
    return this.vnet !== null && this.vnet[VnetState.CarryLen] !== 0;
  }

  get closed(): boolean {
    return Atomics.load(this.r.ctl, CLOSED) === 1;
  }

  /**
   * Reads up to a batch of frames from `fd` into the free slots and publishes them. Returns how
   * many, or FILL_FULL when no slot is free, or FILL_CLOSED when the ring is closed.
   */
  fill(fd: number, c: Float64Array): number {
    const r = this.r;
    const ctl = r.ctl;
    if (Atomics.load(ctl, CLOSED) === 1) return FILL_CLOSED;
    const free = r.slots - ((this.head - Atomics.load(ctl, TAIL)) | 0);
    if (free <= 0) return FILL_FULL;
    const bytesBefore = c[IoStat.RxBytes]!;
    c[IoStat.RxBatches]!++;
    const count = free < this.batch ? free : this.batch;
    const k =
      this.vnet === null
        ? this.n.tuntapReadSlots(fd, r.data, r.meta, r.slotSize, r.headroom, this.head >>> 0, count, c)
        : this.n.tuntapReadSlotsVnet(fd, r.data, r.meta, r.slotSize, r.headroom, this.head >>> 0, count, c, this.vnetScratch, this.vnet);
    if (k > 0) {
      this.head = (this.head + k) | 0;
      r.stats[RingStat.Pushed]! += k;
      r.stats[RingStat.PushedBytes]! += c[IoStat.RxBytes]! - bytesBefore;
      Atomics.store(ctl, HEAD, this.head);
      this.doorbell.ring();
    }
    return k;
  }

  /**
   * Waits up to `ms` for the consumer to free a slot (it notifies TAIL when it sees
   * PROD_WAITING). Returns true when there is room.
   */
  waitForRoom(ms: number): boolean {
    const r = this.r;
    const ctl = r.ctl;
    r.stats[RingStat.Waits]!++;
    Atomics.store(ctl, PROD_WAITING, 1);
    const tail = Atomics.load(ctl, TAIL);
    if (((this.head - tail) | 0) >= r.slots && Atomics.load(ctl, CLOSED) === 0) Atomics.wait(ctl, TAIL, tail, ms);
    Atomics.store(ctl, PROD_WAITING, 0);
    return ((this.head - Atomics.load(ctl, TAIL)) | 0) < r.slots;
  }

  /**
   * Reads one frame from `fd` and drops it (the ring stayed full), or the rest of a super-packet
   * being segmented. Returns true if there was one.
   */
  dropOne(fd: number, c: Float64Array): boolean {
    if (this.vnet !== null && this.vnet[VnetState.CarryLen] !== 0) {
      this.vnet[VnetState.CarryLen] = 0;
      this.vnet[VnetState.CarryNext] = 0;
      c[IoStat.RxDropFull]!++;
      this.r.stats[RingStat.DropFull]!++;
      return true;
    }
    const frames = c[IoStat.RxFrames]!;
    const bytes = c[IoStat.RxBytes]!;
    const k = this.n.tuntapReadSlots(fd, this.scratch, this.scratchMeta, this.scratch.length, 0, 0, 1, c);
    // Not received after all: count it as dropped, not as read.
    c[IoStat.RxFrames] = frames;
    c[IoStat.RxBytes] = bytes;
    if (k === 0) return false;
    c[IoStat.RxDropFull]!++;
    this.r.stats[RingStat.DropFull]!++;
    return true;
  }

  /** Marks the ring closed from this side (the engine's side drops from then on). */
  close(): void {
    Atomics.store(this.r.ctl, CLOSED, 1);
    this.doorbell.ring();
  }
}

/** The consuming end: frames of the ring written to a descriptor. Owned by one thread. */
export class NativeRingConsumer {
  private readonly r: RingMemory;
  private readonly n: TuntapNative;
  private readonly batch: number;
  private tail: number;
  /** Blank virtio-net header bytes written before each frame (0: no header on the descriptor). */
  private readonly txPrefix: number;

  constructor(d: RingDescriptor, n: TuntapNative, batch: number, vnetHdrLen = 0) {
    this.r = new RingMemory(d);
    this.n = n;
    this.batch = batch;
    this.tail = Atomics.load(this.r.ctl, TAIL);
    this.txPrefix = vnetHdrLen;
  }

  get closed(): boolean {
    return Atomics.load(this.r.ctl, CLOSED) === 1;
  }

  /** Frames published and not yet written. */
  available(): number {
    return (Atomics.load(this.r.ctl, HEAD) - this.tail) | 0;
  }

  /** Writes up to a batch of published frames to `fd` and releases their slots. Returns how many. */
  drain(fd: number, c: Float64Array): number {
    const r = this.r;
    let k = (Atomics.load(r.ctl, HEAD) - this.tail) | 0;
    if (k <= 0) return 0;
    if (k > this.batch) k = this.batch;
    c[IoStat.TxBatches]!++;
    const done =
      this.txPrefix === 0
        ? this.n.tuntapWriteSlots(fd, r.data, r.meta, r.slotSize, this.tail >>> 0, k, c)
        : this.n.tuntapWriteSlotsVnet(fd, r.data, r.meta, r.slotSize, this.tail >>> 0, k, c, this.txPrefix);
    this.release(done);
    return done;
  }

  /** Releases `count` frames without writing them (the device is gone): counted as dropped. */
  discard(c: Float64Array): number {
    const k = this.available();
    if (k <= 0) return 0;
    c[IoStat.TxDropClosed]! += k;
    this.release(k);
    return k;
  }

  /** Marks the ring closed from this side (the engine's producer drops from then on). */
  close(): void {
    Atomics.store(this.r.ctl, CLOSED, 1);
    Atomics.notify(this.r.ctl, TAIL);
  }

  private release(count: number): void {
    if (count === 0) return;
    const r = this.r;
    const meta = r.meta;
    let bytes = 0;
    for (let i = 0; i < count; i++) bytes += meta[((this.tail + i) & r.mask) * META_INTS + 1]!;
    this.tail = (this.tail + count) | 0;
    r.stats[RingStat.Consumed]! += count;
    r.stats[RingStat.ConsumedBytes]! += bytes;
    Atomics.store(r.ctl, TAIL, this.tail);
    if (Atomics.load(r.ctl, PROD_WAITING) === 1) {
      r.stats[RingStat.ProducerWakeups]!++;
      Atomics.notify(r.ctl, TAIL, 1);
    }
  }
}
