/**
 * PipeL2 and PipeL3: in-memory devices for tests and for wiring parts together by hand.
 *
 *   network --- pipe.send(frame) ---> pipe.onSend(frame)        (what the network delivers to it)
 *   pipe.inject(frame) ---> handler(frame) ---> network          (what it produces)
 *
 * This differs from the Go original, whose PipeL2.Send hands the frame to its own handler: a Go
 * pipe attached to a hub echoes every frame the hub sends it back into the hub. Here `send`
 * goes to `onSend` (a test's recorder, say) and only `inject` produces frames.
 */

import { IpPrefix, randomLocalMac, toMac } from '../wire/addr.js';
import type { FrameHandler, L2Device, L3Device, PacketHandler } from './device.js';
import { withL3Addr } from './l3-addr.js';
import { DropReason, PortCounters, type PortStats } from './stats.js';

/**
 * What both pipes share: the handler, the `onSend` receiver, counters and the closed state.
 * rx counts what the pipe produced (`inject`), tx what the network sent it.
 */
class Pipe {
  /** Receives what the network sends to this device (borrowed, valid during the call). */
  onSend: FrameHandler | null;
  readonly counters = new PortCounters();
  protected handler: FrameHandler | null = null;
  protected closed = false;

  constructor(onSend: FrameHandler | null) {
    this.onSend = onSend;
  }

  setHandler(handler: FrameHandler): void {
    this.handler = handler;
  }

  send(bytes: Uint8Array): void {
    if (this.closed) return this.counters.drop(DropReason.Closed);
    this.counters.tx(bytes.length);
    if (this.onSend !== null) this.onSend(bytes);
  }

  /** Produces a frame or packet: hands it to the handler as if it came from the device's own side. */
  inject(bytes: Uint8Array): void {
    if (this.closed) return this.counters.drop(DropReason.Closed);
    if (this.handler === null) return this.counters.drop(DropReason.NoHandler);
    this.counters.rx(bytes.length);
    this.handler(bytes);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  stats(): PortStats {
    return this.counters.snapshot();
  }

  close(): void {
    this.closed = true;
  }
}

/** An in-memory L2 device. */
export class PipeL2 extends Pipe implements L2Device {
  readonly hwAddr: number;

  /** `mac` defaults to a random locally administered address. */
  constructor(mac?: number | string, onSend: FrameHandler | null = null) {
    super(onSend);
    this.hwAddr = mac === undefined ? randomLocalMac() : toMac(mac);
  }
}

/** An in-memory L3 device. */
export class PipeL3 extends withL3Addr(Pipe) implements L3Device {
  /** `addr` is the device's address and prefix, e.g. `10.0.0.2/24` (or null for none). */
  constructor(addr: IpPrefix | string | null = null, onSend: PacketHandler | null = null) {
    super(onSend);
    this.setAddr(addr);
  }
}
