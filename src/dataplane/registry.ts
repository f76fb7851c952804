/**
 * The engine registry of one port worker: the built-in kinds (`l2hub`, `l3hub`) and whatever the
 * plugin modules define. Also the checks the control thread runs on a spec before it posts it.
 */

import { CaptureFile, LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../capture/index.js';
import { L2Hub, type L2HubOptions } from '../core/l2-hub.js';
import { L3Hub, L3HubHandle, type L3HubOptions } from '../core/l3-hub.js';
import { PipeL2, PipeL3 } from '../core/pipe.js';
import type { Cleanup, L2Device, L3Device } from '../core/device.js';
import { PktTypeError } from '../errors.js';
import type { AttachInfo, Engine, EngineContext, EngineDefinition, EngineRegistry, Layer } from './types.js';

const KIND_RE = /^[A-Za-z][\w.:-]{0,63}$/;

/** Every kind a worker knows, with its definition. */
export class Registry implements EngineRegistry {
  readonly kinds = new Map<string, EngineDefinition>();

  define(kind: string, def: EngineDefinition): void {
    if (typeof kind !== 'string' || !KIND_RE.test(kind)) {
      throw new PktTypeError(`dataplane registry: expected a kind name of letters, digits and ._:- (up to 64), got ${JSON.stringify(kind)}`);
    }
    if (this.kinds.has(kind)) throw new PktTypeError(`dataplane registry: kind '${kind}' is already defined`);
    if (def === null || typeof def !== 'object' || (def.layer !== 2 && def.layer !== 3) || typeof def.create !== 'function') {
      throw new PktTypeError(`dataplane registry: kind '${kind}' needs { layer: 2 | 3, create(options, ctx) }`);
    }
    this.kinds.set(kind, def);
  }

  /** [kind, layer] pairs, for the control thread. */
  list(): [string, Layer][] {
    return [...this.kinds].map(([k, d]) => [k, d.layer]);
  }
}

/** A hub's `capture` option: record every port into a pcapng file at `path`. */
interface CaptureOption {
  path: string;
  snaplen?: number;
}

/**
 * Checks that `options` is undefined or a plain object with only `allowed` numeric keys and,
 * optionally, `capture: { path, snaplen? }`.
 */
function hubOptions(kind: string, options: unknown, allowed: readonly string[]): Record<string, number> & { capture?: CaptureOption } {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new PktTypeError(`${kind}: expected options to be an object, got ${options === null ? 'null' : typeof options}`);
  }
  for (const [k, v] of Object.entries(options)) {
    if (k === 'capture') {
      const c = v as Partial<CaptureOption> | null;
      if (c === null || typeof c !== 'object' || typeof c.path !== 'string' || c.path === '' || (c.snaplen !== undefined && typeof c.snaplen !== 'number')) {
        throw new PktTypeError(`${kind}: option capture must be { path: string, snaplen?: number }`);
      }
      continue;
    }
    if (!allowed.includes(k)) throw new PktTypeError(`${kind}: unknown option '${k}' (expected ${[...allowed, 'capture'].join(', ')})`);
    if (v !== undefined && typeof v !== 'number') throw new PktTypeError(`${kind}: option ${k} must be a number, got ${typeof v}`);
  }
  return options as Record<string, number> & { capture?: CaptureOption };
}

async function openCapture(c: CaptureOption | undefined): Promise<CaptureFile | null> {
  return c === undefined ? null : CaptureFile.open(c.path, { format: 'pcapng', snaplen: c.snaplen });
}

const L2HUB_OPTIONS = ['maxMacs', 'agingMs'] as const;
const L3HUB_OPTIONS = ['maxRoutes'] as const;

/**
 * Checks the options of a built-in kind (both threads run it: the control thread to fail early,
 * the worker because it trusts no message). Ranges are the hubs' own checks.
 * @throws {PktTypeError} on a wrong shape.
 */
export function checkBuiltinOptions(kind: string, options: unknown): void {
  if (kind === 'l2hub') hubOptions(kind, options, L2HUB_OPTIONS);
  else if (kind === 'l3hub') hubOptions(kind, options, L3HUB_OPTIONS);
}

/**
 * The l2hub engine: an L2Hub whose ports are link endpoints. With `capture`, every port is
 * recorded as an interface named `<engine id>:<link id>` of one pcapng file.
 */
class L2HubEngine implements Engine<L2Device> {
  private readonly hub: L2Hub;
  private readonly capture: CaptureFile | null;
  private readonly id: string;
  constructor(o: L2HubOptions, ctx: EngineContext, capture: CaptureFile | null) {
    this.hub = new L2Hub({ maxMacs: o.maxMacs, agingMs: o.agingMs, clock: ctx.clock });
    this.capture = capture;
    this.id = ctx.id;
  }
  static async create(options: unknown, ctx: EngineContext): Promise<L2HubEngine> {
    const o = hubOptions('l2hub', options, L2HUB_OPTIONS);
    return new L2HubEngine(o as L2HubOptions, ctx, await openCapture(o.capture));
  }
  attach(dev: L2Device, info: AttachInfo): Cleanup {
    const handle = this.hub.connect(dev);
    if (this.capture !== null) handle.capture(this.capture.addInterface(`${this.id}:${info.link}`, LINKTYPE_ETHERNET));
    return () => handle.close();
  }
  stats(): unknown {
    return { ...this.hub.stats(), capture: this.capture?.stats() ?? null };
  }
  command(name: string, payload: unknown): unknown {
    if (name === 'macCount') return this.hub.macCount;
    if (name === 'portOfMac' && typeof payload === 'number') return this.hub.portOfMac(payload);
    throw new PktTypeError(`l2hub: unknown command '${name}' (expected macCount, portOfMac <mac number>)`);
  }
  async close(): Promise<void> {
    this.hub.close();
    await this.capture?.close();
  }
}

interface L3RouteCommand {
  link: string;
  prefix: string;
}

/**
 * The l3hub engine: an L3Hub whose ports are link endpoints. Commands address ports by link id:
 * `addRoute` / `removeRoute` `{ link, prefix }`, `setDefaultRoute` `{ link | null, family? }`,
 * `lookup` `'10.0.0.7'` (answers the link id or null).
 */
class L3HubEngine implements Engine<L3Device> {
  private readonly hub: L3Hub;
  private readonly byLink = new Map<string, { handle: L3HubHandle; dev: L3Device }>();
  private readonly capture: CaptureFile | null;
  private readonly id: string;
  constructor(o: L3HubOptions, ctx: EngineContext, capture: CaptureFile | null) {
    this.hub = new L3Hub({ maxRoutes: o.maxRoutes });
    this.capture = capture;
    this.id = ctx.id;
  }
  static async create(options: unknown, ctx: EngineContext): Promise<L3HubEngine> {
    const o = hubOptions('l3hub', options, L3HUB_OPTIONS);
    return new L3HubEngine(o as L3HubOptions, ctx, await openCapture(o.capture));
  }
  attach(dev: L3Device, info: AttachInfo): Cleanup {
    const handle = this.hub.connect(dev);
    if (this.capture !== null) handle.capture(this.capture.addInterface(`${this.id}:${info.link}`, LINKTYPE_RAW));
    this.byLink.set(info.link, { handle, dev });
    return () => {
      handle.close();
      this.byLink.delete(info.link);
    };
  }
  private port(link: unknown): L3HubHandle {
    const p = typeof link === 'string' ? this.byLink.get(link) : undefined;
    if (p === undefined) throw new PktTypeError(`l3hub: no port for link ${JSON.stringify(link)}`);
    return p.handle;
  }
  stats(): unknown {
    return { ...this.hub.stats(), capture: this.capture?.stats() ?? null };
  }
  command(name: string, payload: unknown): unknown {
    const p = (payload ?? {}) as Partial<L3RouteCommand> & { family?: 4 | 6 };
    switch (name) {
      case 'addRoute':
        return this.port(p.link).addRoute(String(p.prefix));
      case 'removeRoute':
        return this.port(p.link).removeRoute(String(p.prefix));
      case 'setDefaultRoute':
        return this.hub.setDefaultRoute(p.link === null || p.link === undefined ? null : this.port(p.link), p.family);
      case 'lookup': {
        const dev = this.hub.lookup(String(payload));
        for (const [link, e] of this.byLink) if (e.dev === dev) return link;
        return null;
      }
      default:
        throw new PktTypeError(`l3hub: unknown command '${name}' (expected addRoute, removeRoute, setDefaultRoute, lookup)`);
    }
  }
  async close(): Promise<void> {
    this.hub.close();
    this.byLink.clear();
    await this.capture?.close();
  }
}

/** A registry holding the built-in kinds. */
/** Most frames a pipe engine keeps for `take` (the oldest go first). */
const PIPE_KEEP_MAX = 1024;

/**
 * The pipe engines (`pipe`, layer 2; `pipe-l3`, layer 3): an endpoint the control thread drives,
 * for tests, demos and poking at a running dataplane. Every link attached to the pipe is one of
 * its ports. Commands: `inject` (a Uint8Array, or an array of them: produced on every port),
 * `take` (the frames received so far, copied, at most `keep`, default 64, bounded by 1024; they
 * are removed), `count` (frames and bytes received). Options: `{ keep?: number }`.
 */
class PipeEngine implements Engine<L2Device | L3Device> {
  private readonly pipes: (PipeL2 | PipeL3)[] = [];
  private readonly kept: Uint8Array[] = [];
  private readonly keep: number;
  private readonly layer: Layer;
  private received = 0;
  private bytes = 0;
  private readonly onSend = (frame: Uint8Array): void => {
    this.received++;
    this.bytes += frame.length;
    if (this.keep === 0) return;
    if (this.kept.length === this.keep) this.kept.shift();
    this.kept.push(frame.slice());
  };

  constructor(layer: Layer, options: unknown) {
    this.layer = layer;
    const o = (options ?? {}) as { keep?: unknown };
    if (options !== undefined && (options === null || typeof options !== 'object')) throw new PktTypeError(`pipe: expected options { keep?: number }`);
    const keep = o.keep ?? 64;
    if (typeof keep !== 'number' || !Number.isInteger(keep) || keep < 0 || keep > PIPE_KEEP_MAX) {
      throw new PktTypeError(`pipe: option keep must be an integer in [0, ${PIPE_KEEP_MAX}], got ${String(keep)}`);
    }
    this.keep = keep;
  }

  attach(dev: L2Device | L3Device): Cleanup {
    // The pipe's own device is wired back to back with the link's device.
    const pipe = this.layer === 2 ? new PipeL2(undefined, this.onSend) : new PipeL3(null, this.onSend);
    pipe.setHandler((f) => dev.send(f));
    dev.setHandler((f) => pipe.send(f));
    this.pipes.push(pipe);
    return () => {
      const i = this.pipes.indexOf(pipe);
      if (i !== -1) this.pipes.splice(i, 1);
      pipe.close();
    };
  }

  stats(): unknown {
    return { ports: this.pipes.length, received: this.received, bytes: this.bytes, kept: this.kept.length };
  }

  command(name: string, payload: unknown): unknown {
    switch (name) {
      case 'inject': {
        const frames = Array.isArray(payload) ? payload : [payload];
        for (const f of frames) if (!(f instanceof Uint8Array)) throw new PktTypeError('pipe: inject takes a Uint8Array or an array of them');
        for (const f of frames as Uint8Array[]) for (const p of this.pipes) p.inject(f);
        return frames.length;
      }
      case 'take':
        return this.kept.splice(0, this.kept.length);
      case 'count':
        return { received: this.received, bytes: this.bytes };
      default:
        throw new PktTypeError(`pipe: unknown command '${name}' (expected inject, take, count)`);
    }
  }

  close(): void {
    for (const p of this.pipes) p.close();
    this.pipes.length = 0;
  }
}

export function builtinRegistry(): Registry {
  const r = new Registry();
  r.define('l2hub', { layer: 2, create: (options, ctx) => L2HubEngine.create(options, ctx) });
  r.define('l3hub', { layer: 3, create: (options, ctx) => L3HubEngine.create(options, ctx) });
  r.define('pipe', { layer: 2, create: (options) => new PipeEngine(2, options) as Engine<L2Device> });
  r.define('pipe-l3', { layer: 3, create: (options) => new PipeEngine(3, options) as Engine<L3Device> });
  return r;
}
