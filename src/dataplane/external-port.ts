/**
 * External ports: a ring pair that joins an engine to something outside the dataplane, a thread
 * that is not a port worker: a TUN or AF_XDP reader (the native addon), a pool of workers of the
 * application's own, or native code writing into the slots. `Dataplane.attachPort(engine)`
 * creates the rings, attaches the engine's end like a link end, and returns the far end as an
 * `ExternalPortEnd`: plain data (SharedArrayBuffers and numbers) to post to that thread, which
 * opens it with `openExternalPort`:
 *
 *   engine (port worker) --fromEngine ring--> external thread     (rings `doorbell` when it publishes)
 *   engine (port worker) <--toEngine ring---- external thread     (rings `engineDoorbell` when it publishes)
 *
 * The external side follows the ring protocol (rings/): push and publish frames into `toEngine`
 * (its producer rings the engine's worker awake), poll `fromEngine`, and park on its own doorbell
 * (`prepare`, look again, `park` or `parkAsync`) when there is nothing to do.
 *
 * This module imports only rings/: the thread that opens a port needs nothing else of pktkit.
 */

import { Doorbell, RingConsumer, RingProducer, type RingDescriptor, type RingPolicy } from '../../rings/index.js';
import type { Layer } from './types.js';

/** The far end of an external port (structured-clonable). */
export interface ExternalPortEnd {
  /** Which link of the dataplane this is. */
  readonly link: string;
  readonly layer: Layer;
  /** Frames the external side sends to the engine. */
  readonly toEngine: RingDescriptor;
  /** Frames the engine sends to the external side. */
  readonly fromEngine: RingDescriptor;
  /** The engine's worker's doorbell: ring it after publishing into `toEngine`. */
  readonly engineDoorbell: SharedArrayBuffer;
  /** The external side's own doorbell: the engine's worker rings it after publishing into `fromEngine`. */
  readonly doorbell: SharedArrayBuffer;
}

/** The external side, opened on the thread that drives it. */
export interface OpenedExternalPort {
  /** Sends frames to the engine (publish after a batch; the engine's worker is woken if parked). */
  readonly producer: RingProducer;
  /** Receives the engine's frames, each borrowed until the handler returns. */
  readonly consumer: RingConsumer;
  /** Park here when both rings are idle. */
  readonly doorbell: Doorbell;
}

/**
 * Opens the far end of an external port on the current thread.
 * `policy`: what this side's producer does when the engine's ring is full (default 'drop';
 * 'wait' blocks this thread up to `maxWaitMs`, so never use it on a thread that must not block).
 */
export function openExternalPort(end: ExternalPortEnd, opts: { policy?: RingPolicy; maxWaitMs?: number } = {}): OpenedExternalPort {
  return {
    producer: new RingProducer(end.toEngine, { doorbell: new Doorbell(end.engineDoorbell), policy: opts.policy, maxWaitMs: opts.maxWaitMs }),
    consumer: new RingConsumer(end.fromEngine),
    doorbell: new Doorbell(end.doorbell),
  };
}
