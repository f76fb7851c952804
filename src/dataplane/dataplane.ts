/**
 * Dataplane: the control thread's view of a multi-core packet engine. It owns the topology
 * (which engines exist, which worker runs each, which links join them) and never touches a
 * packet.
 *
 *   control thread (Dataplane)                port workers (worker-runtime.ts)
 *   --------------------------                -------------------------------
 *   create(spec)      --message-->            engine = registry[kind].create(options, ctx)
 *   link(a, b)        --message-->  worker A: RingL2Device(out: A->B, in: B->A) attached to a
 *                     --message-->  worker B: RingL2Device(out: B->A, in: A->B) attached to b
 *                                   frames:  A --[ SPSC ring in a SharedArrayBuffer ]--> B
 *   stats()           reads the rings' counters from shared memory, asks workers for engines'
 *   'error' event     <-- a worker threw or exited: its links go down (rings closed)
 *
 * Engines on one worker are linked directly (a pair of in-memory devices, no copy). Engines on
 * two workers get one ring per direction; each side's producer rings the other worker's doorbell.
 * With `zeroCopy`, the rings carry descriptors of frames in the workers' frame pools (one pool per
 * worker, created here at start; zero-copy-control.ts keeps the pools' bookkeeping) instead of
 * the frames' bytes.
 *
 * Failure: a worker that throws (uncaught) or exits is reported once through the `'error'` event
 * with the ids of the engines it ran (as with any EventEmitter, an `'error'` with no listener is
 * thrown). Every link touching it goes down: both rings are closed, so the peers count what they
 * send as dropped (`closed`) instead of filling the ring; the other workers and links run on.
 * Requests to a dead worker reject with WorkerDeadError. Its frame pool goes with it: survivors
 * drop the frames of that pool they still hold when they are done with them (counted as
 * `completionsDiscarded`), and frames of live pools it held are lost to their owners (counted as
 * `lost` in the owner's pool stats; a pool that runs low makes `allocFrame` return null).
 */

import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Doorbell, closeIndexRing, closeRing, createRing, ringStats, type RingDescriptor } from '../../rings/index.js';
import { DROP_REASON_NAMES, DropReason } from '../core/stats.js';
import { ClosedError, ConfigError, PktError, PktRangeError, PktTypeError, intInRange } from '../errors.js';
import { WorkerDeadError, deserializeError } from './errors.js';
import type { PortWorkerData, Request, WorkerEvent, WorkerStatsReply } from './protocol.js';
import { checkLinkOptions, type LinkConfig } from './link-options.js';
import type { ExternalPortEnd } from './external-port.js';
import { checkBuiltinOptions } from './registry.js';
import { TaskPool } from './task-pool.js';
import { ZeroCopyControl, checkPoolOptions, zeroCopyDirection, zeroCopySlots, type ZeroCopyRings } from './zero-copy-control.js';
import type {
  ExternalPortOptions,
  DataplaneOptions,
  DataplaneStats,
  EngineRef,
  EngineSpec,
  Layer,
  LinkOptions,
  LinkRef,
  LinkStats,
  Placement,
  RingDirectionStats,
  WorkerErrorEvent,
  WorkerStats,
} from './types.js';

/** The port worker's entry, found relative to this module (works from build/ and dist/). */
const PORT_WORKER_URL = new URL('../../workers/port-worker.js', import.meta.url);


type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

/** One port worker as the control thread sees it. */
class WorkerHandle {
  readonly index: number;
  readonly worker: Worker;
  readonly doorbell: Doorbell;
  /** False once it failed, exited or was closed. */
  alive = true;
  isReady = false;
  /** Engines placed on it (reserved before the create request, so placement spreads). */
  readonly engines = new Set<string>();
  readonly pending = new Map<number, Pending>();
  /** The first error it raised (an uncaught exception), if any. */
  error: Error | null = null;
  readonly ready: Promise<[string, Layer][]>;
  readonly exited: Promise<number>;
  resolveReady: (kinds: [string, Layer][]) => void = () => {};
  rejectReady: (err: Error) => void = () => {};
  resolveExited: (code: number) => void = () => {};
  hasExited = false;

  constructor(index: number, worker: Worker, doorbell: Doorbell) {
    this.index = index;
    this.worker = worker;
    this.doorbell = doorbell;
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {});
    this.exited = new Promise((resolve) => {
      this.resolveExited = resolve;
    });
  }

  rejectAll(err: Error): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(err);
  }
}

interface EngineRecord {
  ref: EngineRef;
  links: Set<string>;
}

interface LinkRecord {
  ref: LinkRef;
  /** Ring links: a-to-b and b-to-a. */
  rings: { ab: RingDescriptor; ba: RingDescriptor } | null;
  /** External ports: the far end's doorbell (b is the external side, on no worker). */
  external: Doorbell | null;
  /** Zero-copy links: the descriptor rings and their counters. */
  zc: ZeroCopyRings | null;
  up: boolean;
}

function checkSpec(spec: EngineSpec): void {
  if (spec === null || typeof spec !== 'object') throw new PktTypeError(`dataplane.create: expected a spec { kind, options? }, got ${spec === null ? 'null' : typeof spec}`);
  if (typeof spec.kind !== 'string' || spec.kind === '') throw new PktTypeError(`dataplane.create: expected spec.kind to be a kind name, got ${JSON.stringify(spec.kind)}`);
  if (typeof spec.options === 'function') throw new PktTypeError(`dataplane.create: spec.options must be structured-clonable data, got a function`);
}

function moduleHref(m: string | URL): string {
  if (m instanceof URL) return m.href;
  if (typeof m !== 'string') throw new PktTypeError(`Dataplane modules: expected URLs or absolute paths, got ${typeof m}`);
  if (/^[a-z][a-z0-9+.-]*:/i.test(m) && !/^[a-z]:[\\/]/i.test(m)) return m;
  if (m.startsWith('/') || /^[a-z]:[\\/]/i.test(m)) return pathToFileURL(m).href;
  throw new PktTypeError(`Dataplane modules: expected a URL or an absolute path, got ${JSON.stringify(m)}`);
}

function numberOption(name: string, v: number | undefined, def: number, min: number, max: number): number {
  const x = v ?? def;
  if (typeof x !== 'number' || !(x >= min && x <= max)) throw new PktRangeError(`Dataplane ${name}: expected a number in [${min}, ${max}], got ${String(x)}`);
  return x;
}

function ringDirection(d: RingDescriptor, consumerBell: Doorbell): RingDirectionStats {
  const s = ringStats(d);
  const drops: Record<string, number> = {};
  const add = (reason: number, n: number): void => {
    if (n > 0) drops[DROP_REASON_NAMES[reason]!] = n;
  };
  add(DropReason.QueueFull, s.DropFull);
  add(DropReason.TooBig, s.DropTooBig);
  add(DropReason.Closed, s.DropClosed);
  return {
    pushed: s.Pushed,
    pushedBytes: s.PushedBytes,
    consumed: s.Consumed,
    consumedBytes: s.ConsumedBytes,
    inFlight: s.inFlight,
    closed: s.closed,
    waits: s.Waits,
    producerWakeups: s.ProducerWakeups,
    consumerWakeups: consumerBell.wakeups,
    dropped: s.DropFull + s.DropTooBig + s.DropClosed,
    drops,
  };
}

/**
 * A multi-core dataplane: port workers running engines, linked by rings.
 *
 * ```ts
 * const dp = new Dataplane({ workers: 2 });
 * dp.on('error', (e) => console.error(`worker ${e.worker} died`, e.engines, e.error));
 * const a = await dp.create({ kind: 'l2hub' }, { worker: 0 });
 * const b = await dp.create({ kind: 'l2hub' }, { worker: 1 });
 * await dp.link(a, b);
 * await dp.close();
 * ```
 */
export class Dataplane extends EventEmitter<{ error: [WorkerErrorEvent] }> {
  /** Stateless CPU jobs in a piscina pool, created on first use. */
  readonly tasks: TaskPool;
  private readonly handles: WorkerHandle[];
  private readonly readyPromise: Promise<void>;
  private readonly kinds = new Map<string, Layer>();
  private readonly engineRecs = new Map<string, EngineRecord>();
  private readonly linkRecs = new Map<string, LinkRecord>();
  private readonly closeTimeoutMs: number;
  /** The frame pools and zero-copy bookkeeping (null with `pool: false`). */
  private readonly zcc: ZeroCopyControl | null;
  private nextEngine = 1;
  private nextLink = 1;
  private nextRequest = 1;
  private closing = false;
  private closePromise: Promise<void> | null = null;

  /**
   * Starts the port workers (they load the plugin modules in the background: see `ready()`).
   * @throws {PktRangeError} when a number is out of range; {PktTypeError} for a bad module.
   */
  constructor(opts: DataplaneOptions = {}) {
    super();
    const cores = availableParallelism();
    const workers = intInRange('Dataplane workers', opts.workers ?? cores, 1, 256);
    const modules = (opts.modules ?? []).map(moduleHref);
    const spinUs = numberOption('spinUs', opts.spinUs, 10, 0, 1000);
    const batch = intInRange('Dataplane batch', opts.batch ?? 256, 1, 1 << 20);
    const yieldMs = numberOption('yieldMs', opts.yieldMs, 1, 0, 1000);
    this.closeTimeoutMs = numberOption('closeTimeoutMs', opts.closeTimeoutMs, 2000, 1, 600_000);
    const pool = checkPoolOptions(opts.pool, workers);
    this.zcc = pool === null ? null : new ZeroCopyControl(pool, workers);
    const zcc = this.zcc;
    this.tasks = new TaskPool(intInRange('Dataplane taskThreads', opts.taskThreads ?? Math.max(1, cores - 1), 1, 256));
    this.handles = [];
    for (let i = 0; i < workers; i++) {
      this.handles.push(
        this.spawn({
          index: i,
          doorbell: new Doorbell().sab,
          modules,
          spinUs,
          batch,
          yieldMs,
          pools: zcc?.pools ?? null,
          poolHeadroom: pool?.headroom ?? 0,
          holdings: zcc?.holdings ?? null,
          holdingsStride: zcc?.stride ?? 0,
        }),
      );
    }
    this.readyPromise = Promise.all(this.handles.map((h) => h.ready)).then((lists) => {
      for (const [kind, layer] of lists[0] ?? []) this.kinds.set(kind, layer);
    });
    this.readyPromise.catch(() => {});
  }

  private spawn(data: PortWorkerData): WorkerHandle {
    const worker = new Worker(PORT_WORKER_URL, { workerData: data });
    const h = new WorkerHandle(data.index, worker, new Doorbell(data.doorbell));
    worker.on('message', (m: WorkerEvent) => this.onWorkerMessage(h, m));
    worker.on('error', (err: Error) => {
      h.error ??= err;
      this.workerFailed(h, err);
    });
    worker.on('exit', (code: number) => {
      h.hasExited = true;
      this.workerFailed(h, h.error ?? new WorkerDeadError(h.index, `exited with code ${code}`));
      worker.removeAllListeners();
      h.resolveExited(code);
    });
    return h;
  }

  private onWorkerMessage(h: WorkerHandle, m: WorkerEvent): void {
    if (m.type === 'reply') {
      const p = h.pending.get(m.id);
      if (p === undefined) return;
      h.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(deserializeError(m.error, h.index));
    } else if (m.type === 'ready') {
      h.isReady = true;
      h.resolveReady(m.kinds);
    } else {
      const err = deserializeError(m.error, h.index);
      h.error ??= err;
      h.alive = false;
      h.rejectReady(err);
    }
  }

  /** A worker threw or exited (or was closed): mark it, fail its requests, take its links down. */
  private workerFailed(h: WorkerHandle, err: Error): void {
    const wasAlive = h.alive;
    h.alive = false;
    const dead = this.closing ? new ClosedError('Dataplane') : err instanceof WorkerDeadError ? err : new WorkerDeadError(h.index, err.message, { cause: err });
    h.rejectAll(dead);
    h.rejectReady(dead);
    if (!wasAlive) return;
    this.zcc?.workerDied(h.index);
    for (const rec of this.linkRecs.values()) {
      if (rec.ref.a.worker === h.index || rec.ref.b.worker === h.index) this.linkDown(rec);
    }
    if (!this.closing && h.isReady) this.emit('error', { worker: h.index, engines: [...h.engines], error: err });
  }

  private linkDown(rec: LinkRecord): void {
    rec.up = false;
    if (rec.rings !== null) {
      closeRing(rec.rings.ab);
      closeRing(rec.rings.ba);
    }
    if (rec.zc !== null) {
      closeIndexRing(rec.zc.ab);
      closeIndexRing(rec.zc.ba);
    }
  }

  /** Sends a request to a worker and resolves with its reply. */
  private call(h: WorkerHandle, req: DistributiveOmit<Request, 'id'>): Promise<unknown> {
    if (this.closing) return Promise.reject(new ClosedError('Dataplane'));
    if (!h.alive) return Promise.reject(new WorkerDeadError(h.index, `cannot ${req.op}`, { cause: h.error ?? undefined }));
    const id = this.nextRequest++;
    return new Promise((resolve, reject) => {
      h.pending.set(id, { resolve, reject });
      try {
        h.worker.postMessage({ ...req, id });
      } catch (err) {
        h.pending.delete(id);
        reject(new PktTypeError(`dataplane.${req.op}: the request is not structured-clonable (${(err as Error).message})`));
      }
    });
  }

  private assertOpen(): void {
    if (this.closing) throw new ClosedError('Dataplane');
  }

  /** Throws once closed; waits for the workers to be ready. */
  private async opened(): Promise<void> {
    this.assertOpen();
    await this.readyPromise;
    this.assertOpen();
  }

  private engine(ref: EngineRef | string, op: string): EngineRecord {
    const id = typeof ref === 'string' ? ref : ref !== null && typeof ref === 'object' ? ref.id : undefined;
    const rec = id === undefined ? undefined : this.engineRecs.get(id);
    if (rec === undefined) throw new PktTypeError(`dataplane.${op}: expected an engine of this dataplane, got ${JSON.stringify(id ?? ref)}`);
    return rec;
  }

  private live(worker: number, what: string): WorkerHandle {
    const h = this.handles[worker]!;
    if (!h.alive) throw new WorkerDeadError(worker, what, { cause: h.error ?? undefined });
    return h;
  }

  private place(placement: Placement): WorkerHandle {
    if (placement === null || typeof placement !== 'object') throw new PktTypeError('dataplane.create: placement must be { worker?: number }');
    if (placement.worker !== undefined) {
      const w = intInRange('dataplane.create worker', placement.worker, 0, this.handles.length - 1);
      return this.live(w, 'cannot place an engine on it');
    }
    let best: WorkerHandle | null = null;
    for (const h of this.handles) if (h.alive && (best === null || h.engines.size < best.engines.size)) best = h;
    if (best === null) throw new PktError('ERR_PKT_CLOSED', 'dataplane.create: every worker is dead');
    return best;
  }

  /**
   * Resolves once every worker has loaded the plugin modules.
   * @throws {ConfigError} when a module failed to load; {WorkerDeadError} when a worker died first.
   */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** Number of port workers. */
  get workerCount(): number {
    return this.handles.length;
  }

  /**
   * Creates an engine on `placement.worker`, or on the live worker running the fewest engines.
   * @throws {PktTypeError} for a malformed spec or options; {ConfigError} for an unknown kind;
   * {PktRangeError} for a worker index out of range or options out of range;
   * {WorkerDeadError} when the worker is dead; {ClosedError} once closed.
   */
  async create(spec: EngineSpec, placement: Placement = {}): Promise<EngineRef> {
    await this.opened();
    checkSpec(spec);
    const layer = this.kinds.get(spec.kind);
    if (layer === undefined) throw new ConfigError(`dataplane.create: unknown engine kind '${spec.kind}' (expected one of ${[...this.kinds.keys()].join(', ')})`);
    checkBuiltinOptions(spec.kind, spec.options);
    const h = this.place(placement);
    const id = `${spec.kind}-${this.nextEngine++}`;
    h.engines.add(id);
    try {
      await this.call(h, { op: 'create', engine: id, kind: spec.kind, options: spec.options });
    } catch (err) {
      h.engines.delete(id);
      throw err;
    }
    const ref: EngineRef = Object.freeze({ id, kind: spec.kind, worker: h.index, layer });
    this.engineRecs.set(id, { ref, links: new Set() });
    return ref;
  }

  /**
   * Links two engines of the same layer: directly when they share a worker, else through a ring
   * pair sized by `opts` (byte rings, or with `zeroCopy` descriptor rings over the frame pools).
   * @throws {ConfigError} for engines of different layers or an engine linked to itself;
   * {PktTypeError}/{PktRangeError} for bad options; {WorkerDeadError}; {ClosedError}.
   */
  async link(a: EngineRef | string, b: EngineRef | string, opts: LinkOptions = {}): Promise<LinkRef> {
    await this.opened();
    const ra = this.engine(a, 'link');
    const rb = this.engine(b, 'link');
    if (ra === rb) throw new ConfigError(`dataplane.link: cannot link engine ${ra.ref.id} to itself`);
    if (ra.ref.layer !== rb.ref.layer) {
      throw new ConfigError(
        `dataplane.link: both ends must be the same layer, got ${ra.ref.id} (${ra.ref.kind}, layer ${ra.ref.layer}) and ${rb.ref.id} (${rb.ref.kind}, layer ${rb.ref.layer})`,
      );
    }
    const layer = ra.ref.layer;
    const cfg = checkLinkOptions(opts, layer);
    const ha = this.live(ra.ref.worker, `cannot link ${ra.ref.id}`);
    const hb = this.live(rb.ref.worker, `cannot link ${rb.ref.id}`);
    const id = `link-${this.nextLink++}`;
    let rec: LinkRecord;
    if (ha === hb) {
      await this.call(ha, { op: 'link-direct', link: id, a: ra.ref.id, b: rb.ref.id, layer, addrA: cfg.addrA, addrB: cfg.addrB });
      rec = { ref: Object.freeze({ id, a: ra.ref, b: rb.ref, mode: 'direct' }), rings: null, external: null, zc: null, up: true };
    } else if (cfg.zeroCopy) {
      rec = await this.linkZeroCopy(id, ra, rb, ha, hb, layer, cfg);
    } else {
      const ringOpts = { slots: cfg.slots, slotSize: cfg.slotSize, headroom: cfg.headroom };
      const ab = createRing(ringOpts);
      const ba = createRing(ringOpts);
      const side = (h: WorkerHandle, engine: EngineRecord, peer: WorkerHandle, peerEngine: EngineRecord, out: RingDescriptor, inn: RingDescriptor, addr: string | null) =>
        this.call(h, {
          op: 'link-ring',
          link: id,
          engine: engine.ref.id,
          peer: peerEngine.ref.id,
          layer,
          out,
          in: inn,
          peerDoorbell: peer.doorbell.sab,
          peerWorker: peer.index,
          policy: cfg.policy,
          maxWaitMs: cfg.maxWaitMs,
          addr,
        });
      const results = await Promise.allSettled([side(ha, ra, hb, rb, ab, ba, cfg.addrA), side(hb, rb, ha, ra, ba, ab, cfg.addrB)]);
      const failed = results.find((r) => r.status === 'rejected');
      if (failed !== undefined) {
        closeRing(ab);
        closeRing(ba);
        results.forEach((r, i) => {
          if (r.status === 'fulfilled') this.call(i === 0 ? ha : hb, { op: 'unlink', link: id }).catch(() => {});
        });
        throw failed.reason;
      }
      rec = { ref: Object.freeze({ id, a: ra.ref, b: rb.ref, mode: 'ring' }), rings: { ab, ba }, external: null, zc: null, up: true };
    }
    this.linkRecs.set(id, rec);
    ra.links.add(id);
    rb.links.add(id);
    // A worker that died while the link was being made takes it down at once.
    if (!ha.alive || !hb.alive) this.linkDown(rec);
    return rec.ref;
  }

  /**
   * Attaches to `engine` a port whose other end is outside the dataplane (see external-port.ts):
   * a ring pair, the engine's end attached like a link end, the far end returned as plain data to
   * post to the thread that drives it (`openExternalPort(port.end)` there). The link is listed in
   * `stats()` (mode 'external'; its `b` is the external side), goes down when the engine's worker
   * dies (its rings are closed, so the far end sees it), and is removed with `unlink`. This is how
   * devices backed by native I/O (TUN, AF_XDP) plug in: as ring producers and consumers.
   * @throws {ConfigError}, {PktTypeError}, {PktRangeError} for bad options; {WorkerDeadError}; {ClosedError}.
   */
  async attachPort(engine: EngineRef | string, opts: ExternalPortOptions = {}): Promise<{ link: LinkRef; end: ExternalPortEnd }> {
    await this.opened();
    const re = this.engine(engine, 'attachPort');
    const layer = re.ref.layer;
    if (opts === null || typeof opts !== 'object') throw new PktTypeError('dataplane.attachPort: expected options to be an object');
    const { addr, ...ring } = opts;
    const cfg = checkLinkOptions({ ...ring, ...(addr === undefined || addr === null ? {} : { addr: { a: addr } }) }, layer);
    const h = this.live(re.ref.worker, `cannot attach a port to ${re.ref.id}`);
    const n = this.nextLink++;
    const id = `link-${n}`;
    const ringOpts = { slots: cfg.slots, slotSize: cfg.slotSize, headroom: cfg.headroom };
    const fromEngine = createRing(ringOpts);
    const toEngine = createRing(ringOpts);
    const doorbell = new Doorbell();
    const far: EngineRef = Object.freeze({ id: `external-${n}`, kind: 'external', worker: -1, layer });
    await this.call(h, {
      op: 'link-ring',
      link: id,
      engine: re.ref.id,
      peer: far.id,
      layer,
      out: fromEngine,
      in: toEngine,
      peerDoorbell: doorbell.sab,
      peerWorker: -1,
      policy: cfg.policy,
      maxWaitMs: cfg.maxWaitMs,
      addr: cfg.addrA,
    });
    const rec: LinkRecord = { ref: Object.freeze({ id, a: re.ref, b: far, mode: 'external' }), rings: { ab: fromEngine, ba: toEngine }, external: doorbell, zc: null, up: true };
    this.linkRecs.set(id, rec);
    re.links.add(id);
    if (!h.alive) this.linkDown(rec);
    const end: ExternalPortEnd = { link: id, layer, toEngine, fromEngine, engineDoorbell: h.doorbell.sab, doorbell: doorbell.sab };
    return { link: rec.ref, end };
  }

  /**
   * A zero-copy link: completion rings first (every participant can return frames to every
   * other), then a descriptor ring pair attached on both sides.
   */
  private async linkZeroCopy(id: string, ra: EngineRecord, rb: EngineRecord, ha: WorkerHandle, hb: WorkerHandle, layer: Layer, cfg: LinkConfig): Promise<LinkRecord> {
    const zcc = this.zcc;
    if (zcc === null) throw new ConfigError('dataplane.link: zeroCopy needs the frame pools, and this dataplane was created with pool: false');
    const slots = zeroCopySlots(cfg.zcSlots, zcc.cfg, this.handles.length);
    await zcc.addParticipants(
      [ha.index, hb.index],
      (w) => this.handles[w]!.alive,
      (w, c) => this.call(this.handles[w]!, { op: 'zc-completions', out: c.out, in: c.in }),
    );
    const r = zcc.createLinkRings(slots, ha.index, hb.index);
    const side = (h: WorkerHandle, engine: EngineRecord, peer: WorkerHandle, peerEngine: EngineRecord, ab: boolean, addr: string | null) =>
      this.call(h, {
        op: 'link-zc',
        link: id,
        engine: engine.ref.id,
        peer: peerEngine.ref.id,
        layer,
        out: ab ? r.ab : r.ba,
        in: ab ? r.ba : r.ab,
        outCounters: ab ? r.abCounters : r.baCounters,
        inCounters: ab ? r.baCounters : r.abCounters,
        peerDoorbell: peer.doorbell.sab,
        peerWorker: peer.index,
        addr,
      });
    const rec: LinkRecord = { ref: Object.freeze({ id, a: ra.ref, b: rb.ref, mode: 'zero-copy' }), rings: null, external: null, zc: r, up: true };
    const results = await Promise.allSettled([side(ha, ra, hb, rb, true, cfg.addrA), side(hb, rb, ha, ra, false, cfg.addrB)]);
    const failed = results.find((x) => x.status === 'rejected');
    if (failed !== undefined) {
      this.linkDown(rec);
      // Both sides let go (a side that failed has closed its device already), then give back
      // whatever crossed meanwhile.
      void this.takeDown(rec).catch(() => {});
      throw failed.reason;
    }
    return rec;
  }

  /**
   * Detaches both ends of a link on their workers; for a zero-copy link then has each live side
   * give back the frames left in its inbound ring (only once neither side can push any more).
   */
  private async takeDown(rec: LinkRecord): Promise<void> {
    const workers = [...new Set([rec.ref.a.worker, rec.ref.b.worker])].filter((w) => w >= 0); // -1: an external port's far end
    const each = async (w: number, op: 'unlink' | 'zc-drain'): Promise<void> => {
      const h = this.handles[w]!;
      if (!h.alive) return;
      try {
        await this.call(h, { op, link: rec.ref.id });
      } catch (err) {
        if (!(err instanceof WorkerDeadError) && !(err instanceof ClosedError)) throw err;
      }
    };
    await Promise.all(workers.map((w) => each(w, 'unlink')));
    const zc = rec.zc;
    if (zc === null || this.zcc === null) return;
    await Promise.all(workers.map((w) => each(w, 'zc-drain')));
    // A worker that drained its inbound ring leaves nothing there.
    if (this.handles[rec.ref.a.worker]!.alive) this.zcc.drained(rec.ref.a.worker, zc.ba);
    if (this.handles[rec.ref.b.worker]!.alive) this.zcc.drained(rec.ref.b.worker, zc.ab);
  }

  /**
   * Removes a link: both ends are detached from their engines and the rings closed. Idempotent;
   * a link whose worker died is removed from the survivor.
   * @throws {ClosedError} once closed.
   */
  async unlink(link: LinkRef | string): Promise<void> {
    await this.opened();
    const id = typeof link === 'string' ? link : link?.id;
    const rec = id === undefined ? undefined : this.linkRecs.get(id);
    if (rec === undefined) return;
    this.linkRecs.delete(rec.ref.id);
    this.engineRecs.get(rec.ref.a.id)?.links.delete(rec.ref.id);
    this.engineRecs.get(rec.ref.b.id)?.links.delete(rec.ref.id);
    this.linkDown(rec);
    await this.takeDown(rec);
  }

  /**
   * Runs an engine-specific command in the engine's worker. Payload and result are
   * structured-clonable.
   * @throws whatever the engine's command throws (same class and code); {WorkerDeadError}; {ClosedError}.
   */
  async command(engine: EngineRef | string, name: string, payload?: unknown): Promise<unknown> {
    await this.opened();
    const rec = this.engine(engine, 'command');
    if (typeof name !== 'string') throw new PktTypeError(`dataplane.command: expected a command name, got ${typeof name}`);
    const h = this.live(rec.ref.worker, `cannot run ${name} on ${rec.ref.id}`);
    return this.call(h, { op: 'command', engine: rec.ref.id, name, payload });
  }

  /** Per worker and per link counters. Ring counters are read from shared memory. */
  async stats(): Promise<DataplaneStats> {
    await this.opened();
    const replies = await Promise.all(
      this.handles.map((h) => (h.alive ? (this.call(h, { op: 'stats' }) as Promise<WorkerStatsReply>).catch(() => null) : Promise.resolve(null))),
    );
    const workers: WorkerStats[] = this.handles.map((h, i) => {
      const r = replies[i] ?? null;
      const alive = h.alive && r !== null;
      let elu: WorkerStats['elu'] = null;
      if (alive) {
        const u = h.worker.performance.eventLoopUtilization();
        elu = { idle: u.idle, active: u.active, utilization: u.utilization };
      }
      const engines =
        r !== null
          ? r.engines
          : [...this.engineRecs.values()].filter((e) => e.ref.worker === i).map((e) => ({ id: e.ref.id, kind: e.ref.kind, stats: null }));
      const pool = r?.pool != null && this.zcc !== null ? this.zcc.poolStats(i, r.pool) : null;
      return { index: i, alive, engines, elu, loop: r?.loop ?? null, pool };
    });
    const links: LinkStats[] = [...this.linkRecs.values()].map((rec) => {
      const { a, b } = rec.ref;
      const rings = rec.rings;
      const ends = { a: replies[a.worker]?.ends[rec.ref.id]?.[a.id] ?? null, b: replies[b.worker]?.ends[rec.ref.id]?.[b.id] ?? null };
      const base = { id: rec.ref.id, a: a.id, b: b.id, mode: rec.ref.mode, up: rec.up, ends };
      if (rec.zc !== null) {
        const [aToB, zab] = zeroCopyDirection(rec.zc.ab, rec.zc.abCounters, this.handles[b.worker]!.doorbell);
        const [bToA, zba] = zeroCopyDirection(rec.zc.ba, rec.zc.baCounters, this.handles[a.worker]!.doorbell);
        return { ...base, aToB, bToA, zeroCopy: { aToB: zab, bToA: zba } };
      }
      return {
        ...base,
        aToB: rings === null ? null : ringDirection(rings.ab, rec.external ?? this.handles[b.worker]!.doorbell),
        bToA: rings === null ? null : ringDirection(rings.ba, this.handles[a.worker]!.doorbell),
        zeroCopy: null,
      };
    });
    return { workers, links };
  }

  /**
   * Closes every engine and ends every worker (terminating one that does not exit within
   * `closeTimeoutMs`), closes every ring and the task pool. Leaves no handle open. Idempotent.
   */
  close(): Promise<void> {
    this.closePromise ??= this.shutdown();
    return this.closePromise;
  }

  private async shutdown(): Promise<void> {
    // The close requests go out first; every request made after them is refused.
    for (const h of this.handles) if (h.alive) this.call(h, { op: 'close' }).catch(() => {});
    this.closing = true;
    await Promise.all(this.handles.map((h) => this.stop(h)));
    for (const rec of this.linkRecs.values()) this.linkDown(rec);
    await this.tasks.close();
  }

  /** Waits for a worker to exit after its close request, terminating it after the timeout. */
  private async stop(h: WorkerHandle): Promise<void> {
    if (h.hasExited) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      h.exited.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), this.closeTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) await h.worker.terminate();
    await h.exited;
  }
}
