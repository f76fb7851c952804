/**
 * The port worker: runs engines and moves frames between them and the rings of its links.
 * `workers/port-worker.ts` only calls `startPortWorker()`.
 *
 * The run loop, one round after another:
 *
 *   round:  take back the pool frames other workers returned (completion rings)
 *           for each inbound ring: hand up to `batch` frames to its device's handler, in place
 *           (a bounded batch per ring, so one busy ring cannot starve the others); zero-copy
 *           links likewise, each frame a view into its owner's pool, given back to the owner
 *           after its handler unless it was forwarded
 *           run the functions engines deferred (`ctx.defer`: traffic in bursts)
 *           publish every outbound ring once (one HEAD store each, a doorbell ring if the peer
 *           is parked), and the completion rings
 *   busy:   after `yieldMs` of back-to-back rounds, yield to the event loop (setImmediate), so
 *           engine timers (L2Hub aging) and control messages run under constant traffic
 *   idle:   spin up to `spinUs`, watching the inbound rings (a wake costs 30-60 us, a look at a
 *           ring well under 1 us; on 2 cores nothing spins longer than that)
 *   park:   doorbell.prepare(), look once more, then await doorbell.parkAsync(seq): the thread
 *           sleeps in Atomics.waitAsync, so its event loop still runs timers and messages; a
 *           producer that publishes into one of our rings rings the doorbell and wakes it
 *
 * Control messages (create, link, unlink, command, stats, close) are handled by the event loop,
 * so only while the loop is yielding or parked: always between two rounds. One that changes what
 * the loop must look at (a new ring, deferred work) wakes a parked loop with `doorbell.wake()`.
 *
 * Engines never see a promise or an event per packet: frames arrive as synchronous handler calls
 * with a view of the ring slot. The allocation per frame is at most the slot view, cached per
 * slot by the ring.
 *
 * Frame scopes (frame-broker.ts): frames an engine allocates with `ctx.allocFrame` are held until
 * the callback ends: after each deferred function, after each zero-copy frame's handler, after
 * each byte ring's batch, at the end of the round, and (for callbacks outside a round: timers,
 * commands) in the publish microtask. There the frames that were not forwarded zero-copy go back
 * to the pool.
 */

import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { Doorbell } from '../../rings/index.js';
import { systemClock } from '../core/clock.js';
import { loadNative } from '../native/index.js';
import type { Cleanup } from '../core/device.js';
import type { PortStats } from '../core/stats.js';
import { ConfigError, PktTypeError } from '../errors.js';
import { directL2Pair, directL3Pair, type DirectL2Device, type DirectL3Device } from './direct-device.js';
import { serializeError } from './errors.js';
import { FrameBroker } from './frame-broker.js';
import type { PortWorkerData, Reply, Request, WorkerEvent, WorkerStatsReply } from './protocol.js';
import { builtinRegistry, checkBuiltinOptions, type Registry } from './registry.js';
import { RingL2Device, RingL3Device, type PublishHook } from './ring-device.js';
import type { DataplaneModule, Engine, EngineContext, Layer, RunLoopStats } from './types.js';
import { ZeroCopyL2Device, ZeroCopyL3Device } from './zero-copy-device.js';

/** A parked loop looks at its rings at least this often, whatever happens to wake-ups. */
const PARK_TIMEOUT_MS = 1000;

// Run-loop counters (Float64Array indices).
const ROUNDS = 0;
const FRAMES = 1;
const DEFERRED = 2;
const SPIN_HITS = 3;
const PARKS = 4;
const YIELDS = 5;
const HANDLER_ERRORS = 6;

type RingDevice = RingL2Device | RingL3Device;
type ZeroCopyDevice = ZeroCopyL2Device | ZeroCopyL3Device;
type LinkDevice = RingDevice | ZeroCopyDevice | DirectL2Device | DirectL3Device;

interface EngineSlot {
  id: string;
  kind: string;
  layer: Layer;
  engine: Engine;
}

/** One end of a link on this worker. A direct link has both ends here. */
interface LinkEnd {
  link: string;
  engine: string;
  device: LinkDevice;
  ring: RingDevice | null;
  zc: ZeroCopyDevice | null;
  cleanup: Cleanup | null;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class PortWorkerRuntime implements PublishHook {
  inRound = false;
  private readonly index: number;
  private readonly doorbell: Doorbell;
  private readonly spinMs: number;
  private readonly batch: number;
  private readonly yieldMs: number;
  private readonly registry: Registry;
  private readonly port: MessagePort;
  private readonly engines = new Map<string, EngineSlot>();
  private readonly links = new Map<string, LinkEnd[]>();
  /** Ring endpoints: each has an inbound ring to drain and an outbound ring to publish. */
  private rings: RingDevice[] = [];
  /** Zero-copy endpoints (their outbound rings are published by the broker). */
  private zc: ZeroCopyDevice[] = [];
  /** Zero-copy endpoints unlinked here, waiting for 'zc-drain' to give back what is in their ring. */
  private readonly closedZc = new Map<string, ZeroCopyDevice[]>();
  /** This worker's side of the frame pools (null: the dataplane has none). */
  private readonly broker: FrameBroker | null;
  private readonly allocFrame: (len: number) => Uint8Array | null;
  private deferred: (() => void)[] = [];
  private spare: (() => void)[] = [];
  private readonly peerBells = new Map<number, Doorbell>();
  private readonly counters = new Float64Array(7);
  private parked = false;
  private stopping = false;
  private publishQueued = false;
  private running: Promise<void> = Promise.resolve();

  constructor(data: PortWorkerData, registry: Registry, port: MessagePort) {
    this.index = data.index;
    this.doorbell = new Doorbell(data.doorbell);
    this.spinMs = data.spinUs / 1000;
    this.batch = data.batch;
    this.yieldMs = data.yieldMs;
    this.registry = registry;
    this.port = port;
    const broker =
      data.pools !== null && data.holdings !== null ? new FrameBroker(data.index, data.pools, data.poolHeadroom, data.holdings, data.holdingsStride, this) : null;
    this.broker = broker;
    this.allocFrame = broker !== null ? (len) => broker.alloc(len) : () => null;
  }

  /** Starts the run loop and the message handler. A run loop that throws fails the worker. */
  start(): void {
    this.port.on('message', this.onMessage);
    this.running = this.run().catch((err: unknown) => {
      // An engine's deferred function threw: the worker's state is not to be trusted. Fail the
      // worker as an uncaught exception would, so that the control thread reports it.
      process.nextTick(() => {
        throw err;
      });
    });
  }

  // -------------------------------------------------------------------------------------------
  // The run loop

  private async run(): Promise<void> {
    const c = this.counters;
    let lastYield = performance.now();
    while (!this.stopping) {
      if (this.round() > 0) {
        c[ROUNDS]!++;
        if (performance.now() - lastYield >= this.yieldMs) {
          c[YIELDS]!++;
          await yieldToEventLoop();
          lastYield = performance.now();
        }
        continue;
      }
      if (this.spin()) {
        c[SPIN_HITS]!++;
        continue;
      }
      const seq = this.doorbell.prepare();
      if (this.hasWork() || this.stopping) {
        this.doorbell.cancel();
        continue;
      }
      c[PARKS]!++;
      this.parked = true;
      await this.doorbell.parkAsync(seq, PARK_TIMEOUT_MS);
      this.parked = false;
      lastYield = performance.now();
    }
  }

  /** One round; returns the work done (frames plus deferred functions). */
  private round(): number {
    this.inRound = true;
    const broker = this.broker;
    const batch = this.batch;
    let n = 0;
    try {
      if (broker !== null) broker.reclaim();
      const rings = this.rings;
      for (let i = 0; i < rings.length; i++) {
        const r = rings[i]!;
        try {
          n += r.drain(batch);
        } catch {
          r.handlerThrew();
          this.counters[HANDLER_ERRORS]!++;
          n++;
        }
        if (broker !== null) this.scopeEnded(broker);
      }
      const zc = this.zc;
      for (let i = 0; i < zc.length; i++) {
        const z = zc[i]!;
        try {
          n += z.drain(batch);
        } catch {
          z.handlerThrew();
          this.counters[HANDLER_ERRORS]!++;
          n++;
        }
      }
      this.counters[FRAMES]! += n;
      if (this.deferred.length > 0) n += this.runDeferred();
    } finally {
      // Also when a deferred function throws (the worker is about to fail): what was sent goes out.
      if (broker !== null) broker.endScope();
      this.publishAll();
      this.inRound = false;
    }
    return n;
  }

  /** A callback's scope ended: frees what it allocated and did not forward; publishes if due. */
  private scopeEnded(broker: FrameBroker): void {
    if (broker.allocated !== 0) broker.endScope();
    if (broker.publishDue) broker.publish();
  }

  private runDeferred(): number {
    const q = this.deferred;
    this.deferred = this.spare;
    this.spare = q;
    const broker = this.broker;
    for (let i = 0; i < q.length; i++) {
      q[i]!();
      if (broker !== null) this.scopeEnded(broker);
    }
    const n = q.length;
    q.length = 0;
    this.counters[DEFERRED]! += n;
    return n;
  }

  private publishAll(): void {
    const rings = this.rings;
    for (let i = 0; i < rings.length; i++) rings[i]!.producer.publish();
    if (this.broker !== null) this.broker.publish();
  }

  private hasInbound(): boolean {
    const rings = this.rings;
    for (let i = 0; i < rings.length; i++) if (rings[i]!.available() > 0) return true;
    const zc = this.zc;
    for (let i = 0; i < zc.length; i++) if (zc[i]!.available() > 0) return true;
    return false;
  }

  private hasWork(): boolean {
    return this.deferred.length > 0 || this.hasInbound();
  }

  /**
   * Polls the inbound rings for up to `spinUs`; true when one has frames. The clock is read every
   * 16 looks only: `performance.now()` costs about 60 ns here and allocates a heap number.
   */
  private spin(): boolean {
    if (this.spinMs <= 0) return false;
    const until = performance.now() + this.spinMs;
    for (let i = 1; ; i++) {
      if (this.hasInbound()) return true;
      if ((i & 15) === 0 && performance.now() >= until) return false;
    }
  }

  /** Wakes the loop if it is parked (something for it to look at arrived off the rings). */
  private kick(): void {
    if (this.parked) this.doorbell.wake();
  }

  /** PublishHook: a ring device was sent a frame outside a round. */
  schedulePublish(): void {
    if (this.publishQueued) return;
    this.publishQueued = true;
    queueMicrotask(this.flush);
  }

  private readonly flush = (): void => {
    this.publishQueued = false;
    // Frames allocated outside a round (a timer, a command) end their scope here: the callback
    // that allocated them has returned by the time a microtask runs.
    if (this.broker !== null) this.broker.endScope();
    this.publishAll();
  };

  private readonly defer = (fn: () => void): void => {
    this.deferred.push(fn);
    this.kick();
  };

  // -------------------------------------------------------------------------------------------
  // Control messages

  private readonly onMessage = (m: Request): void => {
    void this.handle(m);
  };

  private async handle(m: Request): Promise<void> {
    let reply: Reply;
    try {
      reply = { type: 'reply', id: m.id, ok: true, value: await this.dispatch(m) };
    } catch (err) {
      reply = { type: 'reply', id: m.id, ok: false, error: serializeError(err) };
    }
    try {
      this.port.postMessage(reply);
    } catch (err) {
      const e = new PktTypeError(`dataplane: the result of ${m.op} is not structured-clonable (${(err as Error).message})`);
      this.port.postMessage({ type: 'reply', id: m.id, ok: false, error: serializeError(e) } satisfies Reply);
    }
    if (m.op === 'close') {
      this.port.off('message', this.onMessage);
      this.port.close();
    }
  }

  private async dispatch(m: Request): Promise<unknown> {
    switch (m.op) {
      case 'create':
        return this.create(m.engine, m.kind, m.options);
      case 'link-ring':
        return this.linkRing(m);
      case 'link-direct':
        return this.linkDirect(m);
      case 'link-zc':
        return this.linkZc(m);
      case 'zc-completions':
        return this.addCompletions(m);
      case 'zc-drain':
        return this.drainClosed(m.link);
      case 'unlink':
        for (const end of this.links.get(m.link) ?? []) this.detach(end);
        return null;
      case 'command': {
        const slot = this.slot(m.engine);
        if (typeof slot.engine.command !== 'function') throw new PktTypeError(`dataplane: engine ${slot.id} (${slot.kind}) takes no commands`);
        const result: unknown = await slot.engine.command(m.name, m.payload);
        this.kick();
        return result;
      }
      case 'stats':
        return this.stats();
      case 'close':
        return this.close();
    }
  }

  private slot(id: string): EngineSlot {
    const s = this.engines.get(id);
    if (s === undefined) throw new PktTypeError(`dataplane: worker ${this.index} runs no engine ${id}`);
    return s;
  }

  private async create(id: string, kind: string, options: unknown): Promise<null> {
    if (this.engines.has(id)) throw new PktTypeError(`dataplane: engine id ${id} is taken`);
    const def = this.registry.kinds.get(kind);
    if (def === undefined) throw new ConfigError(`dataplane: unknown engine kind '${kind}' (expected one of ${[...this.registry.kinds.keys()].join(', ')})`);
    checkBuiltinOptions(kind, options);
    const ctx: EngineContext = { id, worker: this.index, clock: systemClock, defer: this.defer, allocFrame: this.allocFrame };
    const engine = (await def.create(options, ctx)) as Engine;
    if (engine === null || typeof engine !== 'object' || typeof engine.attach !== 'function' || typeof engine.stats !== 'function' || typeof engine.close !== 'function') {
      throw new PktTypeError(`dataplane: create() of kind '${kind}' must return an engine { attach, stats, close }`);
    }
    this.engines.set(id, { id, kind, layer: def.layer, engine });
    return null;
  }

  private peerBell(worker: number, sab: SharedArrayBuffer): Doorbell {
    let bell = this.peerBells.get(worker);
    if (bell === undefined || bell.sab !== sab) {
      bell = new Doorbell(sab);
      this.peerBells.set(worker, bell);
    }
    return bell;
  }

  private linkRing(m: Extract<Request, { op: 'link-ring' }>): null {
    const slot = this.slot(m.engine);
    if (slot.layer !== m.layer) throw new ConfigError(`dataplane: engine ${slot.id} is layer ${slot.layer}, link ${m.link} is layer ${m.layer}`);
    const opts = { out: m.out, in: m.in, peerDoorbell: this.peerBell(m.peerWorker, m.peerDoorbell), policy: m.policy, maxWaitMs: m.maxWaitMs };
    const dev = m.layer === 2 ? new RingL2Device(opts, this) : new RingL3Device(opts, this, m.addr);
    const end: LinkEnd = { link: m.link, engine: slot.id, device: dev, ring: dev, zc: null, cleanup: null };
    try {
      end.cleanup = slot.engine.attach(dev, { link: m.link, peer: m.peer, mode: 'ring' });
    } catch (err) {
      dev.close();
      throw err;
    }
    this.addEnd(end);
    this.rings = [...this.rings, dev];
    this.kick();
    return null;
  }

  private linkZc(m: Extract<Request, { op: 'link-zc' }>): null {
    const broker = this.broker;
    if (broker === null) throw new ConfigError(`dataplane: worker ${this.index} has no frame pool for zero-copy link ${m.link}`);
    const slot = this.slot(m.engine);
    if (slot.layer !== m.layer) throw new ConfigError(`dataplane: engine ${slot.id} is layer ${slot.layer}, link ${m.link} is layer ${m.layer}`);
    const opts = { out: m.out, in: m.in, outCounters: m.outCounters, inCounters: m.inCounters, peerDoorbell: this.peerBell(m.peerWorker, m.peerDoorbell) };
    const dev = m.layer === 2 ? new ZeroCopyL2Device(opts, broker, this) : new ZeroCopyL3Device(opts, broker, this, m.addr);
    const end: LinkEnd = { link: m.link, engine: slot.id, device: dev, ring: null, zc: dev, cleanup: null };
    try {
      end.cleanup = slot.engine.attach(dev, { link: m.link, peer: m.peer, mode: 'zero-copy' });
    } catch (err) {
      dev.close();
      this.closedZc.set(m.link, [...(this.closedZc.get(m.link) ?? []), dev]);
      throw err;
    }
    this.addEnd(end);
    broker.addPort(dev);
    this.zc = [...this.zc, dev];
    this.kick();
    return null;
  }

  private addCompletions(m: Extract<Request, { op: 'zc-completions' }>): null {
    const broker = this.broker;
    if (broker === null) throw new ConfigError(`dataplane: worker ${this.index} has no frame pool`);
    for (const c of m.out) broker.addCompletionOut(c.owner, c.ring);
    for (const r of m.in) broker.addCompletionIn(r);
    return null;
  }

  /** Gives back the frames left in the inbound rings of a zero-copy link unlinked here. */
  private drainClosed(link: string): number {
    const devs = this.closedZc.get(link) ?? [];
    this.closedZc.delete(link);
    let n = 0;
    for (const d of devs) n += d.drainClosed();
    if (n > 0) this.broker?.publish();
    return n;
  }

  private linkDirect(m: Extract<Request, { op: 'link-direct' }>): null {
    const a = this.slot(m.a);
    const b = this.slot(m.b);
    if (a.layer !== m.layer || b.layer !== m.layer) throw new ConfigError(`dataplane: link ${m.link} is layer ${m.layer}, engines are layers ${a.layer} and ${b.layer}`);
    const [da, db] = m.layer === 2 ? directL2Pair() : directL3Pair(m.addrA, m.addrB);
    const ea: LinkEnd = { link: m.link, engine: a.id, device: da, ring: null, zc: null, cleanup: null };
    const eb: LinkEnd = { link: m.link, engine: b.id, device: db, ring: null, zc: null, cleanup: null };
    try {
      ea.cleanup = a.engine.attach(da, { link: m.link, peer: b.id, mode: 'direct' });
      eb.cleanup = b.engine.attach(db, { link: m.link, peer: a.id, mode: 'direct' });
    } catch (err) {
      ea.cleanup?.();
      da.close();
      db.close();
      throw err;
    }
    this.addEnd(ea);
    this.addEnd(eb);
    return null;
  }

  private addEnd(end: LinkEnd): void {
    const list = this.links.get(end.link);
    if (list === undefined) this.links.set(end.link, [end]);
    else list.push(end);
  }

  /** Detaches one end: the engine lets go of the device, the device closes (and its rings). */
  private detach(end: LinkEnd): void {
    const list = this.links.get(end.link);
    if (list !== undefined) {
      const rest = list.filter((e) => e !== end);
      if (rest.length === 0) this.links.delete(end.link);
      else this.links.set(end.link, rest);
    }
    if (end.ring !== null) {
      end.ring.producer.publish();
      this.rings = this.rings.filter((r) => r !== end.ring);
    }
    const zc = end.zc;
    if (zc !== null) {
      this.zc = this.zc.filter((r) => r !== zc);
      this.broker?.removePort(zc);
      this.closedZc.set(end.link, [...(this.closedZc.get(end.link) ?? []), zc]);
    }
    try {
      end.cleanup?.();
    } finally {
      end.cleanup = null;
      void end.device.close();
    }
  }

  private stats(): WorkerStatsReply {
    const engines = [...this.engines.values()].map((s) => {
      let stats: unknown;
      try {
        stats = s.engine.stats();
      } catch (err) {
        stats = { error: (err as Error).message };
      }
      return { id: s.id, kind: s.kind, stats };
    });
    const ends: Record<string, Record<string, PortStats>> = {};
    for (const [link, list] of this.links) {
      const byEngine: Record<string, PortStats> = {};
      for (const e of list) byEngine[e.engine] = e.device.stats();
      ends[link] = byEngine;
    }
    return { engines, loop: this.loopStats(), ends, pool: this.broker?.stats() ?? null };
  }

  private loopStats(): RunLoopStats {
    const c = this.counters;
    return {
      rounds: c[ROUNDS]!,
      frames: c[FRAMES]!,
      deferred: c[DEFERRED]!,
      spinHits: c[SPIN_HITS]!,
      parks: c[PARKS]!,
      yields: c[YIELDS]!,
      handlerErrors: c[HANDLER_ERRORS]!,
    };
  }

  /** Stops the loop, detaches every link, closes every engine. Errors are collected, not fatal. */
  private async close(): Promise<null> {
    this.stopping = true;
    this.kick();
    await this.running;
    const errors: unknown[] = [];
    for (const list of [...this.links.values()]) {
      for (const end of list) {
        try {
          this.detach(end);
        } catch (err) {
          errors.push(err);
        }
      }
    }
    for (const s of this.engines.values()) {
      try {
        await s.engine.close();
      } catch (err) {
        errors.push(err);
      }
    }
    this.engines.clear();
    if (errors.length > 0) throw new AggregateError(errors, `dataplane: worker ${this.index}: ${errors.length} engine(s) failed to close`);
    return null;
  }
}

/**
 * The port worker's entry: imports the plugin modules, registers their kinds, starts the run
 * loop and tells the control thread which kinds it knows.
 */
export async function startPortWorker(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('dataplane: the port worker must run in a worker thread');
  const data = workerData as PortWorkerData;
  // Loads the native addon when it is built, which lets this worker's ring producers kick
  // consumers that park in native waits (TUN, AF_XDP and UDP threads: rings/doorbell.ts).
  loadNative();
  const registry = builtinRegistry();
  for (const url of data.modules) {
    try {
      const mod = (await import(url)) as { default?: unknown };
      if (typeof mod.default !== 'function') throw new ConfigError(`dataplane: module ${url} must export default (registry) => void`);
      await (mod.default as DataplaneModule)(registry);
    } catch (err) {
      const e = err instanceof ConfigError ? err : new ConfigError(`dataplane: module ${url} failed to load: ${(err as Error).message}`, { cause: err });
      port.postMessage({ type: 'init-error', error: serializeError(e) } satisfies WorkerEvent);
      port.close();
      return;
    }
  }
  new PortWorkerRuntime(data, registry, port).start();
  port.postMessage({ type: 'ready', kinds: registry.list() } satisfies WorkerEvent);
}
