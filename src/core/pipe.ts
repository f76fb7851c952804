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
import type { AddrListener, FrameHandler, L2Device, L3Device, PacketHandler } from './device.js';
import { DropReason, PortCounters, type PortStats } from './stats.js';

/** An in-memory L2 device. */
export class PipeL2 implements L2Device {
  readonly hwAddr: number;
  /** Receives the frames the network sends to this device (borrowed, valid during the call). */
  onSend: FrameHandler | null;
  /** rx: frames injected (produced by this device); tx: frames the network sent it. */
  readonly counters = new PortCounters();
  private handler: FrameHandler | null = null;
  private closed = false;

  /** `mac` defaults to a random locally administered address. */
  constructor(mac?: number | string, onSend: FrameHandler | null = null) {
    this.hwAddr = mac === undefined ? randomLocalMac() : toMac(mac);
    this.onSend = onSend;
  }

  setHandler(handler: FrameHandler): void {
    this.handler = handler;
  }

  send(frame: Uint8Array): void {
    if (this.closed) return this.counters.drop(DropReason.Closed);
    this.counters.tx(frame.length);
    if (this.onSend !== null) this.onSend(frame);
  }

  /** Produces a frame: hands it to the handler as if received from this device's own wire. */
  inject(frame: Uint8Array): void {
    if (this.closed) return this.counters.drop(DropReason.Closed);
    if (this.handler === null) return this.counters.drop(DropReason.NoHandler);
    this.counters.rx(frame.length);
    this.handler(frame);
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

/** An in-memory L3 device. */
export class PipeL3 implements L3Device {
  /** Receives the packets the network sends to this device (borrowed, valid during the call). */
  onSend: PacketHandler | null;
  readonly counters = new PortCounters();
  private handler: PacketHandler | null = null;
  private prefix: IpPrefix | null;
  private listeners: AddrListener[] = [];
  private closed = false;

  /** `addr` is the device's address and prefix, e.g. `10.0.0.2/24` (or null for none). */
  constructor(addr: IpPrefix | string | null = null, onSend: PacketHandler | null = null) {
    this.prefix = addr === null ? null : IpPrefix.from(addr);
    this.onSend = onSend;
  }

  get addr(): IpPrefix | null {
    return this.prefix;
  }

  setAddr(addr: IpPrefix | string | null): void {
    this.prefix = addr === null ? null : IpPrefix.from(addr);
    for (const l of [...this.listeners]) l(this.prefix);
  }

  watchAddr(listener: AddrListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i !== -1) this.listeners.splice(i, 1);
    };
  }

  setHandler(handler: PacketHandler): void {
    this.handler = handler;
  }

  send(packet: Uint8Array): void {
    if (this.closed) return this.counters.drop(DropReason.Closed);
    this.counters.tx(packet.length);
    if (this.onSend !== null) this.onSend(packet);
  }

  /** Produces a packet: hands it to the handler. */
  inject(packet: Uint8Array): void {
    if (this.closed) return this.counters.drop(DropReason.Closed);
    if (this.handler === null) return this.counters.drop(DropReason.NoHandler);
    this.counters.rx(packet.length);
    this.handler(packet);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  stats(): PortStats {
    return this.counters.snapshot();
  }

  close(): void {
    this.closed = true;
    this.listeners = [];
  }
}
