/**
 * The control thread's side of the frame pools and zero-copy links: it creates one pool per
 * worker at start (every worker gets every pool's descriptor, so any worker can read any pool's
 * frames and owns its own), the completion rings between the workers that take part in zero-copy
 * links, and the descriptor rings of each zero-copy link; it reads their counters for `stats()`
 * and counts what a dead worker took with it.
 *
 * Completion rings: a frame can travel several hops (owner -> A -> B) and the last holder returns
 * it straight to its owner, so every ordered pair of participants (X, Y) has a ring through which
 * X returns Y's frames. They are created when a zero-copy link brings in a new participant and
 * installed in the workers before that `link()` resolves. Each holds at most the owner's frame
 * count, so it never fills. Participants are added one setup at a time (a promise chain), so two
 * concurrent `link()` calls never create the same ring twice.
 *
 * A dead worker: its completion rings are closed (a frame of its pool that a survivor finishes is
 * discarded, counted by that survivor), and the frames of live pools it held are lost: its row of
 * the holdings array (what it was responsible for) plus what is left in the zero-copy rings that
 * led to it. Exact when it died between two rounds (an uncaught exception, process.exit from a
 * timer), which is how workers die here; a worker terminated in the middle of a round may leave a
 * few frames uncounted.
 */

import {
  closeIndexRing,
  createFramePool,
  createIndexRing,
  indexRingStats,
  pendingDescriptors,
  MAX_FRAME_SIZE,
  type Doorbell,
  type FramePoolDescriptor,
  type IndexRingDescriptor,
} from '../../rings/index.js';
import { ConfigError, PktRangeError, PktTypeError } from '../errors.js';
import { DESC_POOL_SHIFT, MAX_POOLS, MAX_POOL_FRAMES, holdingsStride } from './frame-broker.js';
import type { BrokerPoolStats } from './frame-broker.js';
import type { FramePoolOptions, FramePoolStats, RingDirectionStats, ZeroCopyDirectionStats } from './types.js';
import { ZC_COUNTER_BYTES, ZcStat } from './zero-copy-device.js';

const DEFAULT_POOL_FRAMES = 4096;
const DEFAULT_FRAME_SIZE = 2048;
const DEFAULT_POOL_HEADROOM = 64;
/** Largest descriptor ring (createIndexRing's bound). */
const MAX_RING_SLOTS = 1 << 22;

export interface PoolConfig {
  frames: number;
  frameSize: number;
  headroom: number;
}

function int(name: string, v: unknown, min: number, max: number, why = ''): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new PktRangeError(`Dataplane pool.${name}: expected an integer in [${min}, ${max}]${why}, got ${String(v)}`);
  }
  return v;
}

/**
 * Checks the `pool` option against the descriptor format (frame index in 22 bits, pool id above
 * it, offsets and lengths in 16 bits). Returns null for `pool: false`.
 * @throws {PktTypeError} for a malformed option; {PktRangeError} for a size out of range.
 */
export function checkPoolOptions(opt: FramePoolOptions | false | undefined, workers: number): PoolConfig | null {
  if (opt === false) return null;
  const o = opt ?? {};
  if (o === null || typeof o !== 'object') throw new PktTypeError(`Dataplane pool: expected { frames?, frameSize?, headroom? } or false, got ${o === null ? 'null' : typeof o}`);
  for (const k of Object.keys(o)) {
    if (k !== 'frames' && k !== 'frameSize' && k !== 'headroom') throw new PktTypeError(`Dataplane pool: unknown option '${k}' (expected frames, frameSize, headroom)`);
  }
  if (workers > MAX_POOLS) throw new PktRangeError(`Dataplane pool: a zero-copy descriptor names at most ${MAX_POOLS} pools (one per worker), got ${workers} workers`);
  const frames = int('frames', o.frames ?? DEFAULT_POOL_FRAMES, 1, MAX_POOL_FRAMES, ' (the frame index has 22 bits in a zero-copy descriptor)');
  const frameSize = int('frameSize', o.frameSize ?? DEFAULT_FRAME_SIZE, 64, MAX_FRAME_SIZE, ' (offsets and lengths have 16 bits)');
  if (frameSize % 8 !== 0) throw new PktRangeError(`Dataplane pool.frameSize: expected a multiple of 8, got ${frameSize}`);
  const headroom = int('headroom', o.headroom ?? Math.min(DEFAULT_POOL_HEADROOM, frameSize / 2), 0, frameSize - 1);
  if (frames * frameSize > 2 ** 31) throw new PktRangeError(`Dataplane pool: frames * frameSize must be at most 2 GiB, got ${frames} * ${frameSize}`);
  return { frames, frameSize, headroom };
}

/** The checked `slots` of a zero-copy link: default, enough for every frame of every pool. */
export function zeroCopySlots(requested: number | undefined, cfg: PoolConfig, workers: number): number {
  if (requested === undefined) {
    let n = 2;
    const want = Math.min(MAX_RING_SLOTS, cfg.frames * workers);
    while (n < want) n *= 2;
    return n;
  }
  if (typeof requested !== 'number' || !Number.isInteger(requested) || requested < 2 || requested > MAX_RING_SLOTS || (requested & (requested - 1)) !== 0) {
    throw new PktRangeError(`dataplane.link slots: a zero-copy link takes a power of two in [2, ${MAX_RING_SLOTS}], got ${String(requested)}`);
  }
  return requested;
}

/** Byte-ring options a zero-copy link refuses, and why. */
export function checkZeroCopyOptions(opts: Record<string, unknown>): void {
  for (const k of ['slotSize', 'headroom', 'maxWaitMs']) {
    if (opts[k] !== undefined) throw new ConfigError(`dataplane.link: ${k} is a byte-ring option; a zero-copy link carries descriptors (frames stay in the pools)`);
  }
  if (opts['policy'] === 'wait') {
    throw new ConfigError("dataplane.link: a zero-copy link never waits (policy 'wait'); back-pressure is the sender's pool (ctx.allocFrame returns null)");
  }
}

/** The rings of one zero-copy link: a-to-b and b-to-a, each with its counters. */
export interface ZeroCopyRings {
  ab: IndexRingDescriptor;
  ba: IndexRingDescriptor;
  abCounters: SharedArrayBuffer;
  baCounters: SharedArrayBuffer;
}

/** What one worker installs when participants are added. */
export interface CompletionInstall {
  out: { owner: number; ring: IndexRingDescriptor }[];
  in: IndexRingDescriptor[];
}

export class ZeroCopyControl {
  readonly cfg: PoolConfig;
  readonly pools: FramePoolDescriptor[];
  readonly holdings: SharedArrayBuffer;
  readonly stride: number;
  private readonly holdingsView: Int32Array;
  private readonly workers: number;
  private readonly participants = new Set<number>();
  /** Completion rings by `${from}>${owner}`. */
  private readonly completions = new Map<string, IndexRingDescriptor>();
  /** Zero-copy rings consumed by each worker (until a 'zc-drain' there empties them). */
  private readonly ringsInto = new Map<number, Set<IndexRingDescriptor>>();
  /** Rings into dead workers: what is left in them never comes back. */
  private readonly stranded: IndexRingDescriptor[] = [];
  private readonly dead = new Set<number>();
  private setup: Promise<void> = Promise.resolve();

  constructor(cfg: PoolConfig, workers: number) {
    this.cfg = cfg;
    this.workers = workers;
    this.pools = Array.from({ length: workers }, () => createFramePool(cfg.frames, cfg.frameSize));
    this.stride = holdingsStride(workers);
    this.holdings = new SharedArrayBuffer(workers * this.stride * 4);
    this.holdingsView = new Int32Array(this.holdings);
  }

  /** A new zero-copy ring pair for a link between workers `a` and `b`. */
  createLinkRings(slots: number, a: number, b: number): ZeroCopyRings {
    const r: ZeroCopyRings = {
      ab: createIndexRing(slots),
      ba: createIndexRing(slots),
      abCounters: new SharedArrayBuffer(ZC_COUNTER_BYTES),
      baCounters: new SharedArrayBuffer(ZC_COUNTER_BYTES),
    };
    this.into(b).add(r.ab);
    this.into(a).add(r.ba);
    return r;
  }

  private into(w: number): Set<IndexRingDescriptor> {
    let s = this.ringsInto.get(w);
    if (s === undefined) {
      s = new Set();
      this.ringsInto.set(w, s);
    }
    return s;
  }

  /** Worker `w` gave back what its closed link left in `ring` ('zc-drain'). */
  drained(w: number, ring: IndexRingDescriptor): void {
    this.ringsInto.get(w)?.delete(ring);
  }

  /**
   * Makes `ws` participants: creates the completion rings between them and every live
   * participant and has `install` put them in the workers. Serialized; resolves once installed.
   */
  addParticipants(ws: readonly number[], alive: (w: number) => boolean, install: (w: number, c: CompletionInstall) => Promise<unknown>): Promise<void> {
    const run = this.setup.then(async () => {
      const fresh = [...new Set(ws)].filter((w) => !this.participants.has(w) && alive(w));
      if (fresh.length === 0) return;
      const members = [...[...this.participants].filter(alive), ...fresh];
      const plan = new Map<number, CompletionInstall>();
      const made: string[] = [];
      const at = (w: number): CompletionInstall => {
        let p = plan.get(w);
        if (p === undefined) {
          p = { out: [], in: [] };
          plan.set(w, p);
        }
        return p;
      };
      for (const x of members) {
        for (const y of members) {
          const key = `${x}>${y}`;
          if (x === y || !(fresh.includes(x) || fresh.includes(y)) || this.completions.has(key)) continue;
          let slots = 2;
          while (slots < this.cfg.frames) slots *= 2;
          const ring = createIndexRing(slots);
          this.completions.set(key, ring);
          made.push(key);
          at(x).out.push({ owner: y, ring });
          at(y).in.push(ring);
        }
      }
      try {
        await Promise.all([...plan].map(([w, c]) => install(w, c)));
      } catch (err) {
        // Half installed: close what was made, so that a later attempt starts afresh.
        for (const key of made) {
          const ring = this.completions.get(key);
          if (ring !== undefined) closeIndexRing(ring);
          this.completions.delete(key);
        }
        throw err;
      }
      for (const w of fresh) this.participants.add(w);
    });
    this.setup = run.catch(() => {});
    return run;
  }

  /** Worker `w` died: close its completion rings, remember what it left in the rings into it. */
  workerDied(w: number): void {
    if (this.dead.has(w)) return;
    this.dead.add(w);
    this.participants.delete(w);
    for (const [key, ring] of this.completions) {
      const [from, owner] = key.split('>').map(Number);
      if (from === w || owner === w) closeIndexRing(ring);
    }
    for (const ring of this.ringsInto.get(w) ?? []) this.stranded.push(ring);
    this.ringsInto.delete(w);
  }

  /** Frames of pool `p` that dead workers took with them. */
  lost(p: number): number {
    let n = 0;
    for (const d of this.dead) if (d !== p) n += Atomics.load(this.holdingsView, d * this.stride + p);
    for (const ring of this.stranded) {
      const desc = pendingDescriptors(ring);
      for (let k = 0; k < desc.length; k += 2) if (desc[k]! >>> DESC_POOL_SHIFT === p) n++;
    }
    return n;
  }

  /** Pool `w`'s stats from its worker's reply. */
  poolStats(w: number, r: BrokerPoolStats): FramePoolStats {
    const c = this.cfg;
    return {
      frames: c.frames,
      frameSize: c.frameSize,
      headroom: c.headroom,
      free: r.free,
      inUse: r.inUse,
      highWater: r.highWater,
      exhausted: r.exhausted,
      tooBig: r.tooBig,
      lost: this.lost(w),
      doubleFrees: r.doubleFrees,
      completionsSent: r.completionsSent,
      completionsDiscarded: r.completionsDiscarded,
      badDescriptors: r.badDescriptors,
    };
  }

  get poolCount(): number {
    return this.workers;
  }
}

/** One direction of a zero-copy link, read from shared memory: the ring part and the copies. */
export function zeroCopyDirection(ring: IndexRingDescriptor, counters: SharedArrayBuffer, consumerBell: Doorbell): [RingDirectionStats, ZeroCopyDirectionStats] {
  const s = indexRingStats(ring);
  const c = new Float64Array(counters, 0, ZC_COUNTER_BYTES / 8);
  const drops: Record<string, number> = {};
  const add = (name: string, n: number): void => {
    if (n > 0) drops[name] = n;
  };
  const tooBig = c[ZcStat.DropTooBig]!;
  const poolEmpty = c[ZcStat.DropPoolEmpty]!;
  add('queue-full', s.dropFull);
  add('too-big', tooBig);
  add('closed', s.dropClosed);
  add('pool-empty', poolEmpty);
  const copies = c[ZcStat.Copies]!;
  return [
    {
      pushed: s.pushed,
      pushedBytes: c[ZcStat.PushedBytes]!,
      consumed: s.consumed,
      consumedBytes: c[ZcStat.ConsumedBytes]!,
      inFlight: s.inFlight,
      closed: s.closed,
      waits: 0,
      producerWakeups: 0,
      consumerWakeups: consumerBell.wakeups,
      dropped: s.dropFull + s.dropClosed + tooBig + poolEmpty,
      drops,
    },
    { forwarded: s.pushed - copies, copies, copiedBytes: c[ZcStat.CopiedBytes]! },
  ];
}
