/**
 * Ring-backed devices: one end of a link between engines on two port workers, seen by its engine
 * as an ordinary `L2Device` / `L3Device`.
 *
 *        worker A                                                   worker B
 *   engine --send--> RingL2Device --push--> [ ring A->B ] --poll--> RingL2Device --handler--> engine
 *   engine <-handler-- RingL2Device <--poll-- [ ring B->A ] <--push-- RingL2Device <--send-- engine
 *
 * `send` copies the frame into the next slot of the outbound ring (the only copy a frame makes on
 * its way between threads) and returns; the frame becomes visible to the peer when the worker's
 * run loop publishes, once per round for every outbound ring (or earlier, once a quarter of the
 * ring is pending, so that one long burst pipelines with the consumer instead of filling the
 * ring). Outside a round (an engine's timer, a command) a publish is queued as a microtask.
 *
 * Frames from the inbound ring are handed to the handler in place, in their slot, by the run loop
 * (`drain`): borrowed, valid only until the handler returns, as everywhere in pktkit.
 *
 * Counters (PortCounters, as for a pipe): tx = frames the engine sent into the ring, rx = frames
 * handed to the engine; drops by reason: `queue-full` (ring full, after the 'wait' policy's
 * wait), `too-big` (larger than a slot), `closed` (the link is down), `no-handler`,
 * `send-failed` (the engine's handler threw). The ring keeps its own counters in shared memory,
 * which the control thread reads.
 *
 * Not concurrent: each device belongs to the worker that created it.
 */

import { withL3Addr } from '../core/l3-addr.js';
import { RingConsumer, RingProducer, type Doorbell, type RingDescriptor, type RingHandler } from '../../rings/index.js';
import type { FrameHandler, L2Device, L3Device } from '../core/device.js';
import { DropReason, PortCounters, type PortStats } from '../core/stats.js';
import { randomLocalMac, type IpPrefix } from '../wire/addr.js';

/** What a ring device needs from the run loop of its worker. */
export interface PublishHook {
  /** True while the run loop is inside a round (it publishes every outbound ring at the end). */
  readonly inRound: boolean;
  /** Publishes every outbound ring soon (a microtask), for sends made outside a round. */
  schedulePublish(): void;
}

export interface RingDeviceOptions {
  out: RingDescriptor;
  in: RingDescriptor;
  /** The peer worker's doorbell, rung when a publish finds it parked. */
  peerDoorbell: Doorbell;
  policy: 'drop' | 'wait';
  maxWaitMs: number;
}

/** What both ring devices share: the rings, the handler, counters. */
class RingPort {
  readonly counters = new PortCounters();
  readonly producer: RingProducer;
  readonly consumer: RingConsumer;
  protected handler: FrameHandler | null = null;
  protected closed = false;
  private readonly hook: PublishHook;
  /** Publish early once this many frames are pending (a quarter of the ring). */
  private readonly eagerPublish: number;
  private readonly maxFrame: number;

  constructor(opts: RingDeviceOptions, hook: PublishHook) {
    this.producer = new RingProducer(opts.out, { policy: opts.policy, maxWaitMs: opts.maxWaitMs, doorbell: opts.peerDoorbell });
    this.consumer = new RingConsumer(opts.in);
    this.hook = hook;
    this.eagerPublish = Math.max(1, opts.out.slots >>> 2);
    this.maxFrame = opts.out.slotSize - opts.out.headroom;
  }

  setHandler(handler: FrameHandler): void {
    this.handler = handler;
  }

  send(frame: Uint8Array): void {
    if (this.closed) return this.counters.drop(DropReason.Closed);
    const p = this.producer;
    if (!p.push(frame)) return this.dropped(frame.length);
    this.counters.tx(frame.length);
    if (p.pending >= this.eagerPublish) p.publish();
    else if (!this.hook.inRound) this.hook.schedulePublish();
  }

  /** Why a push failed (the drop path only). */
  private dropped(len: number): void {
    this.counters.drop(len > this.maxFrame ? DropReason.TooBig : this.producer.closed ? DropReason.Closed : DropReason.QueueFull);
  }

  /** Hands the handler each inbound frame, in its slot. Bound once: `poll` takes it per round. */
  private readonly deliver: RingHandler = (frame) => {
    const h = this.handler;
    if (h === null) return this.counters.drop(DropReason.NoHandler);
    this.counters.rx(frame.length);
    h(frame);
  };

  /**
   * Run loop: hands up to `max` inbound frames to the handler and releases their slots; returns
   * how many it took. A handler that throws propagates (the frames up to it are released, the
   * frame that threw included): the run loop counts it with `handlerThrew` and goes on.
   */
  drain(max: number): number {
    return this.consumer.poll(this.deliver, max);
  }

  /** Run loop: the engine's handler threw on a frame from this ring. */
  handlerThrew(): void {
    this.counters.drop(DropReason.SendFailed);
  }

  /** Run loop: frames waiting in the inbound ring. */
  available(): number {
    return this.consumer.available();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  stats(): PortStats {
    return this.counters.snapshot();
  }

  /** Closes both rings from this side: the peer drops what it sends from now on. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handler = null;
    this.producer.close();
    this.consumer.close();
  }
}

/** An L2 link endpoint over a ring pair. */
export class RingL2Device extends RingPort implements L2Device {
  readonly hwAddr: number;
  constructor(opts: RingDeviceOptions, hook: PublishHook, mac: number = randomLocalMac()) {
    super(opts, hook);
    this.hwAddr = mac;
  }
}

/** An L3 link endpoint over a ring pair. */
export class RingL3Device extends withL3Addr(RingPort) implements L3Device {
  constructor(opts: RingDeviceOptions, hook: PublishHook, addr: IpPrefix | string | null = null) {
    super(opts, hook);
    this.setAddr(addr);
  }
}
