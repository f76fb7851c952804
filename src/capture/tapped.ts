/**
 * Tap wrappers: an L2Device or L3Device that behaves exactly like the device it wraps and hands
 * a copy of every frame or packet, both ways, to a PacketTap (a capture file's interface).
 *
 *   network --- wrapper.send(frame) --> tap(frame, In)  --> inner.send(frame)
 *   inner produces a frame ---------->  tap(frame, Out) --> handler given to wrapper.setHandler
 *
 * "In" and "Out" are seen from the device, as in src/core/device.ts: `send` delivers *into* the
 * device, the handler receives what comes *out* of it. The tap runs first in both directions, so
 * it records the bytes as they crossed the boundary, before anything downstream rewrites them in
 * place (a NAT, a hub decrementing a TTL).
 *
 * Wire the wrapper in place of the device (connectL2(wrapper, hub), not the device itself). The
 * wrapper installs its recording handler on the device when its own `setHandler` is first called,
 * so wrapping alone changes nothing. `close()` closes the device, not the capture file.
 *
 * Per packet: one extra call and the tap's encode; no allocation (the recording handler is made
 * once, in the constructor).
 */

import type { IpPrefix } from '../wire/addr.js';
import {
  TapDirection,
  type AddrListener,
  type FrameHandler,
  type L2Device,
  type L3Device,
  type PacketHandler,
  type PacketTap,
} from '../core/device.js';

function noHandler(_frame: Uint8Array): void {}

/** An L2Device that records the frames of `inner` in both directions. */
export class TappedL2 implements L2Device {
  /** The wrapped device. */
  readonly inner: L2Device;
  /** Where copies go. */
  readonly recorder: PacketTap;
  private handler: FrameHandler = noHandler;
  private readonly recordOut: FrameHandler;

  constructor(inner: L2Device, recorder: PacketTap) {
    this.inner = inner;
    this.recorder = recorder;
    this.recordOut = (frame) => {
      this.recorder.tap(frame, TapDirection.Out);
      this.handler(frame);
    };
  }

  get hwAddr(): number {
    return this.inner.hwAddr;
  }

  setHandler(handler: FrameHandler): void {
    this.handler = handler;
    this.inner.setHandler(this.recordOut);
  }

  send(frame: Uint8Array): void {
    this.recorder.tap(frame, TapDirection.In);
    this.inner.send(frame);
  }

  close(): void | Promise<void> {
    return this.inner.close();
  }
}

/** An L3Device that records the packets of `inner` in both directions. */
export class TappedL3 implements L3Device {
  /** The wrapped device. */
  readonly inner: L3Device;
  /** Where copies go. */
  readonly recorder: PacketTap;
  /** Present exactly when the wrapped device has it, so `dev.watchAddr` checks see the same. */
  readonly watchAddr: ((listener: AddrListener) => () => void) | undefined;
  private handler: PacketHandler = noHandler;
  private readonly recordOut: PacketHandler;

  constructor(inner: L3Device, recorder: PacketTap) {
    this.inner = inner;
    this.recorder = recorder;
    this.watchAddr = inner.watchAddr === undefined ? undefined : inner.watchAddr.bind(inner);
    this.recordOut = (packet) => {
      this.recorder.tap(packet, TapDirection.Out);
      this.handler(packet);
    };
  }

  get addr(): IpPrefix | null {
    return this.inner.addr;
  }

  setAddr(addr: IpPrefix | string | null): void {
    this.inner.setAddr(addr);
  }

  setHandler(handler: PacketHandler): void {
    this.handler = handler;
    this.inner.setHandler(this.recordOut);
  }

  send(packet: Uint8Array): void {
    this.recorder.tap(packet, TapDirection.In);
    this.inner.send(packet);
  }

  close(): void | Promise<void> {
    return this.inner.close();
  }
}
