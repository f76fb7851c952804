/**
 * The dataplane's public types: what the control thread is asked to build (engine specs, link
 * options), what it hands back (engine and link references, statistics), and the registry
 * through which plugin modules add engine kinds to every port worker.
 *
 * Everything that crosses between threads here is structured-clonable: specs and options go to
 * a worker in a postMessage, references and statistics come back.
 */

import type { Clock } from '../core/clock.js';
import type { Cleanup, L2Device, L3Device } from '../core/device.js';
import type { PortStats } from '../core/stats.js';

/** The network layer an engine works at: 2 moves Ethernet frames, 3 moves IP packets. */
export type Layer = 2 | 3;

/** A built-in learning switch (`L2Hub`): `attach` is `connectL2`, stats are `L2Hub.stats()`. */
export interface L2HubSpec {
  kind: 'l2hub';
  /** `capture`: record every port into a pcapng file (one interface per link), written by the worker. */
  options?: { maxMacs?: number; agingMs?: number; capture?: { path: string; snaplen?: number } };
}

/** A built-in routing hub (`L3Hub`): `attach` is `connectL3`, stats are `L3Hub.stats()`. */
export interface L3HubSpec {
  kind: 'l3hub';
  /** `capture`: record every port into a pcapng file (one interface per link), written by the worker. */
  options?: { maxRoutes?: number; capture?: { path: string; snaplen?: number } };
}

/** An engine of a kind a plugin module defined; `options` reach its `create` as they are. */
export interface PluginEngineSpec {
  kind: string;
  options?: unknown;
}

/** What to build. Structured-clonable: it is posted to the worker that will run the engine. */
export type EngineSpec = L2HubSpec | L3HubSpec | PluginEngineSpec;

/** Where to build it. Without `worker`, the live worker running the fewest engines is chosen. */
export interface Placement {
  worker?: number;
}

/** A created engine. Plain data: it may be stored, posted and compared by `id`. */
export interface EngineRef {
  readonly id: string;
  readonly kind: string;
  readonly worker: number;
  readonly layer: Layer;
}

/**
 * How a link moves frames: through a byte-ring pair between two workers (each frame copied into a
 * ring slot), through a zero-copy ring pair (descriptors of frames in the workers' frame pools),
 * or by direct calls inside one worker.
 */
export type LinkMode = 'ring' | 'zero-copy' | 'direct' | 'external';

/** A link between two engines. */
export interface LinkRef {
  readonly id: string;
  readonly a: EngineRef;
  readonly b: EngineRef;
  readonly mode: LinkMode;
}

/** Options of `Dataplane.attachPort`: the ring pair's geometry, and the engine side's policy and address. */
export interface ExternalPortOptions {
  /** What the engine's side does when the external side's ring is full (default 'drop'; 'wait' blocks the engine's worker up to maxWaitMs). */
  policy?: 'drop' | 'wait';
  slots?: number;
  slotSize?: number;
  headroom?: number;
  maxWaitMs?: number;
  /** Layer-3 engines: the address of the engine side's device (what is behind the port, for an L3Hub). */
  addr?: string | null;
}

/** Options of `Dataplane.link`. The ring options apply to ring links only. */
export interface LinkOptions {
  /**
   * Join two workers with a zero-copy ring pair instead of byte rings (ignored for engines on one
   * worker, whose direct links never copy). Frames an engine allocates with `ctx.allocFrame`, or
   * receives from a zero-copy link, cross it as descriptors without being copied; any other frame
   * is copied once into the sender's pool (counted as a copy). It never waits: back-pressure is
   * the sender's pool running low (`allocFrame` returns null). Takes `slots` (default: enough for
   * every pool frame, so the ring cannot fill) and `addr`, not the byte-ring options. Needs the
   * dataplane's frame pools (`DataplaneOptions.pool`, on by default).
   */
  zeroCopy?: boolean;
  /**
   * What a producer does when the ring is full: 'drop' (default, counted as `queue-full`) or
   * 'wait' for room, blocking its worker for up to `maxWaitMs` per frame before it drops. Two
   * workers linked both ways by full 'wait' rings stall each other for that long: use 'wait' where
   * traffic flows one way (a generator to a sink) or where the consumer never blocks.
   */
  policy?: 'drop' | 'wait';
  /** Slots per direction, a power of two from 2 to 2^20 (default 1024). */
  slots?: number;
  /** Bytes per slot including headroom, a multiple of 8 from 64 to 65536 (default 2048). */
  slotSize?: number;
  /** Bytes kept free before each frame in its slot (default 64). */
  headroom?: number;
  /** With 'wait': the longest one push may block its worker before it drops (default 10 ms). */
  maxWaitMs?: number;
  /**
   * Layer-3 links only: the address (`'10.0.1.2/24'`) of the device each side's engine sees.
   * An L3Hub routes that address (host route) and its prefix through the link, so give the hub's
   * side the address of what is behind the link.
   */
  addr?: { a?: string | null; b?: string | null };
}

/** Options of `new Dataplane`. */
export interface DataplaneOptions {
  /** Port workers to start (default `os.availableParallelism()`). */
  workers?: number;
  /** Plugin module URLs (or absolute paths), imported in every worker; see `DataplaneModule`. */
  modules?: readonly (string | URL)[];
  /** How long an idle worker polls its rings before it parks, in microseconds (default 10; 0 never spins). */
  spinUs?: number;
  /** Most frames taken from one ring per round (default 256). */
  batch?: number;
  /** The longest a busy worker runs rounds before it yields to its event loop, in ms (default 1). */
  yieldMs?: number;
  /** How long `close()` waits for a worker to exit before it terminates it, in ms (default 2000). */
  closeTimeoutMs?: number;
  /** The task pool (`dp.tasks`): most threads (default `max(1, availableParallelism() - 1)`). */
  taskThreads?: number;
  /**
   * Each worker's frame pool (shared memory every worker can read, one owner): what
   * `ctx.allocFrame` hands out and zero-copy links carry. `false` creates none (then
   * `allocFrame` always returns null and zero-copy links are refused). Default
   * `{ frames: 4096, frameSize: 2048, headroom: 64 }` (8 MiB per worker).
   */
  pool?: FramePoolOptions | false;
}

/** Sizes of the per-worker frame pools. */
export interface FramePoolOptions {
  /** Frames per worker, 1 to 2^22 (a zero-copy descriptor has 22 bits for the index; default 4096). */
  frames?: number;
  /** Bytes per frame, a multiple of 8 from 64 to 65528 (default 2048). */
  frameSize?: number;
  /** Bytes kept free before the data `allocFrame` returns, for headers prepended in place (default 64). */
  headroom?: number;
}

/** What the dataplane's `'error'` event carries: a worker died, and these engines with it. */
export interface WorkerErrorEvent {
  worker: number;
  engines: string[];
  error: Error;
}

// ---------------------------------------------------------------------------------------------
// Statistics (cold path: built on request)

/** A port worker's run-loop counters. */
export interface RunLoopStats {
  /** Rounds that found work (frames or deferred functions). */
  rounds: number;
  /** Frames taken from inbound rings. */
  frames: number;
  /** Deferred functions run (`ctx.defer`). */
  deferred: number;
  /** Times the idle spin found work before the worker parked. */
  spinHits: number;
  /** Times the worker parked on its doorbell. */
  parks: number;
  /** Times a busy worker yielded to its event loop. */
  yields: number;
  /** Frames whose handler threw (counted, the frame consumed, the loop goes on). */
  handlerErrors: number;
}

export interface EngineStatsEntry {
  id: string;
  kind: string;
  /** The engine's own `stats()`, or null when its worker is dead. */
  stats: unknown;
}

export interface WorkerStats {
  index: number;
  alive: boolean;
  engines: EngineStatsEntry[];
  /** The worker's `performance.eventLoopUtilization()` since it started (null once dead). */
  elu: { idle: number; active: number; utilization: number } | null;
  loop: RunLoopStats | null;
  /** The worker's frame pool (null once dead, or without pools). */
  pool: FramePoolStats | null;
}

/** One worker's frame pool, as its owner sees it (after taking back what was returned). */
export interface FramePoolStats {
  frames: number;
  frameSize: number;
  headroom: number;
  /** Frames free now. */
  free: number;
  /** Frames out of the pool: held by an engine, in flight on a link, or lost (below). */
  inUse: number;
  /** The most frames out at once. */
  highWater: number;
  /** Allocations that found no free frame: `ctx.allocFrame` returning null, or a fallback copy dropped. */
  exhausted: number;
  /** `ctx.allocFrame` calls with a length that is not an integer in [0, frameSize - headroom]. */
  tooBig: number;
  /** Frames of this pool that workers held when they died: they never come back (counted in `inUse`). */
  lost: number;
  /** Frames returned while already free, or with a bad index (a bug if nonzero; never freed twice). */
  doubleFrees: number;
  /** Frames of other workers' pools this worker finished and returned through a completion ring. */
  completionsSent: number;
  /** Frames of other pools this worker finished after their owner died (dropped with its pool). */
  completionsDiscarded: number;
  /** Descriptors received that named no frame (a bug if nonzero). */
  badDescriptors: number;
}

/** One direction of a ring link, read from its SharedArrayBuffer by the control thread. */
export interface RingDirectionStats {
  pushed: number;
  pushedBytes: number;
  consumed: number;
  consumedBytes: number;
  /** Frames published and not yet consumed. */
  inFlight: number;
  closed: boolean;
  /** Times the producer waited for room ('wait' policy). */
  waits: number;
  /** Times the consumer woke a producer waiting for room. */
  producerWakeups: number;
  /** Times producers woke the consumer's worker (its doorbell: shared by every ring it consumes). */
  consumerWakeups: number;
  /** Total drops, and the nonzero ones by reason name (`queue-full`, `too-big`, `closed`). */
  dropped: number;
  drops: Record<string, number>;
}

export interface LinkStats {
  id: string;
  a: string;
  b: string;
  mode: LinkMode;
  /** False once a worker at either end died (its rings are closed). */
  up: boolean;
  /** Each end's device counters (tx: sent by its engine, rx: handed to its engine); null if dead. */
  ends: { a: PortStats | null; b: PortStats | null };
  /**
   * Ring and zero-copy links: the a-to-b and b-to-a rings. For a zero-copy link, `pushed` and
   * `consumed` count descriptors, bytes are the frames' bytes, drops add `pool-empty` (no pool
   * frame for a copy), and `waits`/`producerWakeups` stay 0 (it never waits).
   */
  aToB: RingDirectionStats | null;
  bToA: RingDirectionStats | null;
  /** Zero-copy links: what each direction had to copy. */
  zeroCopy: { aToB: ZeroCopyDirectionStats; bToA: ZeroCopyDirectionStats } | null;
}

/** One direction of a zero-copy link: how often zero-copy did not apply. */
export interface ZeroCopyDirectionStats {
  /** Frames sent without a copy (their descriptor forwarded). */
  forwarded: number;
  /** Frames copied into the sender's pool first: not a live pool frame (an ordinary buffer, a byte-ring slot, a frame already forwarded once). */
  copies: number;
  copiedBytes: number;
}

export interface DataplaneStats {
  workers: WorkerStats[];
  links: LinkStats[];
}

// ---------------------------------------------------------------------------------------------
// The registry (worker side): how plugin modules add engine kinds

/** What a worker gives each engine it creates. */
export interface EngineContext {
  /** The engine's id (as in its EngineRef). */
  readonly id: string;
  /** The index of the worker running it. */
  readonly worker: number;
  /** The worker's clock (`systemClock`). */
  readonly clock: Clock;
  /**
   * Runs `fn` after the current batch of frames (or at the next round if none is running):
   * the way to produce traffic in bursts without starving the rings or the event loop. A
   * function that throws fails the worker.
   */
  defer(fn: () => void): void;
  /**
   * A frame to originate traffic in: a view of `len` bytes of a free frame of this worker's pool
   * (after the pool's headroom), or null when the pool is exhausted or `len` does not fit (both
   * counted in the pool's stats). Borrowed, as every buffer in pktkit: valid only until the
   * callback that allocated it returns (the handler call, deferred function or command). Sending
   * it on a zero-copy link passes the frame itself, without a copy; when the callback returns,
   * the runtime takes back every frame that was not passed on. Nothing to free by hand.
   */
  allocFrame(len: number): Uint8Array | null;
}

/** Tells an engine which link a device it is given belongs to. */
export interface AttachInfo {
  readonly link: string;
  /** The engine at the other end. */
  readonly peer: string;
  readonly mode: LinkMode;
}

/**
 * An engine, as it lives in a port worker. Every method is called on the worker's thread, never
 * concurrently. `D` is the device type of its layer.
 */
export interface Engine<D extends L2Device | L3Device = L2Device | L3Device> {
  /**
   * Takes a link endpoint, exactly as a device joins an L2Hub through `connectL2`: the engine
   * installs its handler on `dev` and sends into it. Returns what detaches it again.
   */
  attach(dev: D, info: AttachInfo): Cleanup;
  /** The engine's counters, structured-clonable. */
  stats(): unknown;
  /** An engine-specific command; payload and result are structured-clonable. */
  command?(name: string, payload: unknown): unknown;
  /** Releases the engine (its links are detached first). */
  close(): void | Promise<void>;
}

/** How to build one kind of engine. `options` come from the spec unchecked: validate them. */
export type EngineDefinition =
  | { layer: 2; create(options: unknown, ctx: EngineContext): Engine<L2Device> | Promise<Engine<L2Device>> }
  | { layer: 3; create(options: unknown, ctx: EngineContext): Engine<L3Device> | Promise<Engine<L3Device>> };

/** Given to each plugin module's default export, once per worker. */
export interface EngineRegistry {
  /**
   * Adds an engine kind. Every module must define the same kinds in every worker.
   * @throws {PktTypeError} on a bad definition or a kind already defined.
   */
  define(kind: string, def: EngineDefinition): void;
}

/** A plugin module's default export. */
export type DataplaneModule = (registry: EngineRegistry) => void | Promise<void>;
