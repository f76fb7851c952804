/**
 * Namespaces: per-device isolation for connectors.
 *
 * A connector that serves many devices at once (slirp, NAT, a VPN concentrator) gives each one
 * its own state (connection table, address space) so that two peers may use the same addresses
 * without seeing each other. This helper owns the bookkeeping: it numbers each attachment with an
 * id that is never reused (so a stale id cannot reach a newer namespace), bounds how many exist,
 * wires the device's packets to the connector's input with the namespace, and on cleanup (or
 * `closeAll`) detaches the device and disposes of the state exactly once.
 *
 *   class Nat implements L3Connector {
 *     private readonly spaces = new Namespaces<Table>({ max: 1024, name: 'nat' });
 *     connectL3(dev: L3Device) {
 *       return this.spaces.attach(dev, (id) => new Table(id), (table, packet) => this.input(table, packet), (t) => t.close()).cleanup;
 *     }
 *   }
 */

import { PktError, intInRange } from '../errors.js';
import type { Cleanup, L3Device, L2Device } from './device.js';

export interface NamespacesOptions {
  /** Most namespaces alive at once (default 4096). */
  max?: number;
  /** Names the owner in error messages. */
  name?: string;
}

/** One attached device and its state. */
export interface Namespace<S, D> {
  readonly id: number;
  readonly device: D;
  readonly state: S;
  /** Detaches the device and disposes of the state. Idempotent. */
  readonly cleanup: Cleanup;
}

type AnyDevice = L2Device | L3Device;
const noop = (): void => {};

export class Namespaces<S, D extends AnyDevice = L3Device> {
  readonly max: number;
  private readonly name: string;
  private readonly live = new Map<number, Namespace<S, D>>();
  private nextId = 1;

  /** @throws {PktRangeError} when `max` is not a positive integer. */
  constructor(opts: NamespacesOptions = {}) {
    this.max = intInRange('Namespaces max', opts.max ?? 4096, 1, 2 ** 31 - 1);
    this.name = opts.name ?? 'namespaces';
  }

  /**
   * Creates a namespace for `device`: `create(id)` makes its state, the device's handler becomes
   * `input(state, packet)`, and cleanup calls `dispose(state)` once.
   * @throws {PktError} code ERR_PKT_LIMIT when `max` namespaces already exist.
   */
  attach(
    device: D,
    create: (id: number) => S,
    input: (state: S, packet: Uint8Array) => void,
    dispose: (state: S) => void = noop,
  ): Namespace<S, D> {
    if (this.live.size >= this.max) {
      throw new PktError('ERR_PKT_LIMIT', `${this.name}: at most ${this.max} namespaces may be attached at once`);
    }
    const id = this.nextId++;
    const state = create(id);
    let done = false;
    const cleanup = (): void => {
      if (done) return;
      done = true;
      this.live.delete(id);
      device.setHandler(noop);
      dispose(state);
    };
    const ns: Namespace<S, D> = { id, device, state, cleanup };
    this.live.set(id, ns);
    device.setHandler((packet) => input(state, packet));
    return ns;
  }

  /** The live namespace with this id, if any. */
  get(id: number): Namespace<S, D> | undefined {
    return this.live.get(id);
  }

  get size(): number {
    return this.live.size;
  }

  [Symbol.iterator](): IterableIterator<Namespace<S, D>> {
    return this.live.values();
  }

  /** Cleans up every namespace (a connector's `close`). */
  closeAll(): void {
    for (const ns of [...this.live.values()]) ns.cleanup();
  }
}
