/**
 * The `tuntap` part of the native addon, and the counters its batched I/O writes.
 *
 * Every TUN/TAP descriptor, standalone or behind an I/O thread, has one `Float64Array` of
 * counters (IO_STATS_LEN doubles). The addon adds to the first 16 (native/src/tuntap/io.rs, same
 * indices); the TypeScript around it owns the rest. The array may live in a SharedArrayBuffer:
 * an I/O thread writes it, the control thread reads it (slightly stale, never torn per counter
 * on x86-64 and aarch64).
 *
 * Directions are the device's: `rx` is what pktkit reads from the descriptor (what the kernel
 * sent into the TUN/TAP), `tx` what pktkit writes to it (what the kernel receives).
 */

import { requireNative } from '../native/index.js';
import type * as TuntapBinding from '../native/binding.js';

/** The addon's functions this module uses (generated typings, merged into binding.ts later). */
export type TuntapNative = typeof TuntapBinding;

/**
 * The addon, built with the `tuntap` feature.
 * @throws {PktError} code ERR_PKT_NATIVE_UNAVAILABLE when it is not built, or built without it.
 */
export function tuntapNative(): TuntapNative {
  return requireNative('TUN/TAP', 'tuntap') as unknown as TuntapNative;
}

/** Indices into a device's counters. 0-15: written by the addon (io.rs `stat`). */
export const IoStat = {
  RxFrames: 0,
  RxBytes: 1,
  /** Read frames longer than a slot: dropped. */
  RxTooBig: 2,
  TxFrames: 3,
  TxBytes: 4,
  /** EINVAL: the kernel refused the frame (a TUN takes IPv4 and IPv6 only). */
  TxInvalid: 5,
  /** EIO: the link is down. */
  TxDown: 6,
  TxWouldBlock: 7,
  /** EMSGSIZE, or longer than the device's buffers. */
  TxTooBig: 8,
  TxErrors: 9,
  LastErrno: 10,
  /** Nonzero (the errno) once an error ended the descriptor's I/O. */
  FatalErrno: 11,
  RxSyscalls: 12,
  TxSyscalls: 13,
  /** vnet header: GSO super-packets read (segmented or delivered whole). */
  RxGso: 14,
  /** vnet header: packets dropped because their header could not be acted on. */
  RxVnetBad: 15,
  // ---- TypeScript's
  /** Read frames dropped because the engine's ring stayed full. */
  RxDropFull: 16,
  /** Read frames dropped because the engine's ring was closed, or the device is closing. */
  RxDropClosed: 17,
  /** Times the I/O thread waited for room in the engine's ring. */
  RxFullWaits: 18,
  /** Times it parked (native poll on the descriptor and its eventfd). */
  Parks: 19,
  /** Parks ended by a producer's kick (the engine sent something). */
  Wakeups: 20,
  /** Parks ended by the timeout. */
  Timeouts: 21,
  /** Calls of the batched read and write. */
  RxBatches: 22,
  TxBatches: 23,
  /** Frames the engine sent that were dropped because the device had failed or closed. */
  TxDropClosed: 24,
  /** Read frames dropped because no handler was set yet (standalone devices). */
  RxNoHandler: 25,
} as const;

/** Doubles in a device's counters array. */
export const IO_STATS_LEN = 32;

/**
 * Int32 indices of a vnet reader's state (native/src/tuntap/vnet_io.rs `state`): the header
 * length and mode are set by the owner; the carry (a super-packet still being segmented in the
 * scratch buffer) is the addon's.
 */
export const VnetState = {
  HdrLen: 0,
  /** VNET_MODE_RAW or VNET_MODE_SEGMENT. */
  Mode: 1,
  /** Bytes of a super-packet waiting in scratch: read again even if the descriptor is not readable. */
  CarryLen: 2,
  CarryNext: 3,
} as const;
export const VNET_STATE_LEN = 4;
export const VNET_MODE_RAW = 0;
export const VNET_MODE_SEGMENT = 1;

/** Bytes of scratch a segmenting reader needs for slots with `room` bytes after the headroom. */
export function vnetScratchLen(room: number): number {
  return 16 + room + 65536;
}

/** A vnet reader's state array. */
export function vnetState(headerLen: number, segment: boolean): Int32Array {
  const s = new Int32Array(VNET_STATE_LEN);
  s[VnetState.HdrLen] = headerLen;
  s[VnetState.Mode] = segment ? VNET_MODE_SEGMENT : VNET_MODE_RAW;
  return s;
}

/** A device's counters, as `stats()` reports them (directions are the device's: see above). */
export interface TunTapStats {
  /** Frames and bytes read from the device (sent by the kernel into it). */
  rxFrames: number;
  rxBytes: number;
  /** Frames and bytes written to the device (received by the kernel). */
  txFrames: number;
  txBytes: number;
  /** Frames dropped, in total and by reason (only nonzero reasons). */
  dropped: number;
  drops: Record<string, number>;
  /** Native waits: parks, of which ended by a kick / by the timeout (I/O threads). */
  parks: number;
  wakeups: number;
  timeouts: number;
  /** vnet header: GSO super-packets read (each segmented, or delivered whole with rx: 'raw'). */
  rxGso: number;
  /** read(2) and write(2) calls made (the batched read tries until EAGAIN). */
  rxSyscalls: number;
  txSyscalls: number;
  /** The errno of the last failed read or write (0: none). */
  lastErrno: number;
  /** Nonzero once an error ended the device's I/O (EBADFD: the device was deleted). */
  fatalErrno: number;
}

const DROP_NAMES: readonly [number, string][] = [
  [IoStat.RxTooBig, 'rx-too-big'],
  [IoStat.RxVnetBad, 'rx-vnet-bad'],
  [IoStat.RxDropFull, 'rx-queue-full'],
  [IoStat.RxDropClosed, 'rx-closed'],
  [IoStat.RxNoHandler, 'rx-no-handler'],
  [IoStat.TxInvalid, 'tx-invalid'],
  [IoStat.TxDown, 'tx-link-down'],
  [IoStat.TxWouldBlock, 'tx-would-block'],
  [IoStat.TxTooBig, 'tx-too-big'],
  [IoStat.TxErrors, 'tx-error'],
  [IoStat.TxDropClosed, 'tx-closed'],
];

/** Reads counters arrays (one per queue) into one report, summed. Cold path. */
export function ioStats(arrays: readonly Float64Array[]): TunTapStats {
  const sum = (i: number): number => arrays.reduce((s, a) => s + a[i]!, 0);
  const drops: Record<string, number> = {};
  let dropped = 0;
  for (const [i, name] of DROP_NAMES) {
    const n = sum(i);
    if (n > 0) drops[name] = n;
    dropped += n;
  }
  let lastErrno = 0;
  let fatalErrno = 0;
  for (const a of arrays) {
    if (a[IoStat.LastErrno] !== 0) lastErrno = a[IoStat.LastErrno]!;
    if (a[IoStat.FatalErrno] !== 0) fatalErrno = a[IoStat.FatalErrno]!;
  }
  return {
    rxFrames: sum(IoStat.RxFrames),
    rxBytes: sum(IoStat.RxBytes),
    txFrames: sum(IoStat.TxFrames),
    txBytes: sum(IoStat.TxBytes),
    dropped,
    drops,
    parks: sum(IoStat.Parks),
    wakeups: sum(IoStat.Wakeups),
    timeouts: sum(IoStat.Timeouts),
    rxGso: sum(IoStat.RxGso),
    rxSyscalls: sum(IoStat.RxSyscalls),
    txSyscalls: sum(IoStat.TxSyscalls),
    lastErrno,
    fatalErrno,
  };
}
