/**
 * The messages between the control thread and a port worker. They are cold-path only: topology
 * changes, commands, statistics. Frames never travel in a message; they go through the rings.
 *
 *   control                                   port worker
 *   -------                                   -----------
 *   new Worker(port-worker.js, workerData) -> imports the plugin modules
 *                                          <- { type: 'ready', kinds } or { type: 'init-error' }
 *   { op, id, ... }                        -> handled between two rounds of the run loop
 *                                          <- { type: 'reply', id, ok, value | error }
 *
 * SharedArrayBuffers (rings, doorbells) travel inside the messages, never in a transferList.
 */

import type { FramePoolDescriptor, IndexRingDescriptor, RingDescriptor } from '../../rings/index.js';
import type { BrokerPoolStats } from './frame-broker.js';
import type { SerializedError } from './errors.js';
import type { Layer, RunLoopStats } from './types.js';
import type { PortStats } from '../core/stats.js';

/** What a port worker is started with. */
export interface PortWorkerData {
  index: number;
  /** The worker's own doorbell: every ring producer that targets this worker rings it. */
  doorbell: SharedArrayBuffer;
  /** Plugin module URLs (href strings). */
  modules: string[];
  spinUs: number;
  batch: number;
  yieldMs: number;
  /** Every worker's frame pool, by worker index (null: no pools). */
  pools: FramePoolDescriptor[] | null;
  poolHeadroom: number;
  /** Frames each worker holds per pool: one row of `holdingsStride` int32s per worker. */
  holdings: SharedArrayBuffer | null;
  holdingsStride: number;
}

export type Request =
  | { op: 'create'; id: number; engine: string; kind: string; options: unknown }
  | {
      op: 'link-ring';
      id: number;
      link: string;
      engine: string;
      peer: string;
      layer: Layer;
      /** The ring this side produces into, and the one it consumes. */
      out: RingDescriptor;
      in: RingDescriptor;
      /** The consumer's (peer worker's) doorbell, rung after each publish. */
      peerDoorbell: SharedArrayBuffer;
      peerWorker: number;
      policy: 'drop' | 'wait';
      maxWaitMs: number;
      addr: string | null;
    }
  | {
      op: 'link-zc';
      id: number;
      link: string;
      engine: string;
      peer: string;
      layer: Layer;
      /** The descriptor ring this side produces into, and the one it consumes. */
      out: IndexRingDescriptor;
      in: IndexRingDescriptor;
      /** Per-direction counters (ZcStat) of `out` and `in`. */
      outCounters: SharedArrayBuffer;
      inCounters: SharedArrayBuffer;
      peerDoorbell: SharedArrayBuffer;
      peerWorker: number;
      addr: string | null;
    }
  /** Completion rings: `out` return frames to their owners' pools, `in` bring this worker's frames home. */
  | { op: 'zc-completions'; id: number; out: { owner: number; ring: IndexRingDescriptor }[]; in: IndexRingDescriptor[] }
  /** After 'unlink' on both sides of a zero-copy link: give back the frames left in its inbound ring. */
  | { op: 'zc-drain'; id: number; link: string }
  | { op: 'link-direct'; id: number; link: string; a: string; b: string; layer: Layer; addrA: string | null; addrB: string | null }
  | { op: 'unlink'; id: number; link: string }
  | { op: 'command'; id: number; engine: string; name: string; payload: unknown }
  | { op: 'stats'; id: number }
  | { op: 'close'; id: number };

export type Reply = { type: 'reply'; id: number; ok: true; value: unknown } | { type: 'reply'; id: number; ok: false; error: SerializedError };

export type WorkerEvent = { type: 'ready'; kinds: [string, Layer][] } | { type: 'init-error'; error: SerializedError } | Reply;

/** What a worker answers to `stats`. */
export interface WorkerStatsReply {
  engines: { id: string; kind: string; stats: unknown }[];
  loop: RunLoopStats;
  /** Per link, per engine of this worker at that link: the endpoint device's counters. */
  ends: Record<string, Record<string, PortStats>>;
  /** The worker's frame pool (null without pools). */
  pool: BrokerPoolStats | null;
}
