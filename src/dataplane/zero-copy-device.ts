/**
 * Zero-copy devices: one end of a zero-copy link between engines on two port workers, seen by its
 * engine as an ordinary `L2Device` / `L3Device`. The link is a pair of IndexRings (one per
 * direction) carrying frame descriptors; the frames stay in the workers' shared frame pools
 * (frame-broker.ts has the descriptor format and the ownership rules).
 *
 *        worker A                                                    worker B
 *   engine --send--> ZeroCopyL2Device --desc--> [ IndexRing A->B ] --poll--> ZeroCopyL2Device --handler--> engine
 *                    (live pool frame: forwarded;                     (a view of the frame in its
 *                     anything else: copied into                       owner's pool; given back to
 *                     A's pool first, counted)                         the owner after the handler,
 *                                                                      unless forwarded on)
 *
 * `send(frame)` forwards the frame itself when it is a pool frame this worker holds and has not
 * forwarded yet (from `ctx.allocFrame`, or delivered by a zero-copy link and still being
 * handled); otherwise it copies it into a frame of this worker's pool (a `copy`, counted per
 * direction) and sends that. Descriptors are staged in the device and pushed into the ring as a
 * batch (one atomic look at the ring per batch, where a push per frame would cost two atomic
 * loads here) once the callback that sent them has returned: at the end of the handler call or
 * deferred function, or of the round. So a frame forwarded zero-copy is not the sender's any
 * more, but it stays readable until its callback returns (a hub flooding it to a second link
 * copies it from there). Writes to it after `send` reach the receiver: send a frame last, or
 * send a copy.
 *
 * Back-pressure: a zero-copy link never waits. Its rings are sized to hold every pool frame, so
 * they do not fill; what runs out is the sender's pool (`ctx.allocFrame` returns null, a fallback
 * copy is dropped as `pool-empty`), and frames come back as the receivers finish them.
 *
 * Counters (PortCounters, as for a ring device): tx, rx; drops `closed` (the link is down),
 * `queue-full` (descriptor ring full, or no pool frame for a copy), `too-big` (a copy longer than
 * a pool frame after its headroom), `no-handler`, `send-failed` (the handler threw). A frame
 * counted in tx may still be dropped when its batch is pushed (the link went down meanwhile):
 * then it is counted as a drop too. Per direction, in shared memory for the control thread:
 * copies and bytes (`ZcStat`, added per batch), besides the IndexRing's own pushed / consumed /
 * dropped counters.
 *
 * Not concurrent: each device belongs to the worker that created it.
 */

import { withL3Addr } from '../core/l3-addr.js';
import { IndexConsumer, IndexProducer, closeIndexRing, type Doorbell, type IndexHandler, type IndexRingDescriptor } from '../../rings/index.js';
import type { FrameHandler, L2Device, L3Device } from '../core/device.js';
import { DropReason, PortCounters, type PortStats } from '../core/stats.js';
import { randomLocalMac, type IpPrefix } from '../wire/addr.js';
import type { FrameBroker, OutboundPort } from './frame-broker.js';
import type { PublishHook } from './ring-device.js';

/**
 * Per-direction link counters (Float64 indices in a `ZC_COUNTER_BYTES` SharedArrayBuffer): the
 * producer's on the first cache line, the consumer's on the second.
 */
export const ZcStat = {
  /** Frames copied into a pool frame because zero-copy did not apply. */
  Copies: 0,
  CopiedBytes: 1,
  /** Bytes of the frames pushed (forwarded or copied). */
  PushedBytes: 2,
  /** Copies dropped: longer than a pool frame after its headroom. */
  DropTooBig: 3,
  /** Copies dropped: the sender's pool had no free frame. */
  DropPoolEmpty: 4,
  /** Bytes of the frames the consumer handed to its engine. */
  ConsumedBytes: 8,
  /** Descriptors naming no frame (a bug if nonzero). */
  BadDescriptors: 9,
} as const;
export const ZC_COUNTER_BYTES = 128;

export interface ZeroCopyDeviceOptions {
  out: IndexRingDescriptor;
  in: IndexRingDescriptor;
  /** Counters of the outbound and inbound directions (`ZcStat`). */
  outCounters: SharedArrayBuffer;
  inCounters: SharedArrayBuffer;
  /** The peer worker's doorbell, rung when a publish finds it parked. */
  peerDoorbell: Doorbell;
}

/** What both zero-copy devices share. */
class ZeroCopyPort implements OutboundPort {
  readonly counters = new PortCounters();
  readonly producer: IndexProducer;
  readonly consumer: IndexConsumer;
  protected handler: FrameHandler | null = null;
  protected closed = false;
  private readonly broker: FrameBroker;
  private readonly hook: PublishHook;
  private readonly out: IndexRingDescriptor;
  private readonly in: IndexRingDescriptor;
  /** Flush at the next scope end once this many descriptors are staged. */
  private readonly eagerPublish: number;
  private readonly outStats: Float64Array;
  private readonly inStats: Float64Array;
  /**
   * Descriptors sent and not yet pushed (a, b interleaved), whether each is a copy, and their
   * bytes. As many as the ring has slots: every staged descriptor names a distinct frame, so with
   * the default ring size (every pool frame) it cannot overflow.
   */
  private readonly stage: Int32Array;
  private readonly stageCopy: Uint8Array;
  private staged = 0;
  private stagedBytes = 0;
  private stagedCopies = 0;
  private stagedCopyBytes = 0;
  /** Bytes handed to the handler since the last drain ended (added to ConsumedBytes per drain). */
  private consumedBytes = 0;

  constructor(opts: ZeroCopyDeviceOptions, broker: FrameBroker, hook: PublishHook) {
    this.producer = new IndexProducer(opts.out, opts.peerDoorbell);
    this.consumer = new IndexConsumer(opts.in);
    this.broker = broker;
    this.hook = hook;
    this.out = opts.out;
    this.in = opts.in;
    this.eagerPublish = Math.max(1, Math.min(256, opts.out.slots >>> 2));
    this.outStats = new Float64Array(opts.outCounters, 0, ZC_COUNTER_BYTES / 8);
    this.inStats = new Float64Array(opts.inCounters, 0, ZC_COUNTER_BYTES / 8);
    this.stage = new Int32Array(opts.out.slots * 2);
    this.stageCopy = new Uint8Array(opts.out.slots);
  }

  setHandler(handler: FrameHandler): void {
    this.handler = handler;
  }

  send(frame: Uint8Array): void {
    if (this.closed) return this.counters.drop(DropReason.Closed);
    const n = this.staged;
    if (n === this.stageCopy.length) return this.counters.drop(DropReason.QueueFull);
    const b = this.broker;
    const len = frame.length;
    let a = b.take(frame);
    let copied = 0;
    if (a < 0) {
      if (len > b.maxAlloc) {
        this.outStats[ZcStat.DropTooBig]!++;
        return this.counters.drop(DropReason.TooBig);
      }
      a = b.copyIn(frame);
      if (a < 0) {
        this.outStats[ZcStat.DropPoolEmpty]!++;
        return this.counters.drop(DropReason.QueueFull);
      }
      copied = 1;
      this.stagedCopies++;
      this.stagedCopyBytes += len;
    }
    this.stage[n << 1] = a;
    this.stage[(n << 1) + 1] = b.takenB;
    this.stageCopy[n] = copied;
    this.staged = n + 1;
    this.stagedBytes += len;
    this.counters.tx(len);
    if (n + 1 >= this.eagerPublish) b.publishDue = true;
    if (!this.hook.inRound) this.hook.schedulePublish();
  }

  /**
   * Broker, between callbacks: pushes the staged descriptors as one batch and publishes them. What
   * the ring refuses (closed, or full) goes back to its owner, counted as dropped.
   */
  flush(): void {
    const n = this.staged;
    if (n !== 0) {
      this.staged = 0;
      const ok = this.producer.pushBatch(this.stage, n);
      if (ok < n) this.unsend(ok, n);
      const s = this.outStats;
      s[ZcStat.PushedBytes]! += this.stagedBytes;
      if (this.stagedCopies !== 0) {
        s[ZcStat.Copies]! += this.stagedCopies;
        s[ZcStat.CopiedBytes]! += this.stagedCopyBytes;
        this.stagedCopies = 0;
        this.stagedCopyBytes = 0;
      }
      this.stagedBytes = 0;
    }
    this.producer.publish();
  }

  /** Staged descriptors from `from` to `n` were refused: their frames go home (cold path). */
  private unsend(from: number, n: number): void {
    const reason = this.producer.closed ? DropReason.Closed : DropReason.QueueFull;
    const b = this.broker;
    for (let k = from; k < n; k++) {
      const a = this.stage[k << 1]!;
      const len = this.stage[(k << 1) + 1]! & 0xffff;
      this.stagedBytes -= len;
      if (this.stageCopy[k] === 1) {
        this.stagedCopies--;
        this.stagedCopyBytes -= len;
        b.dropCopy(a);
      } else {
        b.giveBackTaken(a);
      }
      this.counters.drop(reason);
    }
  }

  /** Hands the handler each inbound frame in its pool, then gives it back unless forwarded. */
  private readonly onDescriptor: IndexHandler = (a, d) => {
    const b = this.broker;
    const view = b.deliver(a, d);
    if (view === null) {
      this.inStats[ZcStat.BadDescriptors]!++;
      return;
    }
    const len = view.length;
    this.consumedBytes += len;
    const h = this.handler;
    if (h === null) {
      this.counters.drop(DropReason.NoHandler);
      b.delivered(a);
      return;
    }
    this.counters.rx(len);
    try {
      h(view);
    } finally {
      b.delivered(a);
      if (b.publishDue) b.publish();
    }
  };

  /** Gives back a descriptor's frame without handing it to anyone (a link being taken down). */
  private readonly giveBack: IndexHandler = (a, d) => {
    const view = this.broker.deliver(a, d);
    if (view === null) this.inStats[ZcStat.BadDescriptors]!++;
    else this.broker.delivered(a);
  };

  /**
   * Run loop: hands up to `max` inbound frames to the handler; returns how many it took. A
   * handler that throws propagates (its frame given back first): the run loop counts it with
   * `handlerThrew` and goes on.
   */
  drain(max: number): number {
    try {
      return this.consumer.poll(this.onDescriptor, max);
    } finally {
      if (this.consumedBytes !== 0) {
        this.inStats[ZcStat.ConsumedBytes]! += this.consumedBytes;
        this.consumedBytes = 0;
      }
    }
  }

  /** Run loop: the engine's handler threw on a frame from this link. */
  handlerThrew(): void {
    this.counters.drop(DropReason.SendFailed);
  }

  /** Run loop: descriptors waiting in the inbound ring. */
  available(): number {
    return this.consumer.available();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  stats(): PortStats {
    return this.counters.snapshot();
  }

  /**
   * Closes both rings from this side: the peer drops what it sends from now on. What is still in
   * the inbound ring stays there until `drainClosed` (once neither side can push any more).
   * Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handler = null;
    this.flush();
    closeIndexRing(this.out);
    closeIndexRing(this.in);
  }

  /** After `close` on both sides: gives back every frame left in the inbound ring. */
  drainClosed(): number {
    return this.consumer.poll(this.giveBack);
  }
}

/** An L2 link endpoint over a zero-copy ring pair. */
export class ZeroCopyL2Device extends ZeroCopyPort implements L2Device {
  readonly hwAddr: number;
  constructor(opts: ZeroCopyDeviceOptions, broker: FrameBroker, hook: PublishHook, mac: number = randomLocalMac()) {
    super(opts, broker, hook);
    this.hwAddr = mac;
  }
}

/** An L3 link endpoint over a zero-copy ring pair. */
export class ZeroCopyL3Device extends withL3Addr(ZeroCopyPort) implements L3Device {
  constructor(opts: ZeroCopyDeviceOptions, broker: FrameBroker, hook: PublishHook, addr: IpPrefix | string | null = null) {
    super(opts, broker, hook);
    this.setAddr(addr);
  }
}
