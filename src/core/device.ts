/**
 * The device model: the two small interfaces every part of pktkit implements or consumes.
 *
 * An `L2Device` moves Ethernet frames, an `L3Device` moves IP packets. Forwarding is a
 * synchronous call, in both directions:
 *
 *   network  --- dev.send(frame) --->  device  --- handler(frame) --->  whoever set the handler
 *
 * `send` hands the device a frame *from* the network it is attached to (a hub port, a peer);
 * the device hands frames it *produces* to the handler installed with `setHandler`. Wiring is
 * handler assignment: `connectL2(a, b)` makes each one's handler the other's `send`.
 *
 * Buffer lifetime: the `Uint8Array` given to `send` or to a handler is borrowed. It is valid only
 * until that call returns (it is often a view into a ring slot or a pool frame that is reused at
 * once). Whoever keeps bytes copies them; whoever forwards them passes the same array on.
 *
 * Errors: a device never throws out of `send` or into a handler because of what a packet
 * contains; it drops the packet and counts the reason. Hubs catch what a faulty device throws
 * and count it, so one port cannot stop delivery to the others.
 */

import type { IpPrefix } from '../wire/addr.js';

/** Receives frames or packets from a device. The buffer is valid until the call returns. */
export type FrameHandler = (frame: Uint8Array) => void;
export type PacketHandler = (packet: Uint8Array) => void;

/** A Layer 2 (Ethernet) device. */
export interface L2Device {
  /** Installs the receiver of frames this device produces; replaces any previous one. */
  setHandler(handler: FrameHandler): void;
  /** Delivers a frame from the network to this device. Borrowed: valid until this returns. */
  send(frame: Uint8Array): void;
  /** The device's MAC address as a 48-bit number (see `formatMac`). */
  readonly hwAddr: number;
  /** Releases the device. Idempotent. May return a promise for devices with I/O to flush. */
  close(): void | Promise<void>;
}

/** Listener told of a device's new address (null when removed). */
export type AddrListener = (addr: IpPrefix | null) => void;

/** A Layer 3 (IP) device. */
export interface L3Device {
  /** Installs the receiver of packets this device produces; replaces any previous one. */
  setHandler(handler: PacketHandler): void;
  /** Delivers a packet from the network to this device. Borrowed: valid until this returns. */
  send(packet: Uint8Array): void;
  /** The device's address and prefix (`10.0.0.2/24`), or null when it has none yet. */
  readonly addr: IpPrefix | null;
  /** Sets the address (from configuration or DHCP). Accepts an IpPrefix or its text. */
  setAddr(addr: IpPrefix | string | null): void;
  /** Releases the device. Idempotent. */
  close(): void | Promise<void>;
  /**
   * Optional: calls `listener` whenever the address changes; returns an unsubscribe function.
   * Hubs that route by device address use it to keep their routes current.
   */
  watchAddr?(listener: AddrListener): () => void;
}

/** Detaches a device from a connector and releases what was made for it. Idempotent. */
export type Cleanup = () => void;

/** Receives L2 devices and owns their attachment (an L2Hub is one). */
export interface L2Connector {
  connectL2(dev: L2Device): Cleanup | Promise<Cleanup>;
}

/** Receives L3 devices and owns their attachment (slirp and NAT give each its own namespace). */
export interface L3Connector {
  connectL3(dev: L3Device): Cleanup | Promise<Cleanup>;
}

/**
 * Produces L2 devices, typically one per incoming connection (a QEMU socket listener).
 * `acceptL2` resolves with the next device, or rejects when the acceptor is closed (with a
 * ClosedError, which ends `serve` normally) or fails (any other error, which `serve` rethrows).
 */
export interface L2Acceptor {
  acceptL2(): Promise<L2Device>;
}

/** A device that can say when its connection has ended, so that its cleanup runs by itself. */
export interface DoneSignal {
  /** Resolves once, when the device's underlying connection is gone. */
  readonly done: Promise<void>;
}

/** What an acceptor with done signals yields: the device and, optionally, when it ends. */
export interface AcceptedL2 {
  device: L2Device;
  done?: Promise<void>;
}

/** An acceptor whose devices come with done signals (`serveWithDone`). */
export interface L2AcceptorWithDone {
  acceptL2WithDone(): Promise<AcceptedL2>;
}

/** Direction of a tapped frame or packet, as pcapng's epb_flags numbers them. */
export const TapDirection = {
  /** Into the device (delivered with `send`). */
  In: 1,
  /** Out of the device (produced to its handler). */
  Out: 2,
} as const;
export type TapDirection = (typeof TapDirection)[keyof typeof TapDirection];

/**
 * A receiver of copies of traffic (a capture file's interface). Called synchronously on the
 * packet path with a borrowed buffer: it must copy what it keeps and must not throw.
 */
export interface PacketTap {
  tap(data: Uint8Array, direction: TapDirection): void;
}

/** True when `dev` has a `done` promise (implements DoneSignal). */
export function hasDoneSignal(dev: object): dev is DoneSignal {
  return 'done' in dev && (dev as { done: unknown }).done instanceof Promise;
}
