/**
 * Drop reasons and per-port counters.
 *
 * Every device and hub counts what it drops by a numeric reason, never by building a string.
 * Reasons 0-11 are the WireStatus codes (a frame that fails `check()` is dropped for the reason
 * the check gave); engine-level reasons follow. Counters live in a Float64Array so that
 * incrementing one never changes an object's shape or boxes a number, and so that a later
 * dataplane can place them in shared memory for the control thread to read.
 */

import { WIRE_STATUS_COUNT, WIRE_STATUS_NAMES } from '../wire/status.js';

export const DropReason = {
  /** No route or port for the destination. */
  NoRoute: WIRE_STATUS_COUNT,
  /** The destination is on the port the frame came from (a switch filters, not forwards). */
  Filtered: WIRE_STATUS_COUNT + 1,
  /** A group (multicast) source MAC: invalid per IEEE 802.1D. */
  BadSourceMac: WIRE_STATUS_COUNT + 2,
  /** The receiving device threw from `send`; counted on the port that threw. */
  SendFailed: WIRE_STATUS_COUNT + 3,
  /** The device has no handler installed yet. */
  NoHandler: WIRE_STATUS_COUNT + 4,
  /** The device or hub is closed. */
  Closed: WIRE_STATUS_COUNT + 5,
  /** A bounded queue or buffer is full. */
  QueueFull: WIRE_STATUS_COUNT + 6,
  /** Larger than the link, slot or buffer allows. */
  TooBig: WIRE_STATUS_COUNT + 7,
  /** A bounded table is full and nothing could be evicted. */
  TableFull: WIRE_STATUS_COUNT + 8,
  /** Routed back to the port it came from (L3 hairpin). */
  Loop: WIRE_STATUS_COUNT + 9,
} as const;
export type DropReason = number;

export const DROP_REASON_COUNT = WIRE_STATUS_COUNT + 10;

/** Display names, indexed by reason code (WireStatus names first). */
export const DROP_REASON_NAMES: readonly string[] = [
  ...WIRE_STATUS_NAMES,
  'no-route',
  'filtered',
  'bad-source-mac',
  'send-failed',
  'no-handler',
  'closed',
  'queue-full',
  'too-big',
  'table-full',
  'loop',
];

const RX_FRAMES = 0;
const RX_BYTES = 1;
const TX_FRAMES = 2;
const TX_BYTES = 3;
const DROPS = 4;

/** A snapshot of one port's counters (cold path: built on request). */
export interface PortStats {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  /** Total drops, and the nonzero ones by reason name. */
  dropped: number;
  drops: Record<string, number>;
}

/**
 * Counters of one port: frames and bytes received (from its device into the hub) and
 * transmitted (from the hub to its device), and drops by reason. Incrementing allocates nothing.
 */
export class PortCounters {
  readonly c: Float64Array;

  constructor(storage: Float64Array = new Float64Array(DROPS + DROP_REASON_COUNT)) {
    this.c = storage;
  }

  rx(bytes: number): void {
    this.c[RX_FRAMES]!++;
    this.c[RX_BYTES]! += bytes;
  }
  tx(bytes: number): void {
    this.c[TX_FRAMES]!++;
    this.c[TX_BYTES]! += bytes;
  }
  drop(reason: number): void {
    this.c[DROPS + reason]!++;
  }
  /** How many were dropped for `reason`. */
  dropsOf(reason: number): number {
    return this.c[DROPS + reason]!;
  }

  snapshot(): PortStats {
    const c = this.c;
    const drops: Record<string, number> = {};
    let dropped = 0;
    for (let r = 0; r < DROP_REASON_COUNT; r++) {
      const n = c[DROPS + r]!;
      if (n > 0) {
        drops[DROP_REASON_NAMES[r]!] = n;
        dropped += n;
      }
    }
    return { rxFrames: c[RX_FRAMES]!, rxBytes: c[RX_BYTES]!, txFrames: c[TX_FRAMES]!, txBytes: c[TX_BYTES]!, dropped, drops };
  }
}
