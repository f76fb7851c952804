/**
 * `Frame`: the seed API's Ethernet frame accessors (Go `pktkit.Frame`, Rust `Frame`) as a
 * reusable view. In Go a Frame is a []byte with methods; in TypeScript wrapping every frame in an
 * object would allocate per frame, so an engine keeps one `Frame` and points it at each frame:
 *
 *   private readonly frame = new Frame();
 *   send(bytes: Uint8Array): void {
 *     const f = this.frame.reset(bytes);
 *     if (f.check() !== WireStatus.Ok) return this.drop(…);
 *     if (f.etherType === EtherType.ARP) …
 *   }
 *
 * All accessors are those of `EthernetView` (wire/ethernet.ts), named as in the seed:
 * dstMAC, srcMAC, etherType (VLAN-aware), hasVLAN, vlanID, headerLen, isBroadcast, isMulticast,
 * and the setters. MACs are 48-bit numbers; `formatMac` makes text of them.
 */

import { EthernetView, emitEthernet, ethernetEmitLen, newEthernetFields } from '../wire/ethernet.js';
import { toMac } from '../wire/addr.js';
import { WireStatus } from '../wire/status.js';

export class Frame extends EthernetView {
  /** A new view over `bytes` (cold path; engines reuse one view with `reset`). */
  static from(bytes: Uint8Array): Frame {
    return new Frame().reset(bytes);
  }

  /** True when the buffer holds a whole Ethernet header (the seed's IsValid). */
  get isValid(): boolean {
    return this.check() === WireStatus.Ok;
  }

  /**
   * The payload as a new view over the same bytes. Allocates a view object: for tests and cold
   * paths; engines use `payloadOff` and `payloadLen`.
   */
  get payload(): Uint8Array {
    return this.buf.subarray(this.payloadOff, this.off + this.len);
  }
}

/** Options of `buildFrame`. MACs as 48-bit numbers or text. */
export interface BuildFrameOptions {
  dst: number | string;
  src: number | string;
  etherType: number;
  payload: Uint8Array;
  /** Adds an 802.1Q tag with this VLAN identifier (0-4095). */
  vlanID?: number;
  /** Priority code point for the tag (0-7). */
  pcp?: number;
}

/**
 * Allocates a new frame with the given header and a copy of the payload (the seed's BuildFrame).
 * For building frames on a hot path, write into a pool frame with `emitEthernet` instead.
 * @throws {PktTypeError} when a MAC is neither a 48-bit number nor MAC text.
 */
export function buildFrame(opts: BuildFrameOptions): Uint8Array {
  const f = newEthernetFields();
  f.dst = toMac(opts.dst);
  f.src = toMac(opts.src);
  f.etherType = opts.etherType;
  f.vlanID = opts.vlanID ?? -1;
  f.pcp = opts.pcp ?? 0;
  const hl = ethernetEmitLen(f);
  const out = new Uint8Array(hl + opts.payload.length);
  emitEthernet(f, out, 0);
  out.set(opts.payload, hl);
  return out;
}

/** The seed's NewFrame(dst, src, etherType, payload): `buildFrame` with positional arguments. */
export function newFrame(dst: number | string, src: number | string, etherType: number, payload: Uint8Array): Uint8Array {
  return buildFrame({ dst, src, etherType, payload });
}
